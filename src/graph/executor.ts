/**
 * Compiles a graph for a device: plans buffers (plan.ts), creates each slot's buffer once, resolves
 * every node's parameters and buffers, and hands the list to the device as one program.
 */
import type { Device, Program } from '../backend/device.js';
import { OPS } from '../ops/index.js';
import { elementCount, type Graph, type Node, type OpName } from './ir.js';
import { type BufferPlan, planBuffers } from './plan.js';

export interface CompiledGraph<Buffer> {
  readonly graph: Graph;
  readonly plan: BufferPlan;
  readonly program: Program;
  /** The buffer holding tensor `id`. */
  bufferOf(id: number): Buffer;
  /** Frees the buffers this graph allocated (not the shared ones). */
  dispose(): void;
}

export interface CompileGraphOptions<Buffer> {
  /** Buffers owned elsewhere, by tensor name: parameters and optimizer state shared by programs. */
  readonly shared?: ReadonlyMap<string, Buffer>;
  /** Tensors that must survive the run (readable afterwards) even if nothing reads them later. */
  readonly keep?: readonly number[];
  /** Tensors whose values each run captures, for `RunResult.read(i)`. */
  readonly snapshots?: readonly number[];
  /** u32 input tensors that `Program.runMany` refills before every step. */
  readonly streamed?: readonly number[];
}

export async function compileGraph<Buffer>(
  device: Device<Buffer>,
  label: string,
  graph: Graph,
  options: CompileGraphOptions<Buffer> = {},
): Promise<CompiledGraph<Buffer>> {
  const keep = new Set([...(options.keep ?? []), ...(options.snapshots ?? [])]);
  const plan = planBuffers(graph, keep);
  const owned: Buffer[] = [];
  const buffers = plan.slots.map((slot) => {
    const sharedName = slot.tensors.map((id) => graph.get(id).name).find((name) => options.shared?.has(name));
    if (sharedName !== undefined) return options.shared?.get(sharedName) as Buffer;
    const names = slot.tensors.map((id) => graph.get(id).name).join(' | ');
    const buffer = device.createBuffer(`${label}: ${names}`, slot.dtype, slot.length);
    owned.push(buffer);
    return buffer;
  });
  const bufferOf = (id: number): Buffer => {
    const buffer = buffers[plan.slotOf[id] ?? -1];
    if (buffer === undefined) throw new RangeError(`tensor ${id} has no buffer`);
    return buffer;
  };
  const steps = graph.nodes.map((node) => ({
    node,
    params: (OPS[node.op as OpName].params as (n: Node, g: Graph) => unknown)(node, graph),
    inputs: node.inputs.map(bufferOf),
    outputs: node.outputs.map(bufferOf),
  }));
  const streamed = (options.streamed ?? []).map((id) => ({
    buffer: bufferOf(id),
    length: elementCount(graph.get(id).shape),
  }));
  let program: Program;
  try {
    program = await device.createProgram(label, steps, (options.snapshots ?? []).map(bufferOf), streamed);
  } catch (error) {
    // A kernel that does not compile must not leave the graph's buffers behind.
    for (const buffer of owned) device.destroyBuffer(buffer);
    throw error;
  }
  return {
    graph,
    plan,
    program,
    bufferOf,
    dispose: () => {
      program.dispose();
      for (const buffer of owned) device.destroyBuffer(buffer);
    },
  };
}
