// A small, strict command-line flag parser for the qkms commands. Long flags
// only: `--name VALUE`, `--name=VALUE`, boolean `--name`, and `--` ending the
// flags. Strict where node:util's parseArgs is lenient: a single-valued flag
// given twice is an error (not "last one wins"), a value that looks like a
// flag is refused (`--dir --json` is a forgotten value, not a directory named
// "--json"), and every error names the flag. Errors are QkmsError
// INVALID_ARGUMENT: a usage error, exit code 2.
import { ErrorCode, QkmsError } from '../protocol/index.ts';

export type FlagKind = 'string' | 'boolean' | 'list';

/** Flag name (without the leading dashes) → its kind. */
export type FlagSpecs = Readonly<Record<string, FlagKind>>;

export type FlagValue<K extends FlagKind> = K extends 'string'
  ? string
  : K extends 'boolean'
    ? true
    : readonly string[];

export interface ParsedArgs<S extends FlagSpecs> {
  /** Only the flags that were given. */
  readonly flags: { readonly [N in keyof S]?: FlagValue<S[N]> };
  readonly positionals: readonly string[];
}

function usage(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, message);
}

/** Parses `argv` against `specs`; throws INVALID_ARGUMENT naming the flag on any misuse. */
export function parseArgs<const S extends FlagSpecs>(
  argv: readonly string[],
  specs: S,
): ParsedArgs<S> {
  const flags = new Map<string, string | true | string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg !== '-') {
        throw usage(`${arg}: unknown option (options are long: --name)`);
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const flag = `--${name}`;
    const kind = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (kind === undefined) throw usage(`${flag}: unknown option`);
    if (kind === 'boolean') {
      if (eq !== -1) throw usage(`${flag}: takes no value`);
      if (flags.has(name)) throw usage(`${flag}: given more than once`);
      flags.set(name, true);
      continue;
    }
    let value: string;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw usage(`${flag}: expected a value`);
      value = next;
      i++;
    }
    if (kind === 'string') {
      if (flags.has(name)) throw usage(`${flag}: given more than once`);
      flags.set(name, value);
    } else {
      const list = flags.get(name);
      if (Array.isArray(list)) list.push(value);
      else flags.set(name, [value]);
    }
  }
  return {
    flags: Object.fromEntries(flags) as ParsedArgs<S>['flags'],
    positionals,
  };
}
