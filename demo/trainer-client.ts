/**
 * The page's side of the training worker: starts it, sends commands, and matches each request to its
 * reply (by id). Events go to the `onEvent` callback.
 */
import type { ErrorInfo, FromWorker, Replies, ToWorker, WorkerEvent } from './protocol.js';

/** An error thrown in the worker, with its name and message. */
export class WorkerError extends Error {
  readonly expected: boolean;
  constructor(info: ErrorInfo) {
    super(info.message);
    this.name = info.name;
    this.expected = info.expected;
  }
}

type Command = Exclude<ToWorker, { id: number }>;
type Request = Extract<ToWorker, { id: number }>;
type RequestBody<K extends Request['type']> = Omit<Extract<Request, { type: K }>, 'type' | 'id'>;

export class TrainerClient {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  #nextId = 1;

  constructor(onEvent: (message: WorkerEvent) => void) {
    this.#worker = new Worker(new URL('./trainer.worker.ts', import.meta.url), {
      type: 'module',
      name: 'dropgpu-trainer',
    });
    this.#worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      if (message.type !== 'reply') return onEvent(message);
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error) pending?.reject(new WorkerError(message.error));
      else pending?.resolve(message.value);
    };
    this.#worker.onerror = (event) => {
      onEvent({
        type: 'init-failed',
        error: {
          name: 'WorkerError',
          message: event.message || 'the training worker failed',
          expected: false,
        },
      });
    };
  }

  send(command: Command): void {
    this.#worker.postMessage(command);
  }

  request<K extends Request['type'] & keyof Replies>(
    type: K,
    body: RequestBody<K>,
    transfer: Transferable[] = [],
  ): Promise<Replies[K]> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#worker.postMessage({ type, id, ...body }, transfer);
    });
  }
}
