/**
 * The graph IR every backend executes: tensors with shapes and roles, and nodes that are plain data
 * (op name, input and output tensor ids, attributes). A graph is built once per (model, batch size);
 * the backward part is derived from the forward part by `appendBackward` (autodiff.ts).
 */

export type DType = 'f32' | 'u32';

/**
 * What a tensor is for. Roles decide buffer lifetime: everything but activations and gradients lives
 * for the whole program (see plan.ts). `dataset`: a training set resident on the device. `metrics`:
 * what the loss kernel accumulates across steps (one buffer per net, shared by its training programs).
 */
export type Role =
  | 'input'
  | 'label'
  | 'parameter'
  | 'optimizer_state'
  | 'activation'
  | 'gradient'
  | 'output'
  | 'metrics'
  | 'dataset';

export interface Tensor {
  readonly id: number;
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly role: Role;
}

/** Activation of a dense layer; `identity` is used for the output layer (logits). */
export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'identity';

export interface DropoutAttrs {
  readonly site: number;
  readonly keepProb: number;
  readonly seed: number;
  /** Counter word 3: STREAM.dropout (0, docs/contracts.md, "Dropout masks") in training, STREAM.mcDropout for MC-dropout. */
  readonly stream: number;
}

/**
 * A matmul with an optional fused epilogue (made by the fusion pass, fuse.ts; autodiff only ever sees
 * plain matmuls). Extra inputs after a and b: the bias when `bias`, then the activation's output when
 * `activationGrad`. A second output, the dropped activation, when `dropout` is set and not `dropoutBackward`.
 */
export interface MatmulAttrs {
  readonly transA: boolean;
  readonly transB: boolean;
  readonly bias?: boolean;
  readonly activation?: Activation;
  readonly activationGrad?: Activation;
  readonly dropout?: DropoutAttrs;
  readonly dropoutBackward?: boolean;
  /**
   * The product is a parameter's gradient and is never stored: the SGD step is applied to the
   * parameter in place instead. Inputs after a and b: the parameter, metrics, the velocity (with
   * momentum); outputs: the parameter, the velocity. No other epilogue with it.
   */
  readonly update?: SgdUpdate;
  /**
   * As `update`, with Adam's step (fuse.ts `fuseAdamUpdates`, on devices with the storage bindings it
   * needs): inputs after a and b: the parameter, metrics, its first and second moments; outputs: the
   * parameter and both moments. Never with `update`; no other epilogue with it.
   */
  readonly adamUpdate?: AdamUpdate;
  /** One more output, last: [M], Σ_k opA[m, k] (the bias gradient, from the weight gradient's dY). */
  readonly colSum?: boolean;
  /**
   * With update (or adamUpdate) and colSum: the column sums are the gradient of a bias, which gets the
   * same step in place (momentum and Nesterov as `update`'s, or β1, β2 and ε as `adamUpdate`'s; its
   * own weight decay) instead of being stored. Inputs after the update's: the bias, its velocity (with
   * momentum) or its two moments; outputs after the update's: the same.
   */
  readonly biasUpdate?: BiasUpdate;
}

/** The bias's own SGD hyperparameter in a matmul that also updates its layer's bias. */
export interface BiasUpdate {
  readonly weightDecay: number;
}

/** SGD's static hyperparameters (lr and momentum come per step): the `sgd` op's attributes. */
export interface SgdUpdate {
  readonly momentum: boolean;
  readonly nesterov: boolean;
  readonly weightDecay: number;
}

/** Adam's static hyperparameters (lr and the bias corrections come per step): the `adam` op's attributes. */
export interface AdamUpdate {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
}

/** Attributes of each op: static for the life of a compiled program. */
export interface OpAttrs {
  matmul: MatmulAttrs;
  bias_act: { activation: Activation };
  act_grad: { activation: Activation };
  bias_grad: Record<string, never>;
  dropout: DropoutAttrs;
  softmax_xent: Record<string, never>;
  softmax_xent_grad: Record<string, never>;
  softmax: Record<string, never>;
  add: Record<string, never>;
  sgd: SgdUpdate;
  adam: AdamUpdate;
  max_norm: { maxNorm: number };
  gather_rows: { bytes: boolean };
}

export type OpName = keyof OpAttrs;

export interface Node<O extends OpName = OpName> {
  readonly op: O;
  readonly name: string;
  readonly inputs: readonly number[];
  /** May repeat input ids: optimizer nodes update parameters and state in place. */
  readonly outputs: readonly number[];
  readonly attrs: OpAttrs[O];
}

/**
 * Values that change from step to step without recompiling: the step counter t of docs/contracts.md, "Dropout masks" (dropout
 * masks, Adam's bias correction) and the hyperparameters that schedules move.
 */
export interface StepContext {
  readonly step: number;
  readonly lr: number;
  readonly momentum: number;
  /**
   * Adam's bias corrections 1 − β1^(t+1) and 1 − β2^(t+1), computed in double precision by the caller:
   * in f32 on the GPU, 1 − 0.999^t loses most of its digits to cancellation. 1 for other optimizers.
   */
  readonly biasCorrection1: number;
  readonly biasCorrection2: number;
}

/** A step context for programs without an optimizer (inference, single ops in tests). */
export function plainStep(step = 0, lr = 0, momentum = 0): StepContext {
  return { step, lr, momentum, biasCorrection1: 1, biasCorrection2: 1 };
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

/** A growing graph. Tensors are referred to by id (their index in `tensors`). */
export class Graph {
  readonly tensors: Tensor[] = [];
  readonly nodes: Node[] = [];

  tensor(name: string, shape: readonly number[], role: Role, dtype: DType = 'f32'): number {
    const id = this.tensors.length;
    this.tensors.push({ id, name, shape: [...shape], dtype, role });
    return id;
  }

  node<O extends OpName>(
    op: O,
    name: string,
    inputs: readonly number[],
    outputs: readonly number[],
    attrs: OpAttrs[O],
  ): void {
    this.nodes.push({ op, name, inputs, outputs, attrs } as Node);
  }

  /** Adds a node with one new output tensor and returns that tensor's id. */
  apply<O extends OpName>(
    op: O,
    name: string,
    inputs: readonly number[],
    attrs: OpAttrs[O],
    shape: readonly number[],
    role: Role,
  ): number {
    const out = this.tensor(name, shape, role);
    this.node(op, name, inputs, [out], attrs);
    return out;
  }

  /** The nodes of one op, typed by it. */
  nodesOf<O extends OpName>(op: O): Node<O>[] {
    return this.nodes.filter((node): node is Node<O> => node.op === op);
  }

  get(id: number): Tensor {
    const tensor = this.tensors[id];
    if (!tensor) throw new RangeError(`no tensor with id ${id}`);
    return tensor;
  }

  find(name: string): Tensor {
    const tensor = this.tensors.find((t) => t.name === name);
    if (!tensor) throw new RangeError(`no tensor named ${name}`);
    return tensor;
  }
}
