/// <reference types="node" />
/**
 * The progress line of `dropgpu train`: redrawn in place on a terminal, absent otherwise (logs get
 * one line per epoch from the caller).
 */
import type { FitProgress } from '../train/fit.js';

const WIDTH = 24;

export class Progress {
  readonly #out: NodeJS.WriteStream;
  #shown = false;

  constructor(out: NodeJS.WriteStream) {
    this.#out = out;
  }

  update(p: FitProgress): void {
    if (!this.#out.isTTY) return;
    const stepsPerEpoch = p.totalSteps / p.epochs;
    const inEpoch = Math.min(1, (p.step - (p.epoch - 1) * stepsPerEpoch) / stepsPerEpoch);
    const filled = Math.round(inEpoch * WIDTH);
    const bar = '='.repeat(filled) + ' '.repeat(WIDTH - filled);
    const line =
      `epoch ${p.epoch}/${p.epochs} [${bar}] ${String(Math.round(100 * inEpoch)).padStart(3)}% | ` +
      `loss ${p.loss.toFixed(4)} acc ${(100 * p.accuracy).toFixed(2)}% | ` +
      `${Math.round(p.samplesPerSecond)} samples/s | ETA ${eta(p.etaSeconds)}`;
    this.#out.write(`\r\x1b[2K${line.slice(0, Math.max(40, (this.#out.columns || 120) - 1))}`);
    this.#shown = true;
  }

  /** Removes the line (before other output). */
  clear(): void {
    if (!this.#shown) return;
    this.#out.write('\r\x1b[2K');
    this.#shown = false;
  }
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}
