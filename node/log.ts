// Structured logs of the node: one JSON object per line,
//   {"t":"<ISO 8601>","level":"info","msg":"<constant string>", ...context}
// Messages are constant strings (grep-able, countable); everything variable
// goes in the context, whose type admits only strings, numbers, booleans and
// null — not Uint8Array — so key bytes, shares or CEKs cannot be logged by
// accident. A wallet, content id or session key is logged as a short KEYED
// fingerprint (createFingerprinter): stable within one node, so its lines
// correlate, yet useless for finding the identifier without the key.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ErrorCode, QkmsError, type CryptoSuite, utf8 } from '../protocol/internal.ts';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/** A value a log line may carry. No Uint8Array, no objects: bytes are fingerprinted, never logged. */
export type LogValue = string | number | boolean | null | undefined;
export type LogContext = Readonly<Record<string, LogValue>>;

export interface Logger {
  debug(msg: string, context?: LogContext): void;
  info(msg: string, context?: LogContext): void;
  warn(msg: string, context?: LogContext): void;
  error(msg: string, context?: LogContext): void;
  /** A logger that adds `bindings` to every line (a line's own context wins on a clash). */
  child(bindings: LogContext): Logger;
}

/** Where lines go; process.stderr fits. Each call receives one complete line ending in "\n". */
export interface LogSink {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** Lines below this level are dropped. Default 'info'. */
  readonly level?: LogLevel;
  /** Default process.stderr (stdout stays free for command output). */
  readonly sink?: LogSink;
  /** Milliseconds since the epoch; injected so tests are deterministic. Default Date.now. */
  readonly now?: () => number;
  /** Context added to every line. */
  readonly bindings?: LogContext;
}

/** Characters kept of one string value or message: a log line stays a line, not a dump. */
export const MAX_LOG_STRING_CHARS = 1024;
/** Field names the line itself uses; a context key with one of these names is written as `ctx_<name>`. */
const RESERVED_FIELDS: ReadonlySet<string> = new Set(['t', 'level', 'msg']);
const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

function clip(s: string): string {
  return s.length <= MAX_LOG_STRING_CHARS ? s : `${s.slice(0, MAX_LOG_STRING_CHARS)}…`;
}

/**
 * The type already excludes bytes and objects; this is the run-time backstop for
 * values that got past it through a cast: anything not a primitive is replaced,
 * never serialized.
 */
function sanitize(value: unknown): string | number | boolean | null | undefined {
  switch (typeof value) {
    case 'string':
      return clip(value);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      return value.toString();
    default:
      return value === null ? null : '[unloggable]';
  }
}

function addContext(line: Record<string, unknown>, context: LogContext | undefined): void {
  if (context === undefined) return;
  for (const [key, value] of Object.entries(context)) {
    line[RESERVED_FIELDS.has(key) ? `ctx_${key}` : key] = sanitize(value);
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  if (!isLogLevel(level)) {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      `level: expected one of ${LOG_LEVELS.join(', ')}, got ${typeof level}`,
    );
  }
  const sink = options.sink ?? process.stderr;
  const now = options.now ?? Date.now;
  const threshold = RANK[level];

  function make(bindings: LogContext): Logger {
    function emit(lineLevel: LogLevel, msg: string, context: LogContext | undefined): void {
      if (RANK[lineLevel] < threshold) return;
      const line: Record<string, unknown> = {
        t: new Date(now()).toISOString(),
        level: lineLevel,
        msg: typeof msg === 'string' ? clip(msg) : '[non-string msg]',
      };
      addContext(line, bindings);
      addContext(line, context);
      try {
        sink.write(`${JSON.stringify(line)}\n`);
      } catch {
        // Logging never takes the node down: a broken sink loses lines, not requests.
      }
    }
    return {
      debug: (msg, context) => {
        emit('debug', msg, context);
      },
      info: (msg, context) => {
        emit('info', msg, context);
      },
      warn: (msg, context) => {
        emit('warn', msg, context);
      },
      error: (msg, context) => {
        emit('error', msg, context);
      },
      child: (more) => make({ ...bindings, ...more }),
    };
  }
  return make(options.bindings ?? {});
}

/** A logger that drops everything (for tests and tools that want no output). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/**
 * Context fields for a caught error: its QkmsError code (or error name) and its
 * message, clipped. QkmsError messages name fields, types and lengths, never
 * content (protocol/errors.ts).
 */
export function errorContext(e: unknown): LogContext {
  if (e instanceof QkmsError) return { err: e.code, errMsg: e.message };
  if (e instanceof Error) return { err: e.name, errMsg: e.message };
  return { err: typeof e };
}

// ---------------------------------------------------------------------------
// Keyed fingerprints

/**
 * Domain separation for fingerprints and for deriving their key. Local to the
 * node (neither is a hash or signature another party checks); they belong in
 * protocol/domain-tags.ts when that file next changes.
 */
const FINGERPRINT_TAG = utf8('qkms/v1/log-fingerprint\0');
const FINGERPRINT_KEY_INFO = utf8('qkms/v1/log-fingerprint-key\0');
/** 8 bytes = 64 bits: collisions among a node's few million identifiers are negligible, and 16 hex chars stay readable. */
export const FINGERPRINT_BYTES = 8;
/** A fingerprint key shorter than 128 bits could be searched, exposing the identifiers. */
export const MIN_FINGERPRINT_KEY_BYTES = 16;
export const FINGERPRINT_PREFIX = 'fp:';

/**
 * `(bytes) => "fp:" + hex(first 8 bytes of HMAC-SHA256(key, tag || bytes))`.
 * Without the key, a fingerprint says nothing about the identifier, so even a
 * 20-byte wallet address cannot be found by hashing candidates. The key is
 * copied; the caller may wipe its own copy.
 */
export function createFingerprinter(key: Uint8Array): (bytes: Uint8Array) => string {
  if (!(key instanceof Uint8Array) || key.length < MIN_FINGERPRINT_KEY_BYTES) {
    throw new QkmsError(
      ErrorCode.INVALID_LENGTH,
      `key: expected a Uint8Array of at least ${MIN_FINGERPRINT_KEY_BYTES} bytes, got ${key instanceof Uint8Array ? `${key.length} bytes` : typeof key}`,
    );
  }
  const keyed = hmac.create(sha256, key.slice()).update(FINGERPRINT_TAG);
  return (bytes) => {
    if (!(bytes instanceof Uint8Array)) {
      throw new QkmsError(
        ErrorCode.INVALID_ARGUMENT,
        `bytes: expected Uint8Array, got ${typeof bytes}`,
      );
    }
    const mac = keyed.clone().update(bytes).digest();
    let hex = FINGERPRINT_PREFIX;
    for (let i = 0; i < FINGERPRINT_BYTES; i++) hex += (mac[i] ?? 0).toString(16).padStart(2, '0');
    return hex;
  };
}

/**
 * A node's fingerprint key, derived from its storage key (HKDF-SHA256 with its
 * own info string), so it survives restarts without another secret on disk and
 * differs between nodes: one node's logs cannot be joined with another's.
 */
export function deriveFingerprintKey(suite: CryptoSuite, storageKey: Uint8Array): Uint8Array {
  return suite.hkdfSha256(storageKey, new Uint8Array(0), FINGERPRINT_KEY_INFO, 32);
}
