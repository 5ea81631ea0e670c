/**
 * The fusion pass: rewrites a differentiated graph so that each hidden layer costs one dispatch
 * forward and its activation gradient comes out of the dX matmul directly.
 *
 *   forward:  matmul → bias_act → dropout?          ⇒  matmul{bias, activation, dropout?} → [y, h?]
 *   backward: matmul → dropout? → act_grad(·, y)   ⇒  matmul{dropout?, dropoutBackward, activationGrad}(…, y)
 *
 * A pattern is fused only when its intermediate tensors have no other reader. The fused node takes
 * the place of the pattern's last node, where every input it reads is already computed.
 *
 * `fuseUpdates` runs after the optimizer's nodes are appended (see there); `fuseAdamUpdates` and
 * `fuseBiasUpdates` at compile, on devices whose kernels have them.
 */
import type { Graph, MatmulAttrs, Node } from '../ir/ir.js';
import { matmulOperands, matmulSlots } from '../ops/matmul-layout.js';

/** Whether a matmul already has a fused epilogue of any kind (the column sums aside, with `colSums` false). */
function hasEpilogue(node: Node<'matmul'>, colSums = true): boolean {
  const { bias, activation, activationGrad, dropout, update, adamUpdate, colSum } = node.attrs;
  const any = bias || activation !== undefined || activationGrad || dropout || update || adamUpdate;
  return Boolean(any || (colSums && colSum));
}

export function fuse(graph: Graph): void {
  const readers = new Map<number, number>();
  for (const node of graph.nodes)
    for (const id of new Set(node.inputs)) readers.set(id, (readers.get(id) ?? 0) + 1);
  const onlyReader = (id: number | undefined, op: Node['op']): Node | undefined => {
    if (id === undefined || readers.get(id) !== 1) return undefined;
    const reader = graph.nodes.find((n) => n.inputs.includes(id));
    return reader?.op === op ? reader : undefined;
  };
  const isPlain = (node: Node<'matmul'>) => !hasEpilogue(node);

  const replaced = new Map<Node, Node | null>();
  for (const matmul of graph.nodesOf('matmul')) {
    if (!isPlain(matmul)) continue;
    const out = matmul.outputs[0];
    const biasAct = onlyReader(out, 'bias_act') as Node<'bias_act'> | undefined;
    if (biasAct && biasAct.inputs[0] === out) {
      const y = biasAct.outputs[0] as number;
      const dropout = graph.nodes.find((n): n is Node<'dropout'> => n.op === 'dropout' && n.inputs[0] === y);
      const attrs: MatmulAttrs = {
        ...matmul.attrs,
        bias: true,
        activation: biasAct.attrs.activation,
        ...(dropout ? { dropout: dropout.attrs } : {}),
      };
      const [a, b] = matmul.inputs as [number, number];
      const fused: Node<'matmul'> = {
        op: 'matmul',
        name: dropout ? `${biasAct.name}+dropout` : biasAct.name,
        ...matmulOperands(attrs, { a, b, bias: biasAct.inputs[1], out: y, second: dropout?.outputs[0] }),
        attrs,
      };
      replaced.set(matmul, null).set(biasAct, dropout ? null : fused);
      if (dropout) replaced.set(dropout, fused);
      continue;
    }
    const maskNode = onlyReader(out, 'dropout') as Node<'dropout'> | undefined;
    const gradInput = maskNode ? maskNode.outputs[0] : out;
    const actGrad = onlyReader(gradInput, 'act_grad') as Node<'act_grad'> | undefined;
    if (!actGrad || actGrad.inputs[0] !== gradInput) continue;
    const attrs: MatmulAttrs = {
      ...matmul.attrs,
      activationGrad: actGrad.attrs.activation,
      ...(maskNode ? { dropout: maskNode.attrs, dropoutBackward: true } : {}),
    };
    const [a, b] = matmul.inputs as [number, number];
    const fused: Node<'matmul'> = {
      op: 'matmul',
      name: `${matmul.name}+act_grad`,
      ...matmulOperands(attrs, { a, b, aux: actGrad.inputs[1], out: actGrad.outputs[0] }),
      attrs,
    };
    replaced.set(matmul, null).set(actGrad, fused);
    if (maskNode) replaced.set(maskNode, null);
  }
  replaceNodes(graph, replaced);
}

/**
 * The update pass, after the optimizer nodes are appended, so that a layer's weight gradient is never
 * stored and its bias gradient costs no pass of its own:
 *
 *   bias_grad(dY) → db  and  matmul(dY, X, transA) → dW   ⇒  matmul{colSum}(dY, X) → [dW, db]
 *   matmul → dW  and  sgd(W, dW, metrics, v?)               ⇒  matmul{update}(dY, X, W, metrics, v?) → [W, v?]
 *
 * An updating matmul takes the sgd node's place (after every reader of W, such as the layer's dX
 * matmul); it reads dY and X there instead, which only lengthens their lives. Adam's update is
 * fused only on devices with the storage bindings it needs (`fuseAdamUpdates`, run by compileGraph),
 * but its bias gradient comes out of the weight gradient's matmul everywhere.
 */
