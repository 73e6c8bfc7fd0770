// The manifest cache (manifest-cache.ts) belongs to one QuorumClient: a
// manifest is verified once per client, a second client verifies it again,
// and a manifest that fails verification is never remembered.
import { privateKeyToAccount } from 'viem/accounts';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { verifyManifest, type Manifest } from '../protocol/internal.ts';
import { CLIENT_TIME, MemoryQuorum } from '../test/support/memory-quorum.ts';
import { WALLET_PRIVATE_KEY } from '../test/support/protocol-fixture.ts';
import {
  VERIFIED_MANIFEST_ENTRIES,
  newVerifiedManifests,
  verifyManifestOnce,
} from './manifest-cache.ts';
import { QuorumClient } from './quorum-client.ts';
import { Session } from './session.ts';
import { walletFromViemAccount } from './wallet.ts';

// Counts verifyManifest calls; it still does the real work.
vi.mock('../protocol/internal.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../protocol/internal.ts')>();
  return { ...actual, verifyManifest: vi.fn(actual.verifyManifest) };
});

const HOUR_MS = 3_600_000;
const wallet = walletFromViemAccount(privateKeyToAccount(WALLET_PRIVATE_KEY));
const verifications = vi.mocked(verifyManifest);

let mq: MemoryQuorum;
let session: Session;
let manifest: Manifest;

function newClient(): QuorumClient {
  return QuorumClient.withTransport(
    { nodeSet: mq.nodeSet, clock: () => CLIENT_TIME, requestTimeoutMs: 2_000 },
    mq,
  );
}

beforeEach(async () => {
  mq = new MemoryQuorum(5, 3);
  session = await Session.create({
    wallet,
    nodeSet: mq.nodeSet,
    capabilities: { actions: ['publish', 'recover'], content: 'all' },
    lifetimeMs: HOUR_MS,
    clock: () => CLIENT_TIME,
  });
  ({ manifest } = await newClient().publish(session, { policy: { kind: 'open' } }));
  verifications.mockClear();
});

describe('manifest cache', () => {
  it('is per QuorumClient: one client verifies a manifest once, a second client verifies it again', async () => {
    const first = newClient();
    const second = newClient();
    await first.recover(manifest, session);
    await first.recover(manifest, session);
    expect(verifications).toHaveBeenCalledTimes(1);
    await second.recover(manifest, session);
    expect(verifications).toHaveBeenCalledTimes(2);
    await second.recover(manifest, session);
    await first.recover(manifest, session);
    expect(verifications).toHaveBeenCalledTimes(2);
  });

  it('remembers a verdict per cache, and never a manifest that fails verification', () => {
    const a = newVerifiedManifests();
    const b = newVerifiedManifests();
    expect(a.maxEntries).toBe(VERIFIED_MANIFEST_ENTRIES);
    verifyManifestOnce(a, mq.suite, manifest, mq.nodeSet);
    verifyManifestOnce(a, mq.suite, manifest, mq.nodeSet);
    verifyManifestOnce(b, mq.suite, manifest, mq.nodeSet);
    expect(verifications).toHaveBeenCalledTimes(2);
    expect(a.size).toBe(1);

    const forged: Manifest = {
      ...manifest,
      body: { ...manifest.body, issuedAt: manifest.body.issuedAt + 1 },
    };
    for (let i = 0; i < 2; i++)
      expect(() => {
        verifyManifestOnce(a, mq.suite, forged, mq.nodeSet);
      }).toThrow();
    expect(verifications).toHaveBeenCalledTimes(4);
    expect(a.size).toBe(1);
  });
});
