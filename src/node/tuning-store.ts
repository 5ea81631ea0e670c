/// <reference types="node" />
/**
 * The autotuner's choices kept in a file, for Node (which has no `localStorage`): compiling the same
 * net on the same adapter and driver in a later process skips the timing.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TuningStore } from '../webgpu/autotune.js';

/**
 * `$XDG_CACHE_HOME/dropgpu/autotune-v1.json`, or `~/.cache/dropgpu/autotune-v1.json`. The file maps
 * each adapter (vendor / architecture / device / description: Dawn's description names the driver
 * and its version) to the kernel chosen per op and shape.
 */
export function defaultTuningFile(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'dropgpu', 'autotune-v1.json');
}

/**
 * A `TuningStore` over one JSON file (default {@link defaultTuningFile}): pass it as
 * `createBackend('webgpu', { tuningStore: fileTuningStore() })`; `dropgpu/node`'s `createBackend`
 * does. A missing or unwritable file only costs timing again.
 */
export function fileTuningStore(path: string = defaultTuningFile()): TuningStore {
  return {
    read() {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return null;
      }
    },
    write(text) {
      try {
        mkdirSync(dirname(path), { recursive: true });
        const temporary = `${path}.${process.pid}.tmp`;
        writeFileSync(temporary, text);
        renameSync(temporary, path); // whole files only, even with two processes tuning at once
      } catch {
        // A read-only home or a full disk: the choices stay in memory for this process.
      }
    },
  };
}
