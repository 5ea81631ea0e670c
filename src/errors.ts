/**
 * The library's error types. Every error a user can trigger by passing something wrong is an
 * {@link ArgumentError} that names the argument, says what was expected and what was given, and is
 * thrown before any work starts, so the net is left exactly as it was.
 */

/** Base class of every error dropgpu throws on purpose. */
export class DropgpuError extends Error {
  override name = 'DropgpuError';
}

/** An argument that does not meet its contract. `argument` names it, e.g. `"x"` or `"spec.sizes[2]"`. */
export class ArgumentError extends DropgpuError {
  override name = 'ArgumentError';
  constructor(
    readonly argument: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(`${argument}: expected ${expected}, got ${got}`);
  }
}

/** A method was called on a net (or backend) after `dispose()`. */
export class DisposedError extends DropgpuError {
  override name = 'DisposedError';
  constructor(what: string) {
    super(`${what} has been disposed; compile a new one`);
  }
}

/** WebGPU was asked for but no adapter or device could be had. */
export class WebGpuUnavailableError extends DropgpuError {
  override name = 'WebGpuUnavailableError';
}

/** A kernel failed to compile or validate on the device; `op` names it. */
export class KernelCompileError extends DropgpuError {
  override name = 'KernelCompileError';
  constructor(
    readonly op: string,
    readonly messages: string[],
  ) {
    super(`${op}: ${messages.join('; ')}`);
  }
}

/**
 * Throws ArgumentError naming `argument` when `value` is a revoked Proxy, which throws a TypeError at
 * any touch: the checks call this on a caller's objects before they read them.
 */
export function checkNotRevoked(argument: string, value: unknown): void {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return;
  try {
    Array.isArray(value); // throws only for a revoked Proxy
  } catch {
    throw new ArgumentError(argument, 'an object that can be read', 'a revoked Proxy');
  }
}

/** Short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n (a bigint)`;
  if (ArrayBuffer.isView(value)) {
    // The type from the object's tag, not its `constructor` property, which a caller can change.
    const type = Object.prototype.toString.call(value).slice(8, -1);
    const length = 'length' in value ? (value as { length: unknown }).length : value.byteLength;
    return `${type} of length ${typeof length === 'number' ? length : describe(length)}`;
  }
  if (Array.isArray(value)) return `array of length ${value.length}`;
  return typeof value;
}

/**
 * The GPU device was lost after it was set up (driver reset, another tab, sleep). Training can go on
 * from the last parameters read back, on a new backend.
 */
export class DeviceLostError extends DropgpuError {
  override name = 'DeviceLostError';
  /**
   * Set by `fit`: the last checkpoint it took before the loss. Pass it as `fit`'s `resume` option with
   * a net compiled on a new backend to continue exactly where that checkpoint was taken.
   */
  checkpoint?: unknown;
}

/**
 * The GPU reported an error outside any call's own checks: a validation error (a kernel or buffer use
 * the device refused: a bug in dropgpu or in code sharing the device) or running out of memory. The
 * device is not lost, but the work submitted with the error did not run, so the backend refuses every
 * later call; the message says what happened and names the GPU object by its label.
 */
export class GpuValidationError extends DropgpuError {
  override name = 'GpuValidationError';
}

/**
 * Validate mode found a node whose GPU output differs from the CPU reference beyond the op's
 * tolerance, given the same inputs. Names the node, op, shape, first bad index and both values.
 */
export class ValidationError extends DropgpuError {
  override name = 'ValidationError';
}

/**
 * A data file (IDX, or anything else read from bytes) is not what it claims to be: bad magic, a header
 * that lies about its sizes, truncated data, trailing bytes, or a fetch that failed. `file` names it
 * (a path, a URL, or a role like `"train images"`).
 */
export class DataFormatError extends DropgpuError {
  override name = 'DataFormatError';
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(`${file}: expected ${expected}, got ${got}`);
  }
}

/**
 * A safetensors model file that is malformed, truncated, or lies about its contents (docs/contracts.md, "Errors"). `part`
 * names where in the file, e.g. `"header length"` or `'tensor "layers.0.weight" data_offsets'`.
 */
export class ModelFileError extends DropgpuError {
  override name = 'ModelFileError';
  constructor(
    readonly part: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(`safetensors ${part}: expected ${expected}, got ${got}`);
  }
}

/**
 * A training step's loss was NaN or infinite. `step` is the first such step; the optimizers skipped
 * that step's update and every one after it, so the parameters are those from before `step`.
 */
export class NonFiniteLossError extends DropgpuError {
  override name = 'NonFiniteLossError';
  constructor(readonly step: number) {
    super(
      `the loss of training step ${step} was not finite (NaN or ±Infinity); the parameters are kept from ` +
        'before that step. Lower the learning rate, add maxNorm, or check the inputs.',
    );
  }
}

/**
 * The Wasm backend failed: a kernel trapped (e.g. an out-of-bounds access), a worker could not start
 * or exited, or the pool was disposed. The pool is unusable afterwards (the shared memory may hold a
 * half-finished run); every later run rejects with the same error.
 */
export class WasmWorkerError extends DropgpuError {
  override name = 'WasmWorkerError';
  constructor(
    readonly reason: string,
    /** The export whose call failed, where known. */
    readonly exportName?: string,
  ) {
    super(`Wasm backend: ${reason}`);
  }
}
