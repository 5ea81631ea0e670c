/**
 * matmul's parameters and the layout of its node's buffers: which input and output is what, for each
 * epilogue. Shared by the reference (matmul.ts), both kernels' descriptors (matmul-gpu.ts,
 * wasm/matmul.ts) and the fusion passes (graph/fuse.ts), so the layout is defined once.
 */
import type { Activation, AdamUpdate, BiasUpdate, DropoutAttrs, SgdUpdate } from '../ir/ir.js';

/** A matmul without epilogue: the defaults of the optional attributes. */
export const PLAIN_EPILOGUE = {
  bias: false,
  activation: 'identity',
  activationGrad: 'identity',
  dropoutBackward: false,
  colSum: false,
} as const satisfies Partial<MatmulParams>;

export interface MatmulParams {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  bias: boolean;
  activation: Activation;
  activationGrad: Activation;
  dropout?: DropoutAttrs;
  dropoutBackward: boolean;
  /** The SGD step on the parameter this matmul is the gradient of (see MatmulAttrs.update). */
  update?: SgdUpdate;
  /** The Adam step instead (MatmulAttrs.adamUpdate; WebGPU with 9 storage buffers a stage). */
  adamUpdate?: AdamUpdate;
  colSum: boolean;
  /** The column sums update the layer's bias in place instead of being stored (MatmulAttrs.biasUpdate). */
  biasUpdate?: BiasUpdate;
}

/** The epilogue attributes that decide which buffers a matmul node has (MatmulAttrs and MatmulParams). */
type EpilogueShape = {
  readonly bias?: boolean | undefined;
  readonly activationGrad?: Activation | undefined;
  readonly dropout?: DropoutAttrs | undefined;
  readonly dropoutBackward?: boolean | undefined;
  readonly update?: SgdUpdate | undefined;
  readonly adamUpdate?: AdamUpdate | undefined;
  readonly colSum?: boolean | undefined;
  readonly biasUpdate?: BiasUpdate | undefined;
};

/**
 * Where each of a matmul node's buffers sits among its inputs and outputs: the one definition of that
 * layout, used by the reference, the kernels' bindings and the fusion passes. Inputs: a, b, then the
 * bias and the activation's output `aux` (epilogues), or the parameter, metrics and velocity (update),
 * or the parameter, metrics and Adam's two moments (adamUpdate). Outputs: `out` (C, or the updated
 * parameter), `second` (the dropped activation, or the velocity) or the two moments, then the column
 * sums. With a bias update the column sums are not stored: the bias and its velocity (or moments)
 * follow the update's inputs and outputs instead.
 */
export interface MatmulSlots {
  readonly inputs: {
    readonly a: 0;
    readonly b: 1;
    readonly bias?: number;
    readonly aux?: number;
    readonly param?: number;
    readonly metrics?: number;
    readonly velocity?: number;
    readonly moment1?: number;
    readonly moment2?: number;
    readonly biasParam?: number;
    readonly biasVelocity?: number;
    readonly biasMoment1?: number;
    readonly biasMoment2?: number;
  };
  readonly outputs: {
    readonly out: 0;
    readonly second?: number;
    readonly moment1?: number;
    readonly moment2?: number;
    readonly colsum?: number;
    readonly biasParam?: number;
    readonly biasVelocity?: number;
    readonly biasMoment1?: number;
    readonly biasMoment2?: number;
  };
}

export function matmulSlots(p: EpilogueShape): MatmulSlots {
  const inputs: Record<string, number> = { a: 0, b: 1 };
  let next = 2;
  if (p.adamUpdate) {
    inputs.param = next++;
    inputs.metrics = next++;
    inputs.moment1 = next++;
    inputs.moment2 = next++;
    if (p.biasUpdate) {
      inputs.biasParam = next++;
      inputs.biasMoment1 = next++;
      inputs.biasMoment2 = next++;
    }
  } else if (p.update) {
    inputs.param = next++;
    inputs.metrics = next++;
    if (p.update.momentum) inputs.velocity = next++;
    if (p.biasUpdate) inputs.biasParam = next++;
    if (p.biasUpdate && p.update.momentum) inputs.biasVelocity = next++;
  } else {
    if (p.bias) inputs.bias = next++;
    if (p.activationGrad && p.activationGrad !== 'identity') inputs.aux = next++;
  }
  const outputs: Record<string, number> = { out: 0 };
  let out = 1;
  if ((p.dropout && !p.dropoutBackward) || p.update?.momentum) outputs.second = out++;
  if (p.adamUpdate) {
    outputs.moment1 = out++;
    outputs.moment2 = out++;
  }
  if (p.adamUpdate && p.biasUpdate) {
    outputs.biasParam = out++;
    outputs.biasMoment1 = out++;
    outputs.biasMoment2 = out++;
  } else if (p.update && p.biasUpdate) {
    outputs.biasParam = out++;
    if (p.update.momentum) outputs.biasVelocity = out++;
  } else if (p.colSum) outputs.colsum = out++;
  return { inputs, outputs } as unknown as MatmulSlots;
}

/** A matmul node's input and output tensor ids, ordered by `matmulSlots` from named ids. */
export function matmulOperands(
  p: EpilogueShape,
  named: { [K in keyof MatmulSlots['inputs'] | keyof MatmulSlots['outputs']]?: number | undefined },
): { inputs: number[]; outputs: number[] } {
  const slots = matmulSlots(p);
  const place = (table: Record<string, number | undefined>): number[] => {
    const ids: number[] = [];
    for (const [name, index] of Object.entries(table)) {
      const id = named[name as keyof typeof named];
      if (index === undefined) continue;
      if (id === undefined) throw new RangeError(`matmul: no tensor for its ${name}`);
      ids[index] = id;
    }
    return ids;
  };
  return { inputs: place(slots.inputs), outputs: place(slots.outputs) };
}
