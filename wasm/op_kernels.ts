// The kernels of every op but matmul (see wasm/index.ts), one file per op; helpers in op_common.ts.
// Each names its TS descriptor in src/ops/wasm/.
export { bias_act } from './bias_act';
export { act_grad } from './act_grad';
export { bias_grad } from './bias_grad';
export { dropout } from './dropout';
export { softmax_xent, softmax_xent_total, softmax_xent_grad, softmax } from './softmax_xent';
export { add } from './add';
export { sgd } from './sgd';
export { adam } from './adam';
export { max_norm } from './max_norm';
export { gather_rows } from './gather_rows';
