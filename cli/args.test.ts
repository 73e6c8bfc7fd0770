import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../protocol/index.ts';
import { parseArgs } from './args.ts';

const SPECS = { dir: 'string', json: 'boolean', listen: 'list' } as const;

describe('parseArgs', () => {
  it('reads --name VALUE, --name=VALUE, booleans, repeated lists and positionals', () => {
    expect(
      parseArgs(
        ['--dir', 'a b', 'pos', '--json', '--listen=/x', '--listen', '/y', '--', '--dir'],
        SPECS,
      ),
    ).toEqual({
      flags: { dir: 'a b', json: true, listen: ['/x', '/y'] },
      positionals: ['pos', '--dir'],
    });
  });

  it('returns only the flags that were given', () => {
    expect(parseArgs([], SPECS)).toEqual({ flags: {}, positionals: [] });
  });

  it('keeps an empty value given with =', () => {
    expect(parseArgs(['--dir='], SPECS).flags.dir).toBe('');
  });

  it('reads a one-letter spec as a short flag, -n VALUE, and -h as --help', () => {
    const specs = { n: 'string', help: 'boolean', dir: 'string' } as const;
    expect(parseArgs(['-n', '5', '-h'], specs)).toEqual({
      flags: { n: '5', help: true },
      positionals: [],
    });
    expect(() => parseArgs(['--n', '5'], specs)).toThrow(
      /^--n: unknown option \(it is spelled -n\)$/,
    );
    expect(() => parseArgs(['-n', '1', '-n', '2'], specs)).toThrow(/^-n: given more than once$/);
    expect(() => parseArgs(['-x'], specs)).toThrow(/^-x: unknown option \(.*-n, -h\)$/);
    expect(() => parseArgs(['-h'], SPECS)).toThrow(/^-h: unknown option/);
  });

  const bad: [string, string[], RegExp][] = [
    ['an unknown flag', ['--nope'], /^--nope: unknown option$/],
    ['a short flag', ['-d', 'x'], /^-d: unknown option/],
    ['a missing value', ['--dir'], /^--dir: expected a value$/],
    ['a value that is a flag', ['--dir', '--json'], /^--dir: expected a value$/],
    ['a single-valued flag twice', ['--dir', 'a', '--dir', 'b'], /^--dir: given more than once$/],
    ['a boolean twice', ['--json', '--json'], /^--json: given more than once$/],
    ['a boolean with a value', ['--json=false'], /^--json: takes no value$/],
    ['an inherited property name', ['--constructor', 'x'], /^--constructor: unknown option$/],
  ];
  it.each(bad)('refuses %s (INVALID_ARGUMENT naming the flag)', (_, argv, message) => {
    expect(() => parseArgs(argv, SPECS)).toThrow(
      expect.objectContaining({
        code: ErrorCode.INVALID_ARGUMENT,
        message: expect.stringMatching(message),
      }),
    );
  });
});
