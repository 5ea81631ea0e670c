/**
 * `npm run train:toy`: trains a small dropout MLP on the 3-class spirals and prints the loss and
 * accuracy per epoch. `--backend webgpu` runs it on WebGPU where that exists (default: cpu).
 */
import { spirals, toyMetrics, trainToyEpoch } from '../src/data/toy.js';
import { type BackendKind, createBackend, mlp, sgd } from '../src/index.js';

const backendArg = process.argv.indexOf('--backend');
const kind = (backendArg >= 0 ? process.argv[backendArg + 1] : 'cpu') as BackendKind;
const data = spirals(100, 1);
const backend = await createBackend(kind);
const spec = mlp({ sizes: [2, 64, 64, 3], activation: 'relu', keepProb: { input: 1, hidden: 0.9 }, seed: 1 });
const net = await backend.compile(spec, {
  batchSize: 30,
  optimizer: sgd({ lr: 0.1, momentum: 0.9 }),
  maxNorm: 3.5,
});
console.log(`backend: ${backend.description}; ${data.n} points, batch ${net.info.batchSize}`);
for (let epoch = 1; epoch <= 40; epoch++) {
  const trainLoss = await trainToyEpoch(net, data, epoch);
  const { loss, accuracy } = toyMetrics(await net.predict(data.x), data);
  console.log(
    `epoch ${String(epoch).padStart(2)}  train loss (with dropout) ${trainLoss.toFixed(4)}  ` +
      `loss ${loss.toFixed(4)}  accuracy ${(100 * accuracy).toFixed(1)}%`,
  );
}
net.dispose();
backend.dispose();
