// Waiting under an AbortSignal: every wait of the client takes one.

/** Resolves or rejects like `promise`, or rejects with `signal.reason` once the signal aborts. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The promise keeps running; observe it so a later rejection is not unhandled.
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  const { promise: aborted, reject } = Promise.withResolvers<never>();
  const onAbort = (): void => {
    reject(signal.reason as Error);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return Promise.race([promise, aborted]).finally(() => {
    signal.removeEventListener('abort', onAbort);
  });
}

/** A promise that resolves (never rejects) with `value` when `signal` aborts, and a way to stop listening. */
export function whenAborted<T>(
  signal: AbortSignal,
  value: T,
): { readonly promise: Promise<T>; dispose(): void } {
  const { promise, resolve } = Promise.withResolvers<T>();
  const onAbort = (): void => {
    resolve(value);
  };
  if (signal.aborted) resolve(value);
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    promise,
    dispose: () => {
      signal.removeEventListener('abort', onAbort);
    },
  };
}
