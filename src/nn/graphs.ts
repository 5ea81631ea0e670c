/**
 * The two graphs a compiled net runs: the training step (forward with dropout, loss, derived backward
 * pass, optimizer update, max-norm) and inference (forward without dropout, softmax).
 */
import { appendBackward } from '../graph/autodiff.js';
import { fuse, fuseUpdates } from '../graph/fuse.js';
import { Graph } from '../ir/ir.js';
import { METRICS } from '../ops/softmax-xent.js';
import { buildForward, type MlpSpec } from './mlp.js';
import { appendUpdate, type Optimizer } from './optim.js';

/** A training set kept on the device, from which a step gathers its batch (see `gather_rows`). */
export interface ResidentData {
  readonly n: number;
  /** One byte per value through a 256-entry table (Dataset.bytes), or the f32 values. */
  readonly bytes: boolean;
}

/** Tensor names of a resident training set: its values, its byte table, its labels. */
export const RESIDENT = {
  data: 'dataset',
  table: 'dataset:table',
  labels: 'dataset:labels',
  rows: 'rows',
} as const;

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
 * With `resident`, the step starts by gathering x and the labels from a training set on the device,
 * given the batch's row indices (the tensors named in RESIDENT).
 */
export function buildTrainGraph(
  spec: MlpSpec,
  batch: number,
  optimizer: Optimizer | null,
  maxNorm?: number,
  fused = false,
  resident?: ResidentData,
): TrainGraph {
  const graph = new Graph();
  const { x, logits, params } = buildForward(graph, spec, batch, 'train');
  const labels = graph.tensor('labels', [batch], 'label', 'u32');
  if (resident) {
    const features = spec.sizes[0] as number;
    const values = resident.n * features;
    const inputs = [
      graph.tensor(RESIDENT.rows, [batch], 'input', 'u32'),
      graph.tensor(RESIDENT.data, [resident.bytes ? Math.ceil(values / 4) : values], 'dataset', 'u32'),
      graph.tensor(RESIDENT.table, [resident.bytes ? 256 : 1], 'dataset'),
      graph.tensor(RESIDENT.labels, [Math.ceil(resident.n / 4)], 'dataset', 'u32'),
    ];
    graph.node('gather_rows', 'gather batch', inputs, [x, labels], { bytes: resident.bytes });
    // First: every other node reads x or the labels, or depends on what does.
    graph.nodes.unshift(graph.nodes.pop() as (typeof graph.nodes)[number]);
  }
  // Accumulated in place by the loss kernel; read and reset by whoever reports progress.
  const metrics = graph.tensor('metrics', [METRICS.length], 'metrics');
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
