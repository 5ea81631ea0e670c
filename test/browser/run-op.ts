/**
 * Runs one op on a device as a one-node graph: inputs written from the given arrays, outputs read back.
 * The same call on the CPU device gives the reference, so each conformance test is one comparison.
 */
import type { Device } from '../../src/backend/device.js';
import { compileGraph } from '../../src/graph/executor.js';
import {
  type DType,
  Graph,
  type OpAttrs,
  type OpName,
  plainStep,
  type StepContext,
} from '../../src/graph/ir.js';

export interface OpInput {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
  readonly dtype?: DType;
}

export async function runOp<O extends OpName>(
  device: Device<unknown>,
  op: O,
  attrs: OpAttrs[O],
  inputs: readonly OpInput[],
  outputShapes: readonly (readonly number[])[],
  options: { ctx?: StepContext; step?: number; inPlace?: readonly number[] } = {},
): Promise<Float32Array[]> {
  const graph = new Graph();
  const ids = inputs.map((input, i) => graph.tensor(`in${i}`, input.shape, 'input', input.dtype ?? 'f32'));
  // In-place ops (optimizers, max_norm) write their inputs: their outputs are those same tensors.
  const outputs = options.inPlace ?? outputShapes.map((shape, i) => graph.tensor(`out${i}`, shape, 'output'));
  const resolved = options.inPlace ? options.inPlace.map((i) => ids[i] as number) : outputs;
  graph.node(op, op, ids, resolved, attrs);
  const compiled = await compileGraph(device, op, graph, {});
  inputs.forEach((input, i) => {
    const data = input.dtype === 'u32' ? Uint32Array.from(input.data) : Float32Array.from(input.data);
    device.write(compiled.bufferOf(ids[i] as number), data);
  });
  compiled.program.run(options.ctx ?? plainStep(options.step ?? 0, 0.1, 0.9));
  const results: Float32Array[] = [];
  for (const id of resolved) {
    const length = graph.get(id).shape.reduce((a, b) => a * b, 1);
    results.push(Float32Array.from(await device.read(compiled.bufferOf(id), length)));
  }
  compiled.dispose();
  return results;
}
