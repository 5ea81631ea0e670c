/**
 * The CPU reference's backward pass against central finite differences, in float64, for every
 * parameter element of small nets with two hidden layers and dropout (keepProb 0.5) at a fixed step.
 */
import { describe, expect, it } from 'vitest';
import { CpuDevice } from '../src/device/cpu.js';
import { compileGraph } from '../src/graph/executor.js';
import { plainStep } from '../src/ir/ir.js';
import { buildTrainGraph } from '../src/nn/graphs.js';
import { initParams } from '../src/nn/init.js';
import { type HiddenActivation, mlp } from '../src/nn/mlp.js';
import type { NumArray } from '../src/ops/op.js';
import { randomArray, randomLabels } from './helpers.js';

// Every element must satisfy |analytic − numeric| ≤ ATOL + RTOL·|numeric|. With h = 1e-6 and a loss
// near 1, central differences in float64 carry ~1e-10 of rounding and O(h²) truncation error.
const ATOL = 1e-9;
const RTOL = 1e-6;
const STEP = 3;
const H = 1e-6;

describe.each<HiddenActivation>(['relu', 'tanh', 'sigmoid'])('finite differences, %s', (activation) => {
  it.each([
    ['as derived', false],
    ['after fusion', true],
  ])('every parameter gradient matches central differences (float64), graph %s', async (_name, fused) => {
    const batch = 6;
    const spec = mlp({ sizes: [5, 7, 6, 3], activation, keepProb: { input: 0.5, hidden: 0.5 }, seed: 12345 });
    const device = new CpuDevice('f64');
    const train = buildTrainGraph(spec, batch, null, undefined, fused);
    const compiled = await compileGraph(device, 'gradcheck', train.graph, {
      keep: train.grads,
      snapshots: [train.loss],
    });
    const buffer = (id: number) => compiled.bufferOf(id) as Float64Array;
    buffer(train.x).set(randomArray(batch * 5, 1, -2, 2));
    buffer(train.labels as number).set(randomLabels(batch, 2, 3) as unknown as NumArray);
    const init = initParams(spec);
    for (const id of train.params) {
      const { name } = train.graph.get(id);
      // Nonzero biases, so that their gradients are exercised away from the initial point.
      const data = init[name]?.data as Float32Array;
      buffer(id).set(name.endsWith('bias') ? randomArray(data.length, id, -0.5, 0.5) : data);
    }
    const ctx = plainStep(STEP);
    const lossAt = async () => (await compiled.program.run(ctx).read(0))[0] as number;

    await lossAt();
    const analytic = train.grads.map((g) => buffer(g).slice());
    let worst = { error: 0, where: '' };
    for (const [p, id] of train.params.entries()) {
      const values = buffer(id);
      for (let i = 0; i < values.length; i++) {
        const original = values[i] as number;
        values[i] = original + H;
        const plus = await lossAt();
        values[i] = original - H;
        const minus = await lossAt();
        values[i] = original;
        const numeric = (plus - minus) / (2 * H);
        const exact = analytic[p]?.[i] as number;
        // How far past its allowance this element is (≤ 1 passes).
        const error = Math.abs(exact - numeric) / (ATOL + RTOL * Math.abs(numeric));
        if (error > worst.error) {
          worst = {
            error,
            where: `${train.graph.get(id).name}[${i}]: analytic ${exact}, numeric ${numeric}`,
          };
        }
      }
    }
    expect(worst.error, worst.where).toBeLessThanOrEqual(1);
    // Three dropout sites forward and two backward (the input needs no gradient); fusion folds all
    // but the input's into matmul epilogues.
    const dropoutNodes = train.graph.nodes.filter((n) => n.op === 'dropout').length;
    const fusedDropouts = train.graph.nodesOf('matmul').filter((n) => n.attrs.dropout).length;
    expect([dropoutNodes, fusedDropouts]).toEqual(fused ? [1, 4] : [5, 0]);
  });
});
