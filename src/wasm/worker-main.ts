/**
 * The body of a Wasm pool worker (see pool.ts). pool.ts creates each worker from
 * `workerMain.toString()` (Node: `new Worker(code, { eval: true })`; browsers: a classic Worker from a
 * Blob URL), so the library needs no bundler worker plugin and the same text works from the TS sources
 * (vitest, vite-node) and from the minified build. Hence `workerMain` must be self-contained: it may
 * use globals (WebAssembly, Atomics) but no import, module-level constant or helper outside its body,
 * and only syntax that no build step rewrites into helper calls (no classes, no async). The messages
 * and the layout of the control words are described here as types, which are erased.
 *
 * Protocol. The main thread posts an `init` message; the worker instantiates the module on the shared
 * memory, answers `ready` and then never returns to its event loop while the pool works: it waits on
 * the control words (Atomics.wait) for run records that the main thread appends to a ring of words in
 * the control buffer, claims parts of every call of a record from a shared counter until none is left
 * (so a descheduled worker only delays the parts it holds), with a barrier between calls, and
 * the last worker to reach a record's final barrier counts the record done (Atomics.notify, which the
 * main thread sees through Atomics.waitAsync, or a `done` message where that is missing). A `reload`
 * record sends it back to its event loop to take a larger control buffer from a `control` message.
 */

/** Indices into the control Int32Array, chosen by pool.ts and sent in `init` (one source of truth). */
export interface ControlLayout {
  /** Records appended by the main thread (wrapping int32 count). */
  readonly submitted: number;
  /** Records completed by the workers (wrapping int32 count). */
  readonly done: number;
  /** Nonzero once the pool has failed: every waiter gives up. */
  readonly abort: number;
  /** Workers that have reached the current barrier. */
  readonly arrived: number;
  /** Barrier generation: bumped when the last worker arrives (or on abort), releasing the others. */
  readonly generation: number;
  /** Parts of the current call claimed so far (Atomics.add); the barrier's last arriver resets it. */
  readonly claimed: number;
  /** Nonzero: also post a `done` message per completed record (no Atomics.waitAsync on the main thread). */
  readonly message: number;
  /** Index of the ring's first word; the ring runs to the end of the buffer. */
  readonly ring: number;
}

/**
 * Record header words in the ring: `[count, step, (exportIndex, block, parts) × count]` or a marker.
 * `parts` > 0: that many parts, claimed by any worker; < 0: −parts parts, all run by the first worker
 * to claim (a call too small to be worth sharing).
 */
export const RECORD_WRAP = -1;
export const RECORD_RELOAD = -2;

export interface InitMessage {
  readonly type: 'init';
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly exportNames: readonly string[];
  readonly control: SharedArrayBuffer;
  readonly layout: ControlLayout;
  /** Workers that meet at each barrier. */
  readonly workers: number;
  /** Atomics.load polls before Atomics.wait at a barrier. */
  readonly spin: number;
  /** The same between runs, waiting for the next record. */
  readonly idleSpin: number;
}

export interface ControlMessage {
  readonly type: 'control';
  readonly control: SharedArrayBuffer;
}

export type ToWorker = InitMessage | ControlMessage;

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'done' }
  | {
      readonly type: 'error';
      readonly message: string;
      /** The export that threw, with the call's index in its run; absent for a setup failure. */
      readonly exportName?: string;
      readonly call?: number;
      /** The part that threw, of how many. */
      readonly part?: number;
      readonly parts?: number;
    };

/**
 * The worker. `post` sends a message to the main thread; `listen` registers the handler for messages
 * from it (pool.ts adapts Node's `parentPort` and a Web Worker's `self` to these).
 */
