/**
 * The fusion pass: rewrites a differentiated graph so that each hidden layer costs one dispatch
 * forward and its activation gradient comes out of the dX matmul directly.
 *
 *   forward:  matmul → bias_act → dropout?          ⇒  matmul{bias, activation, dropout?} → [y, h?]
 *   backward: matmul → dropout? → act_grad(·, y)   ⇒  matmul{dropout?, dropoutBackward, activationGrad}(…, y)
 *
 * A pattern is fused only when its intermediate tensors have no other reader. The fused node takes
 * the place of the pattern's last node, where every input it reads is already computed.
 */
import type { Graph, Node } from './ir.js';

export function fuse(graph: Graph): void {
  const readers = new Map<number, number>();
  for (const node of graph.nodes)
    for (const id of new Set(node.inputs)) readers.set(id, (readers.get(id) ?? 0) + 1);
  const onlyReader = (id: number | undefined, op: Node['op']): Node | undefined => {
    if (id === undefined || readers.get(id) !== 1) return undefined;
    const reader = graph.nodes.find((n) => n.inputs.includes(id));
    return reader?.op === op ? reader : undefined;
  };
  const isPlain = (node: Node<'matmul'>) =>
    !node.attrs.bias &&
    !node.attrs.activationGrad &&
    !node.attrs.dropout &&
    node.attrs.activation === undefined;

  const replaced = new Map<Node, Node | null>();
  for (const matmul of graph.nodesOf('matmul')) {
    if (!isPlain(matmul)) continue;
    const out = matmul.outputs[0];
    const biasAct = onlyReader(out, 'bias_act') as Node<'bias_act'> | undefined;
    if (biasAct && biasAct.inputs[0] === out) {
      const y = biasAct.outputs[0] as number;
      const dropout = graph.nodes.find((n): n is Node<'dropout'> => n.op === 'dropout' && n.inputs[0] === y);
      const fused: Node<'matmul'> = {
        op: 'matmul',
        name: dropout ? `${biasAct.name}+dropout` : biasAct.name,
        inputs: [...matmul.inputs, biasAct.inputs[1] as number],
        outputs: dropout ? [y, dropout.outputs[0] as number] : [y],
        attrs: {
          ...matmul.attrs,
          bias: true,
          activation: biasAct.attrs.activation,
          ...(dropout ? { dropout: dropout.attrs } : {}),
        },
      };
      replaced.set(matmul, null).set(biasAct, dropout ? null : fused);
      if (dropout) replaced.set(dropout, fused);
      continue;
    }
    const maskNode = onlyReader(out, 'dropout') as Node<'dropout'> | undefined;
    const gradInput = maskNode ? maskNode.outputs[0] : out;
    const actGrad = onlyReader(gradInput, 'act_grad') as Node<'act_grad'> | undefined;
    if (!actGrad || actGrad.inputs[0] !== gradInput) continue;
    const fused: Node<'matmul'> = {
      op: 'matmul',
      name: `${matmul.name}+act_grad`,
      inputs: [...matmul.inputs, actGrad.inputs[1] as number],
      outputs: actGrad.outputs,
      attrs: {
        ...matmul.attrs,
        activationGrad: actGrad.attrs.activation,
        ...(maskNode ? { dropout: maskNode.attrs, dropoutBackward: true } : {}),
      },
    };
    replaced.set(matmul, null).set(actGrad, fused);
    if (maskNode) replaced.set(maskNode, null);
  }
  const nodes = graph.nodes.flatMap((node) => {
    const replacement = replaced.get(node);
    return replacement === undefined ? [node] : replacement === null ? [] : [replacement];
  });
  graph.nodes.splice(0, graph.nodes.length, ...nodes);
}
