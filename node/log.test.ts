import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, QkmsError, requireNativeSuite, toHex } from '../protocol/index.ts';
import {
  MAX_LOG_STRING_CHARS,
  createFingerprinter,
  createLogger,
  deriveFingerprintKey,
  errorContext,
  silentLogger,
  type LogContext,
  type LogLevel,
  type LoggerOptions,
} from './log.ts';

const NOW = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

function capture(options: Omit<LoggerOptions, 'sink' | 'now'> = {}) {
  const lines: string[] = [];
  const logger = createLogger({
    ...options,
    now: () => NOW,
    sink: { write: (line: string) => lines.push(line) },
  });
  const parsed = (): Record<string, unknown>[] =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, parsed };
}

describe('createLogger', () => {
  it('writes one JSON object per line with t, level, msg and the context', () => {
    const { logger, lines, parsed } = capture();
    logger.info('recover served', { peer: 'fp:0011', ms: 12, ok: true, none: null });
    logger.warn('peer slow');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
    }
    expect(parsed()).toEqual([
      {
        t: '2025-01-02T03:04:05.678Z',
        level: 'info',
        msg: 'recover served',
        peer: 'fp:0011',
        ms: 12,
        ok: true,
        none: null,
      },
      { t: '2025-01-02T03:04:05.678Z', level: 'warn', msg: 'peer slow' },
    ]);
    expect(Object.keys(parsed()[0] ?? {}).slice(0, 3)).toEqual(['t', 'level', 'msg']);
  });

  const levels: LogLevel[] = ['debug', 'info', 'warn', 'error'];
  it.each(levels)('at level %s, drops exactly the lines below it', (level) => {
    const { logger, parsed } = capture({ level });
    for (const l of levels) logger[l]('x');
    expect(parsed().map((p) => p.level)).toEqual(levels.slice(levels.indexOf(level)));
  });

  it('defaults to level info', () => {
    const { logger, parsed } = capture();
    logger.debug('hidden');
    logger.info('shown');
    expect(parsed().map((p) => p.msg)).toEqual(['shown']);
  });

  it('refuses an unknown level', () => {
    expect(() => createLogger({ level: 'trace' as LogLevel })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
  });

  it('child loggers add bindings; a line’s own context wins; the level is inherited', () => {
    const { logger, parsed } = capture({ level: 'info', bindings: { node: 1 } });
    const child = logger.child({ subsystem: 'network', peer: 'a' }).child({ proto: 'recover' });
    child.info('stream opened', { peer: 'b' });
    child.debug('dropped');
    expect(parsed()).toEqual([
      expect.objectContaining({
        node: 1,
        subsystem: 'network',
        proto: 'recover',
        peer: 'b',
        msg: 'stream opened',
      }),
    ]);
  });

  it('a context key named t, level or msg cannot overwrite the line’s own fields', () => {
    const { logger, parsed } = capture();
    logger.error('real', { t: 'fake', level: 'debug', msg: 'fake' });
    expect(parsed()[0]).toMatchObject({
      level: 'error',
      msg: 'real',
      ctx_t: 'fake',
      ctx_level: 'debug',
      ctx_msg: 'fake',
    });
  });

  it('bytes smuggled past the type are replaced, never serialized', () => {
    const { logger, lines } = capture();
    const key = Uint8Array.from({ length: 32 }, (_, i) => i + 100);
    logger.info('oops', { key } as unknown as LogContext);
    logger.info('oops', { nested: { key } } as unknown as LogContext);
    expect(lines.join('')).not.toContain(toHex(key));
    expect(lines.join('')).not.toContain('"100"');
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ key: '[unloggable]' });
  });

  it('undefined values are omitted; non-finite numbers become strings; long strings are clipped', () => {
    const { logger, parsed } = capture();
    logger.info('m', {
      gone: undefined,
      inf: Number.POSITIVE_INFINITY,
      long: 'x'.repeat(5000),
    });
    const line = parsed()[0] ?? {};
    expect('gone' in line).toBe(false);
    expect(line.inf).toBe('Infinity');
    expect((line.long as string).length).toBe(MAX_LOG_STRING_CHARS + 1);
  });

  it('a newline in a value cannot start a forged line', () => {
    const { logger, lines } = capture();
    logger.info('m', { user: 'a\n{"level":"error","msg":"forged"}' });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.split('\n')).toHaveLength(2);
  });

  it('a failing sink never throws into the caller', () => {
    const logger = createLogger({
      sink: {
        write: () => {
          throw new Error('EPIPE');
        },
      },
    });
    expect(() => {
      logger.error('m');
    }).not.toThrow();
  });

  it('silentLogger drops everything', () => {
    expect(() => {
      silentLogger.child({ a: 1 }).error('m');
    }).not.toThrow();
  });

  it('errorContext gives the code and message of a QkmsError, the name of any other error', () => {
    expect(errorContext(new QkmsError(ErrorCode.STORE_CORRUPT, 'record 4: bad tag'))).toEqual({
      err: 'STORE_CORRUPT',
      errMsg: 'record 4: bad tag',
    });
    expect(errorContext(new TypeError('x'))).toEqual({ err: 'TypeError', errMsg: 'x' });
    expect(errorContext('str')).toEqual({ err: 'string' });
  });
});

describe('createFingerprinter', () => {
  const keyA = new Uint8Array(32).fill(1);
  const keyB = new Uint8Array(32).fill(2);
  const wallet = Uint8Array.from({ length: 20 }, (_, i) => i * 7);

  it('is "fp:" and 16 hex characters, stable for one key', () => {
    const fp = createFingerprinter(keyA);
    expect(fp(wallet)).toMatch(/^fp:[0-9a-f]{16}$/);
    expect(fp(wallet)).toBe(fp(wallet));
    expect(createFingerprinter(keyA.slice())(wallet)).toBe(fp(wallet));
  });

  it('differs across keys and across inputs', () => {
    expect(createFingerprinter(keyA)(wallet)).not.toBe(createFingerprinter(keyB)(wallet));
    const fp = createFingerprinter(keyA);
    expect(fp(wallet)).not.toBe(fp(wallet.subarray(1)));
    expect(fp(new Uint8Array(0))).toMatch(/^fp:[0-9a-f]{16}$/);
  });

  it('is not a plain hash of the input: never contains the input hex (property)', () => {
    const fp = createFingerprinter(keyA);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), (bytes) => {
        const out = fp(bytes);
        return !out.includes(toHex(bytes)) && !out.includes(toHex(bytes.subarray(0, 8)));
      }),
    );
  });

  it('copies its key: wiping the caller’s copy changes nothing', () => {
    const key = keyA.slice();
    const fp = createFingerprinter(key);
    const before = fp(wallet);
    key.fill(0);
    expect(fp(wallet)).toBe(before);
  });

  it.each([0, 8, 15])('refuses a %i-byte key', (n) => {
    expect(() => createFingerprinter(new Uint8Array(n))).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_LENGTH }),
    );
  });

  it('deriveFingerprintKey is deterministic per storage key and differs across nodes', () => {
    const suite = requireNativeSuite();
    const a = deriveFingerprintKey(suite, new Uint8Array(32).fill(9));
    expect(a).toHaveLength(32);
    expect(deriveFingerprintKey(suite, new Uint8Array(32).fill(9))).toEqual(a);
    expect(deriveFingerprintKey(suite, new Uint8Array(32).fill(8))).not.toEqual(a);
    expect(toHex(a)).not.toBe(toHex(new Uint8Array(32).fill(9)));
  });
});
