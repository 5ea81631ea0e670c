/**
 * matmul on the Wasm backend. Wasm twin: wasm/matmul_kernels.ts (which names this file back).
 *
 * Two phases: `matmul_pack` copies opA into row panels of 4 and opB into column panels of 8 (k-major,
 * zero-padded past M and N) in scratch memory, and sums opA's rows when the node has colSum (opB
 * stored [K, N] is not packed but read in place, but for a partial last panel); `matmul_compute` runs a
 * 4×8 register tile of f32x4 accumulators over the whole K for every tile of C, then the epilogue of
 * shaders/matmul_epilogue.wgsl, in its order. For a narrow C the kernel computes Cᵀ = opBᵀ·opAᵀ
 * instead (matmulSwaps). Parts split panels and tiles into contiguous ranges, each output written by
 * one part, so results do not depend on `parts`.
 *
 * Block (u32 words): 0 a, 1 b, 2 bias, 3 aux (the activation's saved output y), 4 out (C, or the
 * parameter of an update), 5 out2 (dropped activation, or the velocity), 6 metrics, 7 colsum (as the
 * WebGPU bindings, null entries 0), 8 scratch, then the params:
 *   9 M, 10 N, 11 K, 12 flags (below), 13 key lo, 14 key hi, 15 threshold, 16 scale = f32(1/keepProb),
 *   17 site, 18 stream (the dropout words of docs/contracts.md, "Dropout masks"), 19 weight decay (f32),
 *   20 row panels per cache block of the compute order (A panels of 16·K bytes reused from L2).
 * Flags: 1 transA, 2 transB, 4 bias, 8 dropout forward, 16 dropout backward, 32 update, 64 momentum,
 * 128 nesterov, 256 colSum, 512 keep all (keepProb = 1), bits 10..11 the B mode (MATMUL_B_MODE),
 * 4096 the product is Cᵀ (see matmulSwaps); bits 16..17 the activation, 18..19 the activation
 * derivative (0 identity, 1 relu, 2 tanh, 3 sigmoid).
 */
import { f32Bits } from '../../kernels/bindings.js';
import { dropoutWords } from '../../kernels/dropout-words.js';
import type { WasmKernel } from '../../kernels/wasm.js';
import { matmulBindings as bindings } from '../matmul-gpu.js';
import type { MatmulParams } from '../matmul-layout.js';

/** Activation codes of wasm/matmul_kernels.ts. */
const ACTIVATION: Readonly<Record<MatmulParams['activation'], number>> = {
  identity: 0,
  relu: 1,
  tanh: 2,
  sigmoid: 3,
};

/** Rows of a tile (an A panel) and columns (a B panel): MR and NR in wasm/matmul_kernels.ts. */
export const MATMUL_TILE = { m: 4, n: 8 } as const;

/** Bytes of packed A panels kept in cache per block of the compute order (L2-sized). */
const A_BLOCK_BYTES = 256 * 1024;
/** Bytes of C a block may write when K is short (the stores then cost more than the sums). */
const C_BLOCK_BYTES = 64 * 1024;

/**
 * The row panels per cache block of the compute order (params word 20) for a product of N columns:
 * as many as keep their A panels (16·K bytes each) in L2; for K < 64 also few enough that the block's
 * rows of C stay in cache while all column panels write into them (dY·W of the logits layer, K = 10).
 */
export function matmulPanelRows(K: number, N: number): number {
  const byA = Math.floor(A_BLOCK_BYTES / (Math.max(K, 1) * 4 * MATMUL_TILE.m));
  const byC = K < 64 ? Math.floor(C_BLOCK_BYTES / (Math.max(N, 1) * 4 * MATMUL_TILE.m)) : byA;
  return Math.max(1, Math.min(byA, byC));
}

/** How matmulWasm runs a node: see `matmulWasmChoice`. */
export interface MatmulWasmChoice {
  /** Compute Cᵀ = opBᵀ·opAᵀ (flag 4096); never with colSum (opA's row sums come from its panels). */
  readonly swap: boolean;
  /** How the tiles get the product's B panels (MATMUL_B_MODE, flag bits 10..11). */
  readonly bMode: number;
  /** Row panels per cache block (params word 20); default matmulPanelRows. */
  readonly panelRows?: number;
}

/**
 * How the tiles get the B panels of the product (B_MODE in wasm/matmul_kernels.ts): packed by the pack
 * phase into scratch; read in place (only where the product's B is stored [K, N]); packed by each
 * part into its own panel buffer right before the tiles that use it. bench/wasm/modes.ts times them.
 */
export const MATMUL_B_MODE = { packed: 0, direct: 1, local: 2 } as const;

/** Row panels per cache block below which a B stored [K, N] is packed by the pack phase. */
const PACKED_BELOW = 32;

/**
 * The default choice (bench/wasm/modes.ts measures the alternatives). Swap for a narrow C (the logits
 * layer, N = 10): it pads far less as 4-row panels of opBᵀ than as 8-column panels of opB; its stores
 * go element by element, so only where K is long enough to hide that. B panels: local (each part packs
 * a panel right before the block's tiles that use it), but packed once by the pack phase when cache
 * blocks are small (short K: each block would pack every panel again) or when B is stored [K, N] and
 * a block has few row panels (dY·W: 16): the pack phase reads B's rows in order, where a part packing
 * one panel reads a line from each of K rows N·4 bytes apart (for N = 1024 a 4 KiB page per k), a cost
 * that 16 tiles do not hide (bench/wasm/page, 2 threads: dY·W +5–19% packed; dW, 128 row panels and
 * more per block, a few % better local; the 10-row dW 1.5× packed).
 */
