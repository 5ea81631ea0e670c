/**
 * The concurrency model of a net: its calls run one at a time, in the order they were made (training,
 * reads, snapshots, MC programs, parameter writes), so every read and snapshot sees one state and no
 * call's buffers change under another. A call made while others are pending is queued, not refused.
 * Loss reads of past steps are tracked too, so that dispose can wait for what is in flight.
 */
export class CallOrder {
  /** The last queued call. */
  #tail: Promise<void> = Promise.resolve();
  /** Calls queued or running, and loss reads in flight. */
  #busy = 0;
  readonly #waiting: (() => void)[] = [];

  /** Whether nothing is queued, running or being read. */
  get idle(): boolean {
    return this.#busy === 0;
  }

  /**
   * Runs `work` after every call made before it; `check` runs first, when its turn comes (a net
   * disposed meanwhile refuses the call).
   */
  serialize<T>(check: () => void, work: () => Promise<T>): Promise<T> {
    this.#busy++;
    const result = this.#tail.then(() => {
      check();
      return work();
    });
    this.#tail = result.then(
      () => this.#settle(),
      () => this.#settle(),
    );
    return result;
  }

  /**
   * Like `serialize`, for a read: `read` queues it on the device in the call's turn, and the turn ends
   * there, not when the values are back, so the next call (e.g. fit's next run of steps) reaches the
   * device while they travel. The read still sees the state at its place in the order.
   */
  serializeRead<T>(check: () => void, read: () => Promise<T>): Promise<T> {
    return this.serialize(check, async () => ({ values: this.track(read()) })).then(({ values }) => values);
  }

  /**
   * Runs `prepare` now (it checks and copies the call's arguments, so a caller's later change to them
   * cannot reach the call), then `work` on what it returned, in the call's turn; `check` runs at both.
   */
  checkThenSerialize<P, T>(
    check: () => void,
    prepare: () => P,
    work: (prepared: P) => Promise<T>,
  ): Promise<T> {
    let prepared: P;
    try {
      check();
      prepared = prepare();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.serialize(check, () => work(prepared));
  }

  /** A change of state (setParams, restore) that takes its place in the order: now if nothing is pending. */
  inOrder(check: () => void, apply: () => void): void {
    if (this.#busy === 0) {
      apply();
      return;
    }
    this.serialize(check, async () => apply()).catch(() => {
      // Refused because the net was disposed before its turn: there is nothing left to change.
    });
  }

  /** Counts `read` as in flight until it settles. */
  track<T>(read: Promise<T>): Promise<T> {
    this.#busy++;
    read.then(
      () => this.#settle(),
      () => this.#settle(),
    );
    return read;
  }

  /** Resolves once nothing is in flight. */
  whenIdle(): Promise<void> {
    return this.#busy === 0 ? Promise.resolve() : new Promise((resolve) => this.#waiting.push(resolve));
  }

  #settle(): void {
    this.#busy--;
    if (this.#busy === 0) for (const resolve of this.#waiting.splice(0)) resolve();
  }
}
