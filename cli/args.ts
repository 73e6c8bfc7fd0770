// The one flag parser of the qkms commands. Long flags: `--name VALUE`,
// `--name=VALUE`, boolean `--name`, and `--` ending the flags; a one-letter
// name in the specs is a short flag, `-n VALUE` (as tail(1) spells it); `-h`
// is `--help`. Strict where node:util's parseArgs is lenient: a single-valued
// flag given twice is an error (not "last one wins"), a value that looks like
// a flag is refused (`--dir --json` is a forgotten value, not a directory
// named "--json"), and every error names the flag. Errors are usage errors
// (QkmsError INVALID_ARGUMENT): exit code 2.
import { usageError as usage, type FlagKind, type FlagSpecs } from './io.ts';

export type { FlagKind, FlagSpecs } from './io.ts';

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

/** The spec name of a short flag `-x`, or undefined if the specs have none. */
function shortName(letter: string, specs: FlagSpecs): string | undefined {
  if (Object.hasOwn(specs, letter)) return letter;
  if (letter === 'h' && specs.help === 'boolean') return 'help';
  return undefined;
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
    let name: string | undefined;
    let inline: string | undefined;
    const flag = arg.startsWith('--') ? arg.replace(/=.*$/s, '') : arg;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = arg.slice(2, eq === -1 ? undefined : eq);
      if (eq !== -1) inline = arg.slice(eq + 1);
      if (name.length === 1 && Object.hasOwn(specs, name))
        throw usage(`${flag}: unknown option (it is spelled -${name})`);
      if (name.length <= 1 || !Object.hasOwn(specs, name)) throw usage(`${flag}: unknown option`);
    } else if (arg.startsWith('-') && arg !== '-') {
      name = arg.length === 2 ? shortName(arg.slice(1), specs) : undefined;
      if (name === undefined) throw usage(`${arg}: unknown option (${shortList(specs)})`);
    } else {
      positionals.push(arg);
      continue;
    }
    const kind = specs[name];
    if (kind === 'boolean') {
      if (inline !== undefined) throw usage(`${flag}: takes no value`);
      if (flags.has(name)) throw usage(`${flag}: given more than once`);
      flags.set(name, true);
      continue;
    }
    let value: string;
    if (inline !== undefined) {
      value = inline;
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

/** The short flags a command takes, for the refusal of another one. */
function shortList(specs: FlagSpecs): string {
  const short = Object.keys(specs)
    .filter((n) => n.length === 1)
    .map((n) => `-${n}`);
  if (specs.help === 'boolean' && !Object.hasOwn(specs, 'h')) short.push('-h');
  return short.length === 0
    ? 'options are long: --name'
    : `options are long, --name, except ${short.join(', ')}`;
}