export function matmulWasmChoice(p: MatmulParams): MatmulWasmChoice {
  const { m, n } = MATMUL_TILE;
  const padded = Math.ceil(p.M / m) * m * Math.ceil(p.N / n) * n;
  const swapped = Math.ceil(p.N / m) * m * Math.ceil(p.M / n) * n;
  const swap = !p.colSum && p.K >= 64 && swapped < 0.85 * padded;
  const panelRows = matmulPanelRows(p.K, swap ? p.M : p.N);
  // The product's B stored [K, N] (dY·W, dW's X or dY), its panels packed by each part for fewer than
  // PACKED_BELOW row panels: the pack phase reads it row by row instead.
  const storedKN = swap ? p.transA : !p.transB;
  const rowPanels = Math.min(panelRows, Math.ceil((swap ? p.N : p.M) / m));
  const local = panelRows >= 8 && !(storedKN && rowPanels < PACKED_BELOW);
  return { swap, bMode: local ? MATMUL_B_MODE.local : MATMUL_B_MODE.packed, panelRows };
}

/** Whether the default choice computes Cᵀ. */
export function matmulSwaps(p: MatmulParams): boolean {
  return matmulWasmChoice(p).swap;
}

type Choice = (p: MatmulParams) => MatmulWasmChoice;

/** The product the tiles compute (C, or Cᵀ with the swap) and its B mode, `choose` made valid. */
function product(
  p: MatmulParams,
  choose: Choice,
): { M: number; N: number; swap: boolean; bMode: number; panelRows: number } {
  const choice = choose(p);
  const swap = choice.swap && !p.colSum;
  // The product's B is opB, or with the swap opAᵀ: stored [K, N'] when !transB (or transA).
  const inPlace = swap ? p.transA : !p.transB;
  const bMode = choice.bMode === MATMUL_B_MODE.direct && !inPlace ? MATMUL_B_MODE.packed : choice.bMode;
  const [M, N] = swap ? [p.N, p.M] : [p.M, p.N];
  return { M, N, swap, bMode, panelRows: choice.panelRows ?? matmulPanelRows(p.K, N) };
}

function flags(p: MatmulParams, choose: Choice): number {
  const dropout = p.dropout;
  const { swap, bMode } = product(p, choose);
  return (
    (bMode << 10) |
    (swap ? 4096 : 0) |
    (p.transA ? 1 : 0) |
    (p.transB ? 2 : 0) |
    (p.bias ? 4 : 0) |
    (dropout && !p.dropoutBackward ? 8 : 0) |
    (dropout && p.dropoutBackward ? 16 : 0) |
    (p.update ? 32 : 0) |
    (p.update?.momentum ? 64 : 0) |
    (p.update?.momentum && p.update.nesterov ? 128 : 0) |
    (p.colSum ? 256 : 0) |
    (dropout && dropout.keepProb >= 1 ? 512 : 0) |
    (ACTIVATION[p.activation] << 16) |
    (ACTIVATION[p.activationGrad] << 18)
  );
}

/**
 * Packed panels (16·K bytes per 4 rows of the product's A, 32·K per 8 columns of its B: all of them,
 * one when B is read in place, two per part when each part packs its own), 128 bytes per part (a tile
 * buffer), 16 to align.
 */
function scratchBytes(p: MatmulParams, parts: number, choose: Choice): number {
  const { M, N, bMode } = product(p, choose);
  const panelsA = Math.ceil(M / MATMUL_TILE.m);
  const panelsB = [Math.ceil(N / MATMUL_TILE.n), 1, 2 * Math.max(1, parts)][bMode] as number;
  return 16 + 4 * p.K * (panelsA * MATMUL_TILE.m + panelsB * MATMUL_TILE.n) + 128 * Math.max(1, parts);
}

/** The kernel with `choose` deciding swap and B mode (tests and benchmarks force each path). */
export function matmulWasmKernel(choose: Choice = matmulWasmChoice): WasmKernel<MatmulParams> {
  return {
    phases: ['matmul_pack', 'matmul_compute'],
    bind: bindings,
    params: (p) => {
      // key lo, key hi, threshold, keep_all (carried in the flags), scale, site, stream.
      const [keyLo, keyHi, threshold, , scale, site, stream] = dropoutWords(p.dropout) as number[];
      return [
        p.M,
        p.N,
        p.K,
        flags(p, choose),
        keyLo as number,
        keyHi as number,
        threshold as number,
        scale as number,
        (site as number) >>> 0,
        (stream as number) >>> 0,
        f32Bits(p.update?.weightDecay ?? 0),
        product(p, choose).panelRows,
      ];
    },
    scratch: (p, parts) => scratchBytes(p, parts, choose),
    work: (p) => p.M * p.N * p.K,
  };
}

export const matmulWasm: WasmKernel<MatmulParams> = matmulWasmKernel();
