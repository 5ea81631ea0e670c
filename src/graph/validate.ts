/**
 * Validate mode (after tinygrad's VALIDATE_WITH_CPU): after each training step on a device, replays
 * the step node by node with the CPU reference, feeding each node the device's own inputs, and throws
 * at the first node whose output differs beyond the op's tolerance. Isolating nodes this way names the
 * kernel at fault instead of wherever accumulated differences happen to cross a threshold.
 *
 * Needs every tensor of the step readable afterwards: compile the graph with all tensors kept.
 */
import type { BoundOp, Device, NumArray, Tolerance } from '../device/device.js';
import { ValidationError } from '../errors.js';
import { elementCount, type Graph, type StepContext } from '../ir/ir.js';
import { bindOp } from '../ops/index.js';

/** Every tensor any node reads or writes: what a validated graph must keep. */
export function allTensors(graph: Graph): number[] {
  return [...new Set(graph.nodes.flatMap((node) => [...node.inputs, ...node.outputs]))];
}

export class Validator<Buffer> {
  readonly #device: Device<Buffer>;
  readonly #graph: Graph;
  readonly #bufferOf: (id: number) => Buffer;
  readonly #ops: readonly BoundOp[];
  /** The node after which each tensor holds its final value for the step. */
  readonly #lastWriter = new Map<number, number>();
  /** Tensors some node updates in place (parameters, optimizer state, metrics): they carry over steps. */
  readonly #inPlace = new Set<number>();

  constructor(device: Device<Buffer>, graph: Graph, bufferOf: (id: number) => Buffer) {
    this.#device = device;
    this.#graph = graph;
    this.#bufferOf = bufferOf;
    this.#ops = graph.nodes.map((node) => bindOp(node, graph));
    graph.nodes.forEach((node, index) => {
      for (const id of node.outputs) {
        this.#lastWriter.set(id, index);
        if (node.inputs.includes(id)) this.#inPlace.add(id);
      }
    });
  }

  /**
   * What the step starts from: the inputs as written (`inputs`, by tensor id) and the tensors updated
   * in place (parameters, optimizer state, metrics) read from the device before the step changes them.
   */
  async before(inputs: ReadonlyMap<number, NumArray>): Promise<Map<number, NumArray>> {
    const start = new Map<number, NumArray>(inputs);
    for (const tensor of this.#graph.tensors) {
      if (this.#inPlace.has(tensor.id)) start.set(tensor.id, await this.#read(tensor.id));
    }
    return start;
  }

  /** Replays the step on the CPU from `start` and the device's values; throws at the first bad node. */
  async check(start: Map<number, NumArray>, ctx: StepContext): Promise<void> {
    const values = new Map<number, NumArray>(start);
    const device = new Map<number, NumArray>();
    const deviceValue = async (id: number) => {
      let value = device.get(id);
      if (!value) {
        value = await this.#read(id);
        device.set(id, value);
      }
      return value;
    };
    for (const [index, node] of this.#graph.nodes.entries()) {
      // Inputs: the step's starting state for parameters and state, the device's values for the rest.
      const inputs = await Promise.all(
        node.inputs.map(async (id) => values.get(id) ?? (await deviceValue(id)).slice()),
      );
      const outputs = node.outputs.map((id) => {
        const inPlace = node.inputs.indexOf(id);
        return inPlace >= 0
          ? (inputs[inPlace] as NumArray)
          : new Float32Array(elementCount(this.#graph.get(id).shape));
      });
      const op = this.#ops[index] as BoundOp;
      op.reference(inputs, outputs, ctx);
      const { tolerance } = op;
      for (const [o, id] of node.outputs.entries()) {
        const expected = outputs[o] as NumArray;
        if (this.#inPlace.has(id)) values.set(id, expected);
        if (this.#lastWriter.get(id) !== index) continue;
        const actual = await deviceValue(id);
        const bad = firstMismatch(actual, expected, tolerance);
        if (bad >= 0) {
          throw new ValidationError(
            `node "${node.name}" (${node.op}) output ${o} "${this.#graph.get(id).name}" ` +
              `[${this.#graph.get(id).shape}] at step ${ctx.step}: index ${bad}: device ${actual[bad]}, ` +
              `CPU reference ${expected[bad]} (allowed ${tolerance.atol} + ${tolerance.rtol}·|reference|)`,
          );
        }
      }
    }
  }

  async #read(id: number): Promise<NumArray> {
    // Only f32 tensors are read: u32 ones (labels) are inputs, which the caller passes in `start`.
    const values = await this.#device.read(this.#bufferOf(id), elementCount(this.#graph.get(id).shape));
    return Float32Array.from(values);
  }
}

function firstMismatch(actual: NumArray, expected: NumArray, { atol, rtol }: Tolerance): number {
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok) return i;
  }
  return -1;
}