export function fuseUpdates(graph: Graph): void {
  const readers = new Map<number, Node[]>();
  for (const node of graph.nodes)
    for (const id of new Set(node.inputs)) readers.set(id, [...(readers.get(id) ?? []), node]);
  const producer = (id: number) => graph.nodes.find((node) => node.outputs.includes(id));
  // Which plain weight-gradient matmul each sgd node absorbs.
  const updates = new Map<Node, Node<'sgd'>>();
  for (const sgd of graph.nodesOf('sgd')) {
    const [param, grad] = sgd.inputs as [number, number];
    const matmul = producer(grad);
    if (matmul?.op !== 'matmul' || hasEpilogue(matmul as Node<'matmul'>)) continue;
    if (readers.get(grad)?.length !== 1 || graph.get(param).shape.length !== 2) continue;
    updates.set(matmul, sgd);
  }
  const position = (node: Node) => {
    const sgd = updates.get(node);
    return graph.nodes.indexOf(sgd ?? node);
  };
  // Which bias gradient each weight-gradient matmul also computes.
  const colSums = new Map<Node, Node<'bias_grad'>>();
  for (const biasGrad of graph.nodesOf('bias_grad')) {
    const dY = biasGrad.inputs[0] as number;
    const db = biasGrad.outputs[0] as number;
    const matmul = readers
      .get(dY)
      ?.find(
        (node): node is Node<'matmul'> =>
          node.op === 'matmul' &&
          node.inputs[0] === dY &&
          (node as Node<'matmul'>).attrs.transA &&
          !hasEpilogue(node as Node<'matmul'>) &&
          !colSums.has(node),
      );
    if (!matmul) continue;
    // db must exist before anything reads it, at the matmul's final place.
    const at = position(matmul);
    if ((readers.get(db) ?? []).some((reader) => graph.nodes.indexOf(reader) <= at)) continue;
    colSums.set(matmul, biasGrad);
  }

  const replaced = new Map<Node, Node | null>();
  for (const biasGrad of colSums.values()) replaced.set(biasGrad, null);
  for (const node of graph.nodes) {
    if (node.op !== 'matmul') continue;
    const matmul = node as Node<'matmul'>;
    const sgd = updates.get(matmul);
    const biasGrad = colSums.get(matmul);
    if (!sgd && !biasGrad) continue;
    const [a, b] = matmul.inputs as [number, number];
    const colsum = biasGrad?.outputs[0];
    if (!sgd) {
      const attrs: MatmulAttrs = { ...matmul.attrs, colSum: true };
      replaced.set(matmul, {
        ...matmul,
        name: `${matmul.name}+${biasGrad?.name}`,
        ...matmulOperands(attrs, { a, b, out: matmul.outputs[0], colsum }),
        attrs,
      });
      continue;
    }
    const [param, , metrics, velocity] = sgd.inputs as number[];
    const attrs: MatmulAttrs = { ...matmul.attrs, update: sgd.attrs, ...(biasGrad ? { colSum: true } : {}) };
    const fused: Node<'matmul'> = {
      op: 'matmul',
      name: `${matmul.name}+${sgd.name}${biasGrad ? `+${biasGrad.name}` : ''}`,
      ...matmulOperands(attrs, { a, b, param, metrics, velocity, out: param, second: velocity, colsum }),
      attrs,
    };
    replaced.set(matmul, null).set(sgd, fused);
  }
  replaceNodes(graph, replaced);
}

/**
 * The Adam update pass, before `fuseBiasUpdates`, for devices whose matmul kernels have Adam's step
 * (Device.fusesAdamUpdates: it needs 9 storage bindings a stage; compileGraph runs it), so that a
 * weight's gradient is never stored under Adam either:
 *
 *   matmul{colSum?}(dY, X) → [dW, db?]  and  adam(W, dW, metrics, m, v)  ⇒  matmul{adamUpdate, colSum?}(dY, X, W, metrics, m, v) → [W, m, v, db?]
 *
 * As `fuseUpdates` for sgd: the updating matmul takes the adam node's place, only where dW has no
 * other reader and nothing reads db before that place.
 */
export function fuseAdamUpdates(graph: Graph): void {
  const replaced = new Map<Node, Node | null>();
  for (const adam of graph.nodesOf('adam')) {
    const [param, grad, metrics, moment1, moment2] = adam.inputs as number[];
    const matmul = graph.nodes.find((node) => node.outputs.includes(grad as number));
    if (matmul?.op !== 'matmul' || matmul.outputs[0] !== grad) continue;
    const plain = matmul as Node<'matmul'>;
    if (hasEpilogue(plain, false) || graph.get(param as number).shape.length !== 2) continue;
    if (graph.nodes.filter((node) => node.inputs.includes(grad as number)).length !== 1) continue;
    const colsum = plain.attrs.colSum ? plain.outputs[1] : undefined;
    const at = graph.nodes.indexOf(adam);
    if (colsum !== undefined && graph.nodes.some((node, i) => i <= at && node.inputs.includes(colsum)))
      continue;
    const attrs: MatmulAttrs = { ...plain.attrs, adamUpdate: adam.attrs };
    const [a, b] = plain.inputs as [number, number];
    const named = { a, b, param, metrics, moment1, moment2, out: param, colsum };
    replaced.set(matmul, null).set(adam, {
      op: 'matmul',
      name: `${matmul.name}+${adam.name}`,
      ...matmulOperands(attrs, named),
      attrs,
    });
  }
  replaceNodes(graph, replaced);
}

