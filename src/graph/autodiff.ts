/**
 * Reverse-mode autodiff over the op set: walks the forward nodes backwards and asks each op's
 * vector-Jacobian rule for its inputs' gradients, so no model writes its backward pass by hand.
 */

import type { Graph, Node, OpName } from '../ir/ir.js';
import { OPS } from '../ops/index.js';
import type { Grads } from '../ops/op.js';

type VjpRule = (graph: Graph, node: Node, outputGrads: Grads, needed: readonly boolean[]) => Grads;

/**
 * Appends to `graph` the nodes computing d(loss)/d(t) for every tensor `t` in `wrt`, where `loss` is a
 * scalar produced by the graph's last differentiable node. Returns the gradient tensor id of each
 * tensor of `wrt`, in order. A tensor read by several nodes gets the sum of their contributions.
 */
export function appendBackward(graph: Graph, loss: number, wrt: readonly number[]): number[] {
  const forward = [...graph.nodes];

  // A tensor needs a gradient iff it is in `wrt` or is computed from one that is.
  const needsGrad = new Set<number>(wrt);
  for (const node of forward) {
    if (node.inputs.some((id) => needsGrad.has(id))) for (const id of node.outputs) needsGrad.add(id);
  }

  const grads = new Map<number, number>();
  const seed = loss;
  for (let index = forward.length - 1; index >= 0; index--) {
    const node = forward[index] as Node;
    const outputGrads = node.outputs.map((id) => (id === loss ? seed : grads.get(id)));
    if (outputGrads.every((g) => g === undefined)) continue;
    const needed = node.inputs.map((id) => needsGrad.has(id));
    if (!needed.some(Boolean)) continue;
    const vjp = (OPS[node.op as OpName] as { vjp?: VjpRule }).vjp;
    if (!vjp) throw new Error(`${node.name}: op ${node.op} has no vector-Jacobian rule`);
    const inputGrads = vjp(graph, node, outputGrads, needed);
    node.inputs.forEach((id, i) => {
      const grad = inputGrads[i];
      if (grad === undefined || !needed[i]) return;
      const previous = grads.get(id);
      grads.set(
        id,
        previous === undefined
          ? grad
          : graph.apply(
              'add',
              `grad(${graph.get(id).name})`,
              [previous, grad],
              {},
              graph.get(id).shape,
              'gradient',
            ),
      );
    });
  }
  return wrt.map((id) => {
    const grad = grads.get(id);
    if (grad === undefined) throw new Error(`${graph.get(id).name} does not affect the loss`);
    return grad;
  });
}
