/**
 * Starting the pool's workers in Node (worker_threads) or a browser (Web Workers), from the source of
 * workerMain (worker-main.ts), so that no bundler has to know about a worker file.
 */
import { type FromWorker, type ToWorker, workerMain } from './worker-main.js';

/** A worker as the pool needs it, over Node's worker_threads or a Web Worker. */
export interface WorkerHandle {
  post(message: ToWorker): void;
  terminate(): void;
  /** Node: whether the worker keeps the process alive (only while runs are pending). */
  ref(on: boolean): void;
}

export interface WorkerEvents {
  message(message: FromWorker): void;
  /** The worker died: an uncaught error, or it exited. */
  failed(reason: string): void;
}

/** Starts `count` workers running worker-main.ts, in Node or a browser. */
export async function startWorkers(
  count: number,
  events: (index: number) => WorkerEvents,
): Promise<{ workers: WorkerHandle[]; started(): void }> {
  if (typeof (globalThis as { Worker?: unknown }).Worker === 'function') {
    const code = `(${workerMain.toString()})((m) => self.postMessage(m), (h) => { self.onmessage = (e) => h(e.data); });`;
    const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
    const workers = Array.from({ length: count }, (_, index): WorkerHandle => {
      const worker = new Worker(url, { name: `dropgpu-wasm-${index}` });
      const on = events(index);
      worker.onmessage = (event: MessageEvent<FromWorker>) => on.message(event.data);
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        on.failed(`worker ${index} failed: ${event.message}`);
      };
      worker.onmessageerror = () => on.failed(`worker ${index} sent a message that could not be read`);
      return {
        post: (message) => worker.postMessage(message),
        terminate: () => worker.terminate(),
        ref: () => {},
      };
    });
    return { workers, started: () => URL.revokeObjectURL(url) };
  }
  // A variable specifier: bundlers for browsers must not try to resolve a Node built-in.
  const specifier = 'node:worker_threads';
  const { Worker: NodeWorker } = (await import(
    /* @vite-ignore */ specifier
  )) as typeof import('node:worker_threads');
  const code = `const { parentPort } = require('node:worker_threads');\n(${workerMain.toString()})((m) => parentPort.postMessage(m), (h) => parentPort.on('message', h));`;
  const workers = Array.from({ length: count }, (_, index): WorkerHandle => {
    const worker = new NodeWorker(code, { eval: true, name: `dropgpu-wasm-${index}` });
    const on = events(index);
    worker.on('message', (message: FromWorker) => on.message(message));
    worker.on('error', (error: Error) =>
      on.failed(`worker ${index} failed: ${error.name}: ${error.message}`),
    );
    worker.on('exit', (code: number) => on.failed(`worker ${index} exited (code ${code})`));
    // Idle workers must not keep the process alive; `ref(true)` while runs are pending. After the
    // listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    return {
      post: (message) => worker.postMessage(message),
      terminate: () => void worker.terminate(),
      ref: (on) => (on ? worker.ref() : worker.unref()),
    };
  });
  return { workers, started: () => {} };
}
