/** The op table: every op the graph IR can hold, by its snake_case name. */
import type { OpName } from '../graph/ir.js';
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
