/**
 * Pausing `fit` between runs of steps (`PauseController`), and the yield to the event loop that `fit`
 * makes before each run.
 */

/** Waits while `pause` is paused (for `fit`; set in `PauseController`'s static block). */
export let waitAtPause: (pause: PauseController, signal: AbortSignal | undefined) => Promise<void>;
/** Counts a fit as running under `pause` until the returned function is called. */
export let enrol: (pause: PauseController) => () => void;

/**
 * The pause control of `fit` (`FitOptions.pause`), like an AbortController that can be undone:
 * `pause()` makes every fit given this controller stop between two runs of steps, `resume()` lets them
 * go on where they stopped. `held()` says when the pause has taken effect.
 *
 * ```ts
 * const pause = new PauseController();
 * const training = fit(net, data, { epochs: 10, pause });
 * pause.pause();
 * await pause.held(); // the run in flight is done: nothing trains now
 * pause.resume();
 * await training;
 * ```
 */
export class PauseController {
  #paused = false;
  /** Fits running under this controller, and how many of them are waiting at the pause. */
  #running = 0;
  #waiting = 0;
  /** Called on resume (the waiting fits) and once every running fit waits (`held()`). */
  #onResume: (() => void)[] = [];
  #onHeld: (() => void)[] = [];

  static {
    waitAtPause = (pause, signal) => pause.#wait(signal);
    enrol = (pause) => {
      pause.#running++;
      return () => {
        pause.#running--;
        pause.#checkHeld();
      };
    };
  }

  /** Whether a pause is requested (it takes effect once the runs in flight are done: see `held`). */
  get paused(): boolean {
    return this.#paused;
  }

  /** Asks every fit under this controller to stop after its run of steps in flight. */
  pause(): void {
    this.#paused = true;
    this.#checkHeld();
  }

  /** Lets the paused fits go on. Does nothing when not paused. */
  resume(): void {
    this.#paused = false;
    const waiting = this.#onResume;
    this.#onResume = [];
    for (const wake of waiting) wake();
  }

  /**
   * Resolves once the pause has taken effect in a fit: every fit running under this controller (at
   * least one) waits at it, its run in flight done. If `resume()` comes first, it resolves at the next
   * pause that takes effect; while no fit runs under this controller it stays pending.
   */
  held(): Promise<void> {
    return new Promise((resolve) => {
      this.#onHeld.push(resolve);
      this.#checkHeld();
    });
  }

  #checkHeld(): void {
    if (!this.#paused || this.#running === 0 || this.#waiting < this.#running) return;
    const held = this.#onHeld;
    this.#onHeld = [];
    for (const resolve of held) resolve();
  }

  async #wait(signal: AbortSignal | undefined): Promise<void> {
    if (!this.#paused || signal?.aborted) return;
    this.#waiting++;
    try {
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.#onResume.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
        this.#checkHeld();
      });
    } finally {
      this.#waiting--;
    }
  }
}

/**
 * Lets the event loop run timers, messages and input (a macrotask, without setTimeout's clamp): on the
 * CPU and Wasm backends a run of steps is synchronous work, and an abort fired by a timer must be seen.
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    woken.push(resolve);
    wakeChannel().port2.postMessage(null);
  });
}

/** Resolvers of pending yields (browsers: no setImmediate), one per message in flight on one channel made once. */
const woken: (() => void)[] = [];
let channel: MessageChannel | undefined;

function wakeChannel(): MessageChannel {
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => woken.shift()?.();
  }
  return channel;
}
