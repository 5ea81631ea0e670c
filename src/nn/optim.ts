/**
 * Optimizers as plain descriptions (`sgd({...})`, `adam({...})`), and the graph nodes that apply one
 * after the backward pass: the update of every parameter, then the max-norm projection of every weight.
 */
import { ArgumentError, describe } from '../errors.js';
import type { Graph, StepContext } from '../ir/ir.js';

/** Options of `sgd()`. */
export interface SgdOptions {
  /** Learning rate, > 0. */
  lr: number;
  /** Momentum coefficient in [0, 1). Default 0 (plain SGD). */
  momentum?: number;
  /** Nesterov momentum (needs momentum > 0). Default false. */
  nesterov?: boolean;
  /** L2 penalty added to the weights' gradients (not the biases'). Default 0. */
  weightDecay?: number;
}

/** Options of `adam()` (defaults β1 0.9, β2 0.999, ε 1e-8, as PyTorch). */
export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** L2 penalty added to the weights' gradients (not the biases'). Default 0. */
  weightDecay?: number;
}

/** An optimizer as plain, validated data: made by `sgd()` or `adam()`. */
export type Optimizer =
  | {
      readonly kind: 'sgd';
      readonly lr: number;
      readonly momentum: number;
      readonly nesterov: boolean;
      readonly weightDecay: number;
    }
  | {
      readonly kind: 'adam';
      readonly lr: number;
      readonly beta1: number;
      readonly beta2: number;
      readonly epsilon: number;
      readonly weightDecay: number;
    };

function check(argument: string, value: unknown, ok: (v: number) => boolean, expected: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    throw new ArgumentError(argument, expected, describe(value));
  }
  return value;
}

const positive = (v: number): boolean => v > 0;
const nonNegative = (v: number): boolean => v >= 0;
const unitInterval = (v: number): boolean => v >= 0 && v < 1;

/** SGD as PyTorch's `torch.optim.SGD` defines it (see ops/sgd.ts). */
export function sgd(options: SgdOptions): Optimizer {
  const momentum = check('momentum', options.momentum ?? 0, unitInterval, 'a number in [0, 1)');
  const nesterov = options.nesterov ?? false;
  if (nesterov && momentum === 0)
    throw new ArgumentError('nesterov', 'momentum > 0 with nesterov', 'momentum 0');
  return {
    kind: 'sgd',
    lr: check('lr', options.lr, positive, 'a number > 0'),
    momentum,
    nesterov,
    weightDecay: check('weightDecay', options.weightDecay ?? 0, nonNegative, 'a number ≥ 0'),
  };
}

/** Adam as PyTorch's `torch.optim.Adam` defines it (see ops/adam.ts). */
export function adam(options: AdamOptions): Optimizer {
  return {
    kind: 'adam',
    lr: check('lr', options.lr, positive, 'a number > 0'),
    beta1: check('beta1', options.beta1 ?? 0.9, unitInterval, 'a number in [0, 1)'),
    beta2: check('beta2', options.beta2 ?? 0.999, unitInterval, 'a number in [0, 1)'),
    epsilon: check('epsilon', options.epsilon ?? 1e-8, positive, 'a number > 0'),
    weightDecay: check('weightDecay', options.weightDecay ?? 0, nonNegative, 'a number ≥ 0'),
  };
}

/** The per-step values the optimizer kernels read: t, lr, momentum and Adam's bias corrections. */
export function stepContext(optimizer: Optimizer, step: number, lr: number, momentum: number): StepContext {
  if (optimizer.kind !== 'adam') return { step, lr, momentum, biasCorrection1: 1, biasCorrection2: 1 };
  const t = step + 1;
  return {
    step,
    lr,
    momentum,
    biasCorrection1: 1 - optimizer.beta1 ** t,
    biasCorrection2: 1 - optimizer.beta2 ** t,
  };
}

/**
 * Appends the update of each parameter from its gradient, and then (when `maxNorm` is set) the
 * max-norm projection of each weight matrix. Optimizer state tensors are named `<param>:<state>`.
 * The updates read `metrics` (ops/softmax-xent.ts) and do nothing once a loss was not finite.
 */
export function appendUpdate(
  graph: Graph,
  params: readonly number[],
  grads: readonly number[],
  metrics: number,
  optimizer: Optimizer,
  maxNorm: number | undefined,
): void {
  params.forEach((param, i) => {
    const grad = grads[i] as number;
    const { name, shape } = graph.get(param);
    const isWeight = shape.length === 2;
    const weightDecay = isWeight ? optimizer.weightDecay : 0;
    if (optimizer.kind === 'sgd') {
      const hasMomentum = optimizer.momentum > 0;
      const state = hasMomentum ? [graph.tensor(`${name}:velocity`, shape, 'optimizer_state')] : [];
      graph.node('sgd', `${name}:sgd`, [param, grad, metrics, ...state], [param, ...state], {
        momentum: hasMomentum,
        nesterov: optimizer.nesterov,
        weightDecay,
      });
    } else {
      const m = graph.tensor(`${name}:adam_m`, shape, 'optimizer_state');
      const v = graph.tensor(`${name}:adam_v`, shape, 'optimizer_state');
      const { beta1, beta2, epsilon } = optimizer;
      graph.node('adam', `${name}:adam`, [param, grad, metrics, m, v], [param, m, v], {
        beta1,
        beta2,
        epsilon,
        weightDecay,
      });
    }
  });
  if (maxNorm === undefined) return;
  for (const param of params) {
    const { name, shape } = graph.get(param);
    if (shape.length === 2) graph.node('max_norm', `${name}:max_norm`, [param], [param], { maxNorm });
  }
}
