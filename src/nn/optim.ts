/**
 * Optimizers as plain descriptions (`sgd({...})`, `adam({...})`), and the graph nodes that apply one
 * after the backward pass: the update of every parameter, then the max-norm projection of every weight.
 */
import { ArgumentError, checkNotRevoked, describe } from '../errors.js';
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
  // Finite as an f32 too: the kernels read every field as one (1e39 would be Infinity there).
  if (typeof value !== 'number' || !Number.isFinite(Math.fround(value)) || !ok(value)) {
    throw new ArgumentError(argument, expected, describe(value));
  }
  return value;
}

const positive = (v: number): boolean => v > 0;
const nonNegative = (v: number): boolean => v >= 0;
const unitInterval = (v: number): boolean => v >= 0 && v < 1;

/** `options` is an object (a missing or null one is refused, not read as defaults). */
function checkObject(argument: string, options: unknown, expected: string): Record<string, unknown> {
  checkNotRevoked(argument, options);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ArgumentError(argument, expected, describe(options));
  }
  return options as Record<string, unknown>;
}

/** A field that may be left out (undefined: the default), but not given as null or another type. */
function optional(options: Record<string, unknown>, field: string, fallback: unknown): unknown {
  const value = options[field];
  return value === undefined ? fallback : value;
}

function makeSgd(given: unknown, prefix: string): Optimizer {
  const options = checkObject(
    prefix === '' ? 'options' : prefix.slice(0, -1),
    given,
    'an object like { lr: 0.1 }',
  );
  const lr = check(`${prefix}lr`, options.lr, positive, 'a number > 0');
  const momentum = check(
    `${prefix}momentum`,
    optional(options, 'momentum', 0),
    unitInterval,
    'a number in [0, 1)',
  );
  const nesterov = optional(options, 'nesterov', false);
  if (typeof nesterov !== 'boolean') {
    throw new ArgumentError(`${prefix}nesterov`, 'true or false', describe(nesterov));
  }
  if (nesterov && momentum === 0)
    throw new ArgumentError(`${prefix}nesterov`, 'momentum > 0 with nesterov', 'momentum 0');
  const weightDecay = check(
    `${prefix}weightDecay`,
    optional(options, 'weightDecay', 0),
    nonNegative,
    'a number ≥ 0',
  );
  return { kind: 'sgd', lr, momentum, nesterov, weightDecay };
}

function makeAdam(given: unknown, prefix: string): Optimizer {
  const options = checkObject(
    prefix === '' ? 'options' : prefix.slice(0, -1),
    given,
    'an object like { lr: 0.001 }',
  );
  const unit = (field: string, fallback: number) =>
    check(`${prefix}${field}`, optional(options, field, fallback), unitInterval, 'a number in [0, 1)');
  return {
    kind: 'adam',
    lr: check(`${prefix}lr`, options.lr, positive, 'a number > 0'),
    beta1: unit('beta1', 0.9),
    beta2: unit('beta2', 0.999),
    epsilon: check(`${prefix}epsilon`, optional(options, 'epsilon', 1e-8), positive, 'a number > 0'),
    weightDecay: check(
      `${prefix}weightDecay`,
      optional(options, 'weightDecay', 0),
      nonNegative,
      'a number ≥ 0',
    ),
  };
}

/**
 * SGD as PyTorch's `torch.optim.SGD` defines it (see ops/sgd.ts).
 * @throws ArgumentError naming `options`, `lr`, `momentum`, `nesterov` or `weightDecay`.
 */
export function sgd(options: SgdOptions): Optimizer {
  return makeSgd(options, '');
}

/**
 * Adam as PyTorch's `torch.optim.Adam` defines it (see ops/adam.ts).
 * @throws ArgumentError naming `options`, `lr`, `beta1`, `beta2`, `epsilon` or `weightDecay`.
 */
export function adam(options: AdamOptions): Optimizer {
  return makeAdam(options, '');
}

/**
 * `backend.compile`'s `optimizer`, checked field by field as `sgd()`/`adam()` check theirs (an object
 * built by hand, or one changed after it was made, gets no further than this): a fresh copy of it.
 * @throws ArgumentError naming `optimizer` (not an optimizer at all) or the bad field, e.g. `optimizer.beta1`.
 */
export function checkOptimizer(optimizer: unknown): Optimizer {
  const given = checkObject('optimizer', optimizer, 'the result of sgd() or adam()');
  if (given.kind === 'sgd') return makeSgd(given, 'optimizer.');
  if (given.kind === 'adam') return makeAdam(given, 'optimizer.');
  throw new ArgumentError(
    'optimizer',
    'the result of sgd() or adam()',
    `an object of kind ${describe(given.kind)}`,
  );
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
