// Progress for what a person waits on: a line on stderr before a step that can
// take more than about a second, and one after it with the time it took.
// Never on stdout, which carries results and --json. Lines, not a spinner:
// the slowest step, scrypt in the keystore, runs synchronously and blocks the
// event loop, so nothing could animate while it runs.
//
//   qkms node start: unlocking the keystore (scrypt, 128 MiB: a few seconds, …)…
//   qkms node start: keystore unlocked in 10.8 s

/** A wait shorter than this goes unannounced by whenSlow(): most answers come well within it. */
export const SLOW_NOTICE_MS = 1_000;

/**
 * What the keystore's key derivation costs, for the line before it: scrypt
 * N = 2^17, r = 8 (node/keystore.ts) uses 128 MiB; measured from 0.8 s on an
 * idle server core to 11 s on a busy shared one, so no single figure is honest
 * (and timing a small scrypt to predict it was off by 2-3x: JIT warm-up).
 */
export const SCRYPT_NOTE = 'scrypt, 128 MiB: a few seconds, more on a slow or busy machine';

export interface ProgressIo {
  readonly stderr: { write(text: string): unknown };
}

/** Injected so tests control time. */
export interface ProgressClock {
  /** Milliseconds, monotonic. Default performance.now. */
  readonly now?: () => number;
  readonly setTimeout?: (fn: () => void, ms: number) => unknown;
  readonly clearTimeout?: (handle: unknown) => void;
}

export interface StepText {
  /** Prefix of both lines: the command ("qkms node start"). */
  readonly prefix: string;
  /** What is starting, without the ellipsis: "unlocking the keystore". */
  readonly start: string;
  /** What is done, before " in 1.2 s": "keystore unlocked". */
  readonly done: string;
}

/** "420 ms", "1.2 s", "11 s". */
export function formatElapsed(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 10_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${Math.round(ms / 1_000)} s`;
}

/** Runs a synchronous step between its two lines. Nothing more is printed if it throws. */
export function stepSync<T>(
  io: ProgressIo,
  text: StepText,
  fn: () => T,
  clock: ProgressClock = {},
): T {
  const now = clock.now ?? (() => performance.now());
  io.stderr.write(`${text.prefix}: ${text.start}…\n`);
  const started = now();
  const result = fn();
  io.stderr.write(`${text.prefix}: ${text.done} in ${formatElapsed(now() - started)}\n`);
  return result;
}

/** Runs an asynchronous step between its two lines. Nothing more is printed if it rejects. */
export async function step<T>(
  io: ProgressIo,
  text: StepText,
  fn: () => Promise<T>,
  clock: ProgressClock = {},
): Promise<T> {
  const now = clock.now ?? (() => performance.now());
  io.stderr.write(`${text.prefix}: ${text.start}…\n`);
  const started = now();
  const result = await fn();
  io.stderr.write(`${text.prefix}: ${text.done} in ${formatElapsed(now() - started)}\n`);
  return result;
}

/**
 * Runs an asynchronous step that is usually quick: its first line appears only
 * once it has taken `afterMs`, and then the second one follows when it ends
 * (also when it fails: "… failed after 3.0 s").
 */
export async function whenSlow<T>(
  io: ProgressIo,
  text: StepText,
  fn: () => Promise<T>,
  options: ProgressClock & { readonly afterMs?: number } = {},
): Promise<T> {
  const now = options.now ?? (() => performance.now());
  const set = options.setTimeout ?? ((f: () => void, ms: number) => setTimeout(f, ms).unref());
  const clear =
    options.clearTimeout ??
    ((h: unknown) => {
      clearTimeout(h as ReturnType<typeof setTimeout>);
    });
  const started = now();
  const state = { announced: false };
  const timer = set(() => {
    state.announced = true;
    io.stderr.write(`${text.prefix}: ${text.start}…\n`);
  }, options.afterMs ?? SLOW_NOTICE_MS);
  let ok = false;
  try {
    const result = await fn();
    ok = true;
    return result;
  } finally {
    clear(timer);
    if (state.announced) {
      const took = formatElapsed(now() - started);
      io.stderr.write(
        ok ? `${text.prefix}: ${text.done} in ${took}\n` : `${text.prefix}: failed after ${took}\n`,
      );
    }
  }
}
