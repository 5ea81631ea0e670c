/**
 * The two graphs a compiled net runs: the training step (forward with dropout, loss, derived backward
 * pass, optimizer update, max-norm) and inference (forward without dropout, softmax).
 */
import { appendBackward } from '../graph/autodiff.js';
import { fuse, fuseUpdates } from '../graph/fuse.js';
import { Graph } from '../graph/ir.js';
import { METRICS } from '../ops/softmax-xent.js';
import { buildForward, type MlpSpec } from './mlp.js';
import { appendUpdate, type Optimizer } from './optim.js';

export interface TrainGraph {
  readonly graph: Graph;
  readonly x: number;
  readonly labels: number;
  readonly loss: number;
  /** [4]: see METRICS in ops/softmax-xent.ts. */
  readonly metrics: number;
  readonly params: readonly number[];
  readonly grads: readonly number[];
}

/**
 * With `optimizer` null the graph stops at the gradients (used by gradient checks). `fused` runs the
 * fusion passes (graph/fuse.ts) after differentiation and after the update; compiled nets always do.
 * Fused, a weight's gradient tensor is never computed when SGD updates it (see `fuseUpdates`).
 */
export function buildTrainGraph(
  spec: MlpSpec,
  batch: number,
  optimizer: Optimizer | null,
  maxNorm?: number,
  fused = false,
): TrainGraph {
  const graph = new Graph();
  const { x, logits, params } = buildForward(graph, spec, batch, 'train');
  const labels = graph.tensor('labels', [batch], 'label', 'u32');
  // Accumulated in place by the loss kernel; read and reset by whoever reports progress.
  const metrics = graph.tensor('metrics', [METRICS.length], 'output');
  const loss = graph.tensor('loss', [1], 'output');
  graph.node('softmax_xent', 'loss', [logits, labels, metrics], [loss, metrics], {});
  const grads = appendBackward(graph, loss, params);
  if (fused) fuse(graph);
  if (optimizer) appendUpdate(graph, params, grads, metrics, optimizer, maxNorm);
  if (fused) fuseUpdates(graph);
  return { graph, x, labels, loss, metrics, params, grads };
}

export interface PredictGraph {
  readonly graph: Graph;
  readonly x: number;
  readonly probs: number;
}

/** Inference: without dropout, or with MC-dropout masks ('mc') for stochastic passes. */
export function buildPredictGraph(
  spec: MlpSpec,
  batch: number,
  fused = false,
  dropout: 'none' | 'mc' = 'none',
): PredictGraph {
  const graph = new Graph();
  const { x, logits } = buildForward(graph, spec, batch, dropout);
  const probs = graph.apply('softmax', 'probs', [logits], {}, graph.get(logits).shape, 'output');
  if (fused) fuse(graph);
  return { graph, x, probs };
}
