// Drivers for the quorum benchmarks: an operation run one call at a time, or by a fixed number
// of concurrent workers for a fixed time, each call's latency kept. Calls that throw are
// counted, not fatal, so a load that makes a node answer "busy" still reports.

/** One call; resolves when the operation has completed. */
export type Call = () => Promise<unknown>;

export interface LoadRun {
  /** Latency of every call that succeeded, ms, in completion order. */
  readonly latencies: number[];
  readonly errors: number;
  /** From the first call to the end of the last, ms. */
  readonly elapsedMs: number;
  /** The first error, for the progress line. */
  readonly firstError?: unknown;
}

/** Runs `call` `count` times, one after another. */
export async function sequential(count: number, call: Call): Promise<LoadRun> {
  return concurrent(1, { count }, call);
}

/**
 * `workers` loops calling `call` back to back until `count` calls have started (all workers
 * together) or `durationMs` has passed; a call started before the end runs to its end.
 */
export async function concurrent(
  workers: number,
  until: { readonly count?: number; readonly durationMs?: number },
  call: Call,
): Promise<LoadRun> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: unknown;
  let started = 0;
  const begin = performance.now();
  const deadline = begin + (until.durationMs ?? Number.POSITIVE_INFINITY);
  const count = until.count ?? Number.POSITIVE_INFINITY;
  const worker = async (): Promise<void> => {
    while (started < count && performance.now() < deadline) {
      started += 1;
      const t0 = performance.now();
      try {
        await call();
        latencies.push(performance.now() - t0);
      } catch (e) {
        errors += 1;
        firstError ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return {
    latencies,
    errors,
    elapsedMs: performance.now() - begin,
    ...(firstError === undefined ? {} : { firstError }),
  };
}
