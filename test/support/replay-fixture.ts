// Helpers for the replay guard's unit tests (node/replay-guard*.test.ts): a
// fixed clock origin, an owner, fresh pairs, and guards and stores that are
// stopped and closed after each test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, vi } from 'vitest';
import { ReplayGuard, type NonceStore } from '../../node/replay-guard.ts';
import { NodeStore } from '../../node/store/index.ts';
import { defaultSuite } from '../../protocol/internal.ts';

export const suite = defaultSuite();
export const T0 = 1_700_000_000_000;
/** An expiry well after T0: a pair that is live throughout a test. */
export const LIVE = T0 + 180_000;
export const OWNER = { wallet: new Uint8Array(20).fill(7), source: 'peer-a' };
/** The storage key of every store a test opens (so a test can reopen one). */
export const KEY = suite.randomBytes(32);

const cleanups: (() => Promise<void> | void)[] = [];

/** Call once per test file: after each test, real timers and mocks, then guards stopped and stores closed. */
export function useReplayCleanups(): void {
  afterEach(async () => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    for (const c of cleanups.splice(0).reverse()) await c();
  });
}

/** Registers `c` to run after the current test (last registered, first run). */
export function onCleanup(c: () => Promise<void> | void): void {
  cleanups.push(c);
}

/** A NodeStore at `path` (default: a fresh directory, removed after the test), closed after the test. */
export async function openStore(path?: string, storageKey = KEY): Promise<NodeStore> {
  const dir = path ?? mkdtempSync(join(tmpdir(), 'qkms-'));
  if (path === undefined) cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = await NodeStore.open({ path: dir, storageKey, suite });
  cleanups.push(() => store.close());
  return store;
}

export function pair(): { sessionKey: Uint8Array; nonce: Uint8Array } {
  return { sessionKey: suite.randomBytes(32), nonce: suite.randomBytes(16) };
}

/** A guard over `store`, stopped after the test; both clocks are `clock` unless `extra` says otherwise. */
export async function guardOn(
  store: NonceStore,
  clock: () => number = () => T0,
  extra: Partial<Parameters<typeof ReplayGuard.load>[0]> = {},
): Promise<ReplayGuard> {
  // Unless a test makes them differ, both clocks run together (no jump).
  const guard = await ReplayGuard.load({ store, clock, monotonic: clock, ...extra });
  cleanups.push(() => guard.stop());
  return guard;
}