export function workerMain(
  post: (message: FromWorker) => void,
  listen: (handler: (message: ToWorker) => void) => void,
): void {
  let fns: ((block: number, step: number, part: number, parts: number) => void)[] = [];
  let names: readonly string[] = [];
  let control: Int32Array<ArrayBufferLike> = new Int32Array(0);
  let layout: ControlLayout | undefined;
  // No worker has parts of its own: they are claimed, so only the count of workers is needed.
  let workers = 1;
  let spin = 0;
  let idleSpin = 0;
  // Position of the next record in the ring, and records taken so far: the same on every worker.
  let position = 0;
  let seen = 0;

  /** Waits at the barrier; false once the pool has failed. `last`: the record's final barrier. */
  function barrier(c: Int32Array, l: ControlLayout, last: boolean): boolean {
    // Read the generation before arriving: the last arriver bumps it only after every arrival.
    const generation = Atomics.load(c, l.generation);
    if (Atomics.add(c, l.arrived, 1) === workers - 1) {
      Atomics.store(c, l.arrived, 0);
      // Every worker has made its last (failed) claim of this call: none reads the counter before the
      // generation moves.
      Atomics.store(c, l.claimed, 0);
      if (last) {
        Atomics.add(c, l.done, 1);
        Atomics.notify(c, l.done);
        if (Atomics.load(c, l.message) !== 0) post({ type: 'done' });
      }
      Atomics.add(c, l.generation, 1);
      Atomics.notify(c, l.generation);
      return true;
    }
    // Spin first: a futex wake costs several µs, most barriers are crossed in well under one.
    for (let i = 0; i < spin && Atomics.load(c, l.generation) === generation; i++);
    // The abort check too: a worker that arrives after another has failed may read the generation
    // the failure bumped; `abort` was set before that bump.
    while (Atomics.load(c, l.generation) === generation && Atomics.load(c, l.abort) === 0) {
      Atomics.wait(c, l.generation, generation);
    }
    return Atomics.load(c, l.abort) === 0;
  }

  /** Runs records until a reload record (returns to the event loop) or a failure. */
  function work(): void {
    const c = control;
    const l = layout as ControlLayout;
    const ring = l.ring;
    const capacity = c.length - ring;
    let call = -1;
    let count = 0;
    let at = 0;
    let claim = 0;
    let of = 0;
    try {
      for (;;) {
        if (Atomics.load(c, l.submitted) === seen) {
          for (let i = 0; i < idleSpin && Atomics.load(c, l.submitted) === seen; i++);
          while (Atomics.load(c, l.submitted) === seen && Atomics.load(c, l.abort) === 0) {
            Atomics.wait(c, l.submitted, seen);
          }
        }
        if (Atomics.load(c, l.abort) !== 0) return;
        seen = (seen + 1) | 0;
        at = position;
        if (at >= capacity || c[ring + at] === -1) at = 0; // RECORD_WRAP
        count = c[ring + at] as number;
        if (count === -2) return; // RECORD_RELOAD: the `control` message is already queued
        const step = c[ring + at + 1] as number;
        position = at + 2 + 3 * count;
        for (call = 0; call < count; call++) {
          const word = ring + at + 2 + 3 * call;
          const fn = fns[c[word] as number] as (typeof fns)[number];
          const callBlock = c[word + 1] as number;
          of = c[word + 2] as number;
          if (of < 0) {
            of = -of;
            if (Atomics.add(c, l.claimed, 1) === 0) {
              for (claim = 0; claim < of; claim++) fn(callBlock, step, claim, of);
            }
          } else {
            for (claim = Atomics.add(c, l.claimed, 1); claim < of; claim = Atomics.add(c, l.claimed, 1)) {
              fn(callBlock, step, claim, of);
            }
          }
          if (!barrier(c, l, call === count - 1)) return;
        }
        call = -1;
        if (count === 0 && !barrier(c, l, true)) return;
      }
    } catch (error) {
      // Release every other worker (they see `abort` when the generation moves), then report.
      Atomics.store(c, l.abort, 1);
      Atomics.add(c, l.generation, 1);
      Atomics.notify(c, l.generation);
      Atomics.notify(c, l.submitted);
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      if (call >= 0) {
        post({
          type: 'error',
          message,
          exportName: names[c[ring + at + 2 + 3 * call] as number] ?? '?',
          call,
          part: claim,
          parts: of,
        });
      } else {
        post({ type: 'error', message });
      }
    }
  }

  listen((message) => {
    if (message.type === 'control') {
      control = new Int32Array(message.control);
      position = 0;
      seen = 0;
      work();
      return;
    }
    try {
      const instance = new WebAssembly.Instance(message.module, { env: { memory: message.memory } });
      names = message.exportNames;
      fns = names.map((name) => {
        const fn = instance.exports[name];
        if (typeof fn !== 'function') throw new Error(`the module exports no function ${name}`);
        return fn as (typeof fns)[number];
      });
    } catch (error) {
      post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
      return;
    }
    control = new Int32Array(message.control);
    layout = message.layout;
    workers = message.workers;
    spin = message.spin;
    idleSpin = message.idleSpin;
    post({ type: 'ready' });
    work();
  });
}
