/**
 * Compiles a graph for a device: plans buffers (plan.ts), creates each slot's buffer once, binds every
 * node's op to its parameters (ops/index.ts `bindOp`), and hands the list to the device as one program.
 */
import type { Device, Program, ProgramStep } from '../device/device.js';
import { ArgumentError, DropgpuError } from '../errors.js';
import { type DType, elementCount, type Graph, type Role } from '../ir/ir.js';
import { bindOp } from '../ops/index.js';
import { fuseAdamUpdates, fuseBiasUpdates } from './fuse.js';
import { type BufferPlan, planBuffers } from './plan.js';

export interface CompiledGraph<Buffer> {
  readonly graph: Graph;
  readonly plan: BufferPlan;
  readonly program: Program;
  /** The buffer holding tensor `id`. */
  bufferOf(id: number): Buffer;
  /** The buffer holding the tensor named `name`. */
  bufferNamed(name: string): Buffer;
  /** Frees the buffers this graph allocated (not the shared ones). */
  dispose(): void;
}

/** Roles whose tensors live outside any one program: a program must find them in `shared`. */
const SHARED_ROLES: ReadonlySet<Role> = new Set(['parameter', 'optimizer_state', 'metrics']);

export interface CompileGraphOptions<Buffer> {
  /**
   * Buffers owned elsewhere (by the net: its parameters, optimizer state and metrics), by tensor name.
   * When given, every parameter, optimizer-state and metrics tensor of the graph must be here: a program
   * of a net never trains or reads a copy of its own. Without it the program owns all its tensors.
   */
  readonly shared?: ReadonlyMap<string, Buffer>;
  /** Tensors that must survive the run (readable afterwards) even if nothing reads them later. */
  readonly keep?: readonly number[];
  /** Tensors whose values each run captures, for `RunResult.read(i)`. */
  readonly snapshots?: readonly number[];
  /** u32 input tensors that `Program.runMany` refills before every step. */
  readonly streamed?: readonly number[];
  /**
   * Whether Adam's updates may fold into the weight gradient's matmul where the device can (default
   * true). Validate mode says false: the fused node's CPU reference takes its gradient in double
   * precision, and Adam's m/(√v + ε) turns a rounding difference in a gradient near zero into a step
   * difference of up to lr, where the separate adam node gets the device's own gradient.
   */
  readonly fuseAdam?: boolean;
}

/**
 * `device.createBuffer`, with an allocation the engine refuses (a RangeError: out of memory, a typed
 * array too long) reported as the `ArgumentError` it is, naming `argument` (what was too large).
 */
export function allocate<Buffer>(
  device: Device<Buffer>,
  label: string,
  dtype: DType,
  length: number,
  argument = 'batchSize',
): Buffer {
  try {
    return device.createBuffer(label, dtype, length);
  } catch (error) {
    if (error instanceof DropgpuError || !(error instanceof RangeError)) throw error;
    throw new ArgumentError(
      argument,
      "buffers that fit this machine's memory",
      `${label} of ${length} values, which could not be allocated (${error.message})`,
    );
  }
}