/**
 * The bias-update pass, after `fuseUpdates` (and `fuseAdamUpdates`), for devices whose matmul kernels
 * have the bias update (Device.fusesBiasUpdates; compileGraph runs it), so that a layer's bias
 * gradient is never stored and its update costs no dispatch of its own:
 *
 *   matmul{update, colSum} → [W, v?, db]  and  sgd(b, db, metrics, vb?)  ⇒  matmul{update, biasUpdate} → [W, v?, b, vb?]
 *   matmul{adamUpdate, colSum} → [W, m, v, db]  and  adam(b, db, metrics, mb, vb)  ⇒  matmul{adamUpdate, biasUpdate} → [W, m, v, b, mb, vb]
 *
 * Only where the bias's step shares the weight's hyperparameters but weight decay (momentum and
 * Nesterov, or β1, β2 and ε: one set of overrides and uniforms for both), reads the same metrics, db
 * has no other reader, and no node between the two touches the bias or its state (the bias now
 * changes at the matmul's place, earlier).
 */
export function fuseBiasUpdates(graph: Graph): void {
  const replaced = new Map<Node, Node | null>();
  graph.nodes.forEach((node, at) => {
    if (node.op !== 'matmul') return;
    const matmul = node as Node<'matmul'>;
    const { update, adamUpdate, colSum, biasUpdate } = matmul.attrs;
    if (!(update || adamUpdate) || !colSum || biasUpdate) return;
    const db = matmul.outputs[matmul.outputs.length - 1] as number;
    const readers = graph.nodes.filter((n) => n.inputs.includes(db));
    const step = readers[0];
    if (readers.length !== 1 || !step || step.inputs[1] !== db || !sameStep(matmul, step)) return;
    const [bias, , metrics, ...state] = step.inputs as number[];
    const slots = matmulSlots(matmul.attrs).inputs;
    const own = (slot: number | undefined) => (slot === undefined ? undefined : matmul.inputs[slot]);
    if (metrics !== own(slots.metrics)) return;
    const touched = new Set([bias, ...state]);
    const between = graph.nodes.slice(at + 1, graph.nodes.indexOf(step));
    if (between.some((n) => [...n.inputs, ...n.outputs].some((id) => touched.has(id)))) return;
    const weightDecay = (step.attrs as { weightDecay: number }).weightDecay;
    const fusedAttrs: MatmulAttrs = { ...matmul.attrs, biasUpdate: { weightDecay } };
    const [param, velocity, moment1, moment2] = [
      slots.param,
      slots.velocity,
      slots.moment1,
      slots.moment2,
    ].map(own);
    const named = {
      a: own(slots.a),
      b: own(slots.b),
      param,
      metrics,
      velocity,
      moment1,
      moment2,
      out: param,
      second: velocity,
      biasParam: bias,
      ...(update ? { biasVelocity: state[0] } : { biasMoment1: state[0], biasMoment2: state[1] }),
    };
    replaced.set(step, null).set(matmul, {
      op: 'matmul',
      name: `${matmul.name}+${step.name}`,
      ...matmulOperands(fusedAttrs, named),
      attrs: fusedAttrs,
    });
  });
  replaceNodes(graph, replaced);
}

/** Whether `step` (the reader of the bias gradient) is the bias's update of the kind `matmul` applies. */
function sameStep(matmul: Node<'matmul'>, step: Node): boolean {
  const { update, adamUpdate } = matmul.attrs;
  if (update && step.op === 'sgd') {
    const attrs = (step as Node<'sgd'>).attrs;
    return attrs.momentum === update.momentum && attrs.nesterov === update.nesterov;
  }
  if (adamUpdate && step.op === 'adam') {
    const attrs = (step as Node<'adam'>).attrs;
    const { beta1, beta2, epsilon } = adamUpdate;
    return attrs.beta1 === beta1 && attrs.beta2 === beta2 && attrs.epsilon === epsilon;
  }
  return false;
}

/** Rewrites `graph.nodes` in place: each node in `replaced` becomes its replacement, or goes (null). */
function replaceNodes(graph: Graph, replaced: ReadonlyMap<Node, Node | null>): void {
  const nodes = graph.nodes.flatMap((node) => {
    const replacement = replaced.get(node);
    return replacement === undefined ? [node] : replacement === null ? [] : [replacement];
  });
  graph.nodes.splice(0, graph.nodes.length, ...nodes);
}
