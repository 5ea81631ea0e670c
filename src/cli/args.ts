/**
 * The command line of `dropgpu`: flags parsed and checked before any work starts (no MNIST read, no
 * backend opened), each problem reported as one line that names the flag as it was typed.
 */

/** A bad command line: `dropgpu` prints the message on one line and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** How a flag was given: its name (`--epochs`), its value, and how it was typed (`--epochs=-1`). */
export interface Given {
  readonly value: string;
  readonly typed: string;
}

export interface Parsed {
  readonly flags: ReadonlyMap<string, Given>;
  readonly positionals: readonly string[];
  readonly help: boolean;
}

/**
 * Parses `args` against `valueFlags` (which take a value: `--epochs 5` or `--epochs=5`) and
 * `switches` (which take none, e.g. `--no-autotune`). `-h`/`--help` anywhere asks for help.
 */
export function parseFlags(
  command: string,
  args: readonly string[],
  valueFlags: readonly string[],
  switches: readonly string[],
  maxPositionals: number,
): Parsed {
  const flags = new Map<string, Given>();
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (switches.includes(name)) {
      if (eq >= 0) throw new UsageError(`${command}: ${arg}: ${name} takes no value`);
      flags.set(name, { value: 'true', typed: arg });
      continue;
    }
    if (!valueFlags.includes(name)) {
      throw new UsageError(`${command}: unknown flag ${name} (dropgpu ${command} --help lists the flags)`);
    }
    if (eq >= 0) {
      flags.set(name, { value: arg.slice(eq + 1), typed: arg });
    } else {
      const value = args[i + 1];
      if (value === undefined) throw new UsageError(`${command}: ${name}: expected a value after it`);
      const shown = value === '' || /\s/.test(value) ? JSON.stringify(value) : value;
      flags.set(name, { value, typed: `${name} ${shown}` });
      i++;
    }
  }
  if (!help && positionals.length > maxPositionals) {
    const extra = positionals[maxPositionals] as string;
    throw new UsageError(`${command}: unexpected argument ${JSON.stringify(extra)}`);
  }
  return { flags, positionals, help };
}

/** Reads and checks the flags of one command, with messages naming each flag as typed. */
export class Flags {
  constructor(
    readonly command: string,
    readonly parsed: Parsed,
  ) {}

  #fail(name: string, expected: string): never {
    const given = this.parsed.flags.get(name);
    throw new UsageError(`${this.command}: ${given?.typed ?? name}: expected ${expected}`);
  }

  has(name: string): boolean {
    return this.parsed.flags.has(name);
  }

  string(name: string, fallback: string): string {
    return this.parsed.flags.get(name)?.value ?? fallback;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const value = this.string(name, fallback);
    if (!(choices as readonly string[]).includes(value))
      this.#fail(name, choices.join(', ').replace(/, ([^,]*)$/, ' or $1'));
    return value as T;
  }

  /** A finite number in the range `check` accepts (`expected` says which). */
  number(name: string, fallback: number, check: (x: number) => boolean, expected: string): number {
    const given = this.parsed.flags.get(name);
    if (!given) return fallback;
    const text = given.value.trim();
    const value = text === '' ? Number.NaN : Number(text);
    if (!Number.isFinite(value) || !check(value)) this.#fail(name, expected);
    return value;
  }

  /** An integer from `min` to `max`. */
  integer(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const expected =
      max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    return this.number(name, fallback, (x) => Number.isSafeInteger(x) && x >= min && x <= max, expected);
  }

  /** Comma-separated integers ≥ 1. */
  sizes(name: string, fallback: readonly number[], first: number, last: number): number[] {
    const given = this.parsed.flags.get(name);
    if (!given) return [...fallback];
    const sizes = given.value.split(',').map((s) => (s.trim() === '' ? Number.NaN : Number(s)));
    const expected = `comma-separated layer widths from ${first} (the MNIST pixels) to ${last} (the digits), e.g. ${first},256,${last}`;
    if (sizes.length < 2 || sizes.some((s) => !Number.isSafeInteger(s) || s < 1)) this.#fail(name, expected);
    if (sizes[0] !== first || sizes[sizes.length - 1] !== last) this.#fail(name, expected);
    return sizes;
  }
}
