// What the e2e tests of access conditions share: the nodes' chain flags, a
// recover as text (who admitted, who refused with what), and waiting for a
// change on chain to reach the nodes within a bound.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { RecoverError, type QuorumClient, type Session } from '../../client/index.ts';
import type { ErrorCode, Manifest } from '../../protocol/internal.ts';

export const CHAIN_ID = 31337;
export const POLL_MS = 100;
export const FRESHNESS_MS = 1_500;
/** A chain change reaches every node within the freshness bound and one poll. */
export const BOUND_MS = FRESHNESS_MS + POLL_MS;
/** Roomy rate limits: the tests retry recovers from one wallet and one peer. */
export const ROOMY = [
  '--per-ip-burst',
  '400',
  '--per-peer-burst',
  '400',
  '--per-wallet-burst',
  '400',
];

/** Node flags: roomy rates, chain CHAIN_ID at `urls` with `quorum` of them agreeing, short intervals. */
export function chainArgs(urls: readonly string[], quorum = 1): string[] {
  return [
    ...ROOMY,
    ...urls.flatMap((url) => ['--evm-rpc', `${CHAIN_ID}=${url}`]),
    '--evm-rpc-quorum',
    String(quorum),
    '--evm-poll-ms',
    String(POLL_MS),
    '--policy-freshness-ms',
    String(FRESHNESS_MS),
  ];
}

/** undefined when the recover returned the CEK (wiped); else its RecoverError. */
export async function recoverOutcome(
  client: QuorumClient,
  manifest: Manifest,
  player: Session,
): Promise<RecoverError | undefined> {
  try {
    const { cek } = await client.recover(manifest, player);
    cek.fill(0);
    return undefined;
  } catch (e) {
    if (e instanceof RecoverError) return e;
    throw e;
  }
}

export const ADMITTED = 'admitted';
/** What `attemptText` returns when every one of five nodes refused with `code`. */
export const everyNode = (code: ErrorCode): string => Array<string>(5).fill(code).join(' ');

/** A recover as text: 'admitted', or each node's rejection code (or outcome), in node order. */
export async function attemptText(
  client: QuorumClient,
  manifest: Manifest,
  player: Session,
): Promise<string> {
  const error = await recoverOutcome(client, manifest, player);
  return error === undefined ? ADMITTED : error.report.map((r) => r.code ?? r.outcome).join(' ');
}

/** Every one of the five nodes refused with `code`. */
export async function expectRefusedByAll(
  client: QuorumClient,
  manifest: Manifest,
  player: Session,
  code: ErrorCode,
): Promise<void> {
  const error = await recoverOutcome(client, manifest, player);
  expect(error?.code).toBe(code);
  expect(error?.report.map((r) => [r.outcome, r.code])).toEqual(Array(5).fill(['rejected', code]));
}

/**
 * Retries `observe` every 50 ms until it returns `wanted`; the attempt that
 * does must have started within `ms` of `since` (performance.now()).
 */
export async function within(
  ms: number,
  since: number,
  wanted: string,
  observe: () => Promise<string>,
): Promise<void> {
  let seen = 'nothing';
  for (;;) {
    if (performance.now() - since > ms)
      throw new Error(`not "${wanted}" within ${ms} ms; last seen "${seen}"`);
    seen = await observe();
    if (seen === wanted) return;
    await sleep(50);
  }
}
