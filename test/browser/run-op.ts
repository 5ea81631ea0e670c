/**
 * Runs one op on a device as a one-node graph: inputs written from the given arrays, outputs read back.
 * The same call on the CPU device gives the reference, so each conformance test is one comparison.
 */
import type { Device } from '../../src/device/device.js';
import { compileGraph } from '../../src/graph/executor.js';
import {
  type DType,
  Graph,
  type OpAttrs,
  type OpName,
  plainStep,
  type StepContext,
} from '../../src/ir/ir.js';

export interface OpInput {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
  readonly dtype?: DType;
}

/** A new output tensor of this shape, or (a number) the input at that index, written in place. */
export type OpOutput = readonly number[] | number;

export async function runOp<O extends OpName>(
  device: Device<unknown>,
  op: O,
  attrs: OpAttrs[O],
  inputs: readonly OpInput[],
  outputs: readonly OpOutput[],
  options: { ctx?: StepContext; step?: number } = {},
): Promise<Float32Array[]> {
  const graph = new Graph();
  const ids = inputs.map((input, i) => graph.tensor(`in${i}`, input.shape, 'input', input.dtype ?? 'f32'));
  const outputIds = outputs.map((output, i) =>
    typeof output === 'number' ? (ids[output] as number) : graph.tensor(`out${i}`, output, 'output'),
  );
  graph.node(op, op, ids, outputIds, attrs);
  const compiled = await compileGraph(device, op, graph, {});
  inputs.forEach((input, i) => {
    const data = input.dtype === 'u32' ? Uint32Array.from(input.data) : Float32Array.from(input.data);
    device.write(compiled.bufferOf(ids[i] as number), data);
  });
  compiled.program.run(options.ctx ?? plainStep(options.step ?? 0, 0.1, 0.9));
  const results: Float32Array[] = [];
  for (const id of outputIds) {
    const length = graph.get(id).shape.reduce((a, b) => a * b, 1);
    results.push(Float32Array.from(await device.read(compiled.bufferOf(id), length)));
  }
  compiled.dispose();
  return results;
}