export async function compileGraph<Buffer>(
  device: Device<Buffer>,
  label: string,
  graph: Graph,
  options: CompileGraphOptions<Buffer> = {},
): Promise<CompiledGraph<Buffer>> {
  const shared = options.shared ?? new Map<string, Buffer>();
  for (const tensor of graph.tensors) {
    if (options.shared && SHARED_ROLES.has(tensor.role) && !shared.has(tensor.name)) {
      throw new RangeError(`${label}: ${tensor.role} "${tensor.name}" has no shared buffer`);
    }
  }
  // Here, not in buildTrainGraph, because only the device knows whether its kernels can (see
  // Device.fusesAdamUpdates, fusesBiasUpdates); the rewrite is in place, so the caller's graph is the
  // one that runs. Adam's first: the bias pass fuses into the matmul it makes.
  if (device.fusesAdamUpdates && options.fuseAdam !== false) fuseAdamUpdates(graph);
  if (device.fusesBiasUpdates) fuseBiasUpdates(graph);
  const ops = graph.nodes.map((node) => bindOp(node, graph));
  const keep = new Set([...(options.keep ?? []), ...(options.snapshots ?? [])]);
  const plan = planBuffers(graph, keep);
  const owned: Buffer[] = [];
  const destroyOwned = () => {
    for (const buffer of owned) device.destroyBuffer(buffer);
  };
  let buffers: Buffer[];
  try {
    buffers = plan.slots.map((slot) => {
      const names = slot.tensors.map((id) => graph.get(id).name);
      const sharedName = names.find((name) => shared.has(name));
      if (sharedName !== undefined) return shared.get(sharedName) as Buffer;
      const buffer = allocate(device, `${label}: ${names.join(' | ')}`, slot.dtype, slot.length);
      owned.push(buffer);
      return buffer;
    });
  } catch (error) {
    destroyOwned();
    throw error;
  }
  const bufferOf = (id: number): Buffer => {
    const buffer = buffers[plan.slotOf[id] ?? -1];
    if (buffer === undefined) throw new RangeError(`tensor ${id} has no buffer`);
    return buffer;
  };
  let program: Program;
  try {
    const steps: ProgramStep<Buffer>[] = graph.nodes.map((node, i) => ({
      node,
      op: ops[i] as ProgramStep<Buffer>['op'],
      inputs: node.inputs.map(bufferOf),
      outputs: node.outputs.map(bufferOf),
    }));
    const streamed = (options.streamed ?? []).map((id) => ({
      buffer: bufferOf(id),
      length: elementCount(graph.get(id).shape),
    }));
    program = await device.createProgram(label, steps, (options.snapshots ?? []).map(bufferOf), streamed);
  } catch (error) {
    // A kernel that does not compile must not leave the graph's buffers behind.
    destroyOwned();
    throw error;
  }
  return {
    graph,
    plan,
    program,
    bufferOf,
    bufferNamed: (name) => bufferOf(graph.find(name).id),
    dispose: () => {
      program.dispose();
      destroyOwned();
    },
  };
}

/**
 * Throws `ArgumentError` when `graph` would not fit `device` (a buffer over its binding limit, a
 * dispatch over its per-dimension workgroup limit), before anything is allocated. Names `batchSize`
 * when a smaller batch would fit, else the layer's size.
 */
export function checkFits(device: Device<unknown>, graph: Graph, batchSize: number): void {
  const { maxBufferBytes, maxBufferLimit, maxWorkgroupsPerDimension } = device.limits;
  for (const tensor of graph.tensors) {
    const bytes = elementCount(tensor.shape) * 4;
    if (bytes <= maxBufferBytes) continue;
    const rows = Math.floor((maxBufferBytes / bytes) * batchSize);
    const perRow = tensor.shape[0] === batchSize;
    const what = `${tensor.name} [${tensor.shape}] needs ${bytes} bytes, over this device's ${maxBufferLimit} of ${maxBufferBytes}`;
    if (perRow && rows >= 1) {
      throw new ArgumentError('batchSize', `at most ${rows} rows on this device: ${what}`, String(batchSize));
    }
    throw new ArgumentError('spec.sizes', `layers that fit this device: ${what}`, `[${tensor.shape}]`);
  }
  if (maxWorkgroupsPerDimension === undefined) return;
  for (const node of graph.nodes) {
    const groups = bindOp(node, graph).gpu.workgroups;
    if (groups.every((g) => g <= maxWorkgroupsPerDimension)) continue;
    throw new ArgumentError(
      'batchSize',
      `a batch whose ${node.name} (${node.op}) dispatch fits this device's maxComputeWorkgroupsPerDimension of ${maxWorkgroupsPerDimension} (it needs [${groups}])`,
      String(batchSize),
    );
  }
}
