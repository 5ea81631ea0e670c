/** The op table: every op the graph IR can hold, by its snake_case name. */
import type { BoundOp } from '../device/device.js';
import type { Graph, Node, OpName } from '../ir/ir.js';
import { bindGpuKernel } from '../kernels/gpu.js';
import { bindWasmKernel } from '../kernels/wasm.js';
import { actGrad } from './act-grad.js';
import { adam } from './adam.js';
import { add } from './add.js';
import { biasAct } from './bias-act.js';
import { biasGrad } from './bias-grad.js';
import { dropout } from './dropout.js';
import { gatherRows } from './gather-rows.js';
import { matmul } from './matmul.js';
import { maxNorm } from './max-norm.js';
import type { OpDef } from './op.js';
import { sgd } from './sgd.js';
import { softmax, softmaxXent, softmaxXentGrad } from './softmax-xent.js';

export const OPS = {
  matmul,
  bias_act: biasAct,
  act_grad: actGrad,
  bias_grad: biasGrad,
  dropout,
  softmax_xent: softmaxXent,
  softmax_xent_grad: softmaxXentGrad,
  softmax,
  add,
  sgd,
  adam,
  max_norm: maxNorm,
  gather_rows: gatherRows,
} as const satisfies { [O in OpName]: OpDef<O, unknown> };

/**
 * `node`'s op bound to its parameters: the one place that looks an op up by name, so that no device
 * needs the op table or casts parameters (see src/device/device.ts).
 */
export function bindOp(node: Node, graph: Graph): BoundOp {
  // The table is indexed by the node's own op, so its definition takes this node's attributes.
  return bind(OPS[node.op] as unknown as OpDef<OpName, unknown>, node as Node<OpName>, graph);
}

function bind<P>(def: OpDef<OpName, P>, node: Node<OpName>, graph: Graph): BoundOp {
  const p = def.params(node as never, graph);
  const gpu = bindGpuKernel(def.name, def.kernel, p);
  return {
    name: def.name,
    reference: (inputs, outputs, ctx) => def.reference(p, inputs, outputs, ctx),
    tolerance: def.tolerance(p),
    gpu: gpu.kernel,
    gpuTuning: gpu.tuning,
    wasm: def.wasm ? bindWasmKernel(def.wasm, p) : undefined,
  };
}
