// Session: the delegation it builds is the one nodes accept (verified here as
// a node verifies it), it is renewed on the first use inside the renewal
// margin (the clock is injected), concurrent uses share one renewal, and a
// destroyed session refuses every use.
import { privateKeyToAccount } from 'viem/accounts';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  open as openSealed,
  recoverSealContext,
  requireNativeSuite,
  seal,
  verifyDelegation,
  verifyRecoverRequestSignature,
  type Capabilities,
} from '../protocol/internal.ts';
import {
  FIXTURE_TIME,
  WALLET_PRIVATE_KEY,
  quorumFixture,
  seedBytes,
} from '../test/support/protocol-fixture.ts';
import {
  MIN_SESSION_LIFETIME_MS,
  RENEW_REMAINING_FLOOR_MS,
  Session,
  type SessionOptions,
} from './session.ts';
import { walletFromViemAccount, type WalletSigner } from './wallet.ts';

const suite = requireNativeSuite();
const quorum = quorumFixture(suite, 3, 2);
const account = privateKeyToAccount(WALLET_PRIVATE_KEY);
const HOUR_MS = 3_600_000;
const ALL: Capabilities = { actions: ['publish', 'recover'], content: 'all' };

let now: number;
let signed: string[];
let wallet: WalletSigner;

function create(overrides: Partial<SessionOptions> = {}): Promise<Session> {
  return Session.create({
    wallet,
    nodeSet: quorum.nodeSet,
    capabilities: ALL,
    lifetimeMs: HOUR_MS,
    suite,
    clock: () => now,
    ...overrides,
  });
}

beforeEach(() => {
  now = FIXTURE_TIME;
  signed = [];
  const viem = walletFromViemAccount(account);
  wallet = {
    address: account.address.toLowerCase(),
    signMessage: (message) => {
      signed.push(message);
      return viem.signMessage(message);
    },
  };
});

describe('Session.create', () => {
  it('makes a delegation a node accepts: its session key, node set, lifetime and capabilities', async () => {
    const session = await create();
    const grant = await session.grant();
    const parsed = verifyDelegation(suite, grant.delegation, {
      domain: quorum.nodeSet.params.siweDomain,
      nodeSetId: quorum.nodeSet.id,
      chainId: quorum.nodeSet.params.chainId,
      now: now + 1000,
      maxLifetimeMs: quorum.nodeSet.params.maxDelegationLifetimeMs,
      maxClockSkewMs: quorum.nodeSet.params.maxClockSkewMs,
      sessionPublicKey: session.sessionPublicKey,
      action: 'recover',
      contentId: seedBytes(1, 32),
    });
    expect(parsed.hash).toEqual(grant.hash);
    expect(grant.expiresAt - grant.issuedAt).toBe(HOUR_MS);
    expect(session.address).toBe(account.address); // checksummed, whatever case the wallet gave
    expect(session.addressBytes).toHaveLength(20);
    expect(signed).toHaveLength(1);
  });

  it("names the session's set in a recover request by default, or the successor asked, under the same delegation", async () => {
    const session = await create();
    const grant = await session.grant();
    const input = { node: 1, contentId: seedBytes(1, 32), issuedAt: now };
    expect(session.signRecoverRequest(grant, input).body.nodeSetId).toEqual(quorum.nodeSet.id);
    const successor = seedBytes(9, 32);
    const named = session.signRecoverRequest(grant, { ...input, nodeSetId: successor });
    expect(named.body.nodeSetId).toEqual(successor);
    expect(named.body.delegationHash).toEqual(grant.hash);
    expect(() => verifyRecoverRequestSignature(suite, named)).not.toThrow();
    expect(() =>
      session.signRecoverRequest(grant, { ...input, nodeSetId: seedBytes(9, 31) }),
    ).toThrow();
  });

  it('signs recover requests with the session key and opens shares sealed to its X-Wing key', async () => {
    const session = await create();
    const grant = await session.grant();
    const request = session.signRecoverRequest(grant, {
      node: 2,
      contentId: seedBytes(1, 32),
      issuedAt: now,
    });
    expect(() => verifyRecoverRequestSignature(suite, request)).not.toThrow();
    expect(request.body.recipientKey).toEqual(session.recipientPublicKey);
    expect(request.body.delegationHash).toEqual(grant.hash);
    const context = recoverSealContext(request.body);
    const share = seedBytes(5, 32);
    const sealed = await seal(suite, session.recipientPublicKey, context, share);
    expect(await session.openShare(context, sealed)).toEqual(share);
    // A share sealed for another request does not open under this one's context.
    const other = recoverSealContext(
      session.signRecoverRequest(grant, { node: 2, contentId: seedBytes(1, 32), issuedAt: now })
        .body,
    );
    await expect(session.openShare(other, sealed)).rejects.toMatchObject({
      code: ErrorCode.DECRYPT_FAILED,
    });
    await expect(openSealed(suite, seedBytes(6, 32), context, sealed)).rejects.toMatchObject({
      code: ErrorCode.DECRYPT_FAILED,
    });
  });

  it('refuses bad options: unknown key, lifetime too short or beyond the node set, a wallet that signs for another address', async () => {
    const other = privateKeyToAccount(`0x${'11'.repeat(32)}`);
    const cases: [string, Partial<SessionOptions> & Record<string, unknown>][] = [
      ['unknown key', { refresh: true }],
      ['lifetime too short', { lifetimeMs: MIN_SESSION_LIFETIME_MS - 1 }],
      [
        'lifetime beyond the node set',
        { lifetimeMs: quorum.nodeSet.params.maxDelegationLifetimeMs + 1 },
      ],
      ['fractional lifetime', { lifetimeMs: HOUR_MS + 0.5 }],
      [
        'wallet signing for another address',
        {
          wallet: {
            address: account.address,
            signMessage: (message: string) => other.signMessage({ message }),
          },
        },
      ],
      ['no capabilities', { capabilities: { actions: [], content: 'all' } }],
    ];
    for (const [name, overrides] of cases) {
      await expect(create(overrides), name).rejects.toMatchObject({
        code: ErrorCode.INVALID_ARGUMENT,
      });
    }
  });
});

describe('Session renewal', () => {
  it('keeps the delegation while more than 10 % of its lifetime remains, and renews on the next use after', async () => {
    const session = await create();
    const first = await session.grant();
    now = FIXTURE_TIME + HOUR_MS - 6 * 60_000 - 1; // 6 min + 1 ms left: 10 % is 6 min
    expect(await session.grant()).toBe(first);
    expect(signed).toHaveLength(1);
    now += 2; // less than 6 min left
    const second = await session.grant();
    expect(second).not.toBe(first);
    expect(second.issuedAt).toBe(now);
    expect(second.hash).not.toEqual(first.hash);
    expect(signed).toHaveLength(2);
    // The same session key is delegated to again.
    expect(signed[1]).toContain(signed[0]!.match(/urn:qkms:session:ed25519:[0-9a-f]+/)![0]);
  });

  it('renews 60 s before expiry when 10 % of the lifetime is less than that', async () => {
    const lifetimeMs = 5 * 60_000; // 10 % = 30 s < 60 s
    const session = await create({ lifetimeMs });
    const first = await session.grant();
    now = FIXTURE_TIME + lifetimeMs - RENEW_REMAINING_FLOOR_MS;
    expect(await session.grant()).toBe(first);
    now += 1;
    expect(await session.grant()).not.toBe(first);
  });

  it('renews an expired delegation on its next use', async () => {
    const session = await create();
    now = FIXTURE_TIME + 2 * HOUR_MS;
    const grant = await session.grant();
    expect(grant.expiresAt).toBe(now + HOUR_MS);
  });

  it('concurrent uses inside the margin share one renewal: the wallet is asked once', async () => {
    const session = await create();
    now = FIXTURE_TIME + HOUR_MS - 1000;
    const grants = await Promise.all([session.grant(), session.grant(), session.grant()]);
    expect(new Set(grants).size).toBe(1);
    expect(signed).toHaveLength(2);
  });

  it('renew(stale) renews only if that delegation is still current', async () => {
    const session = await create();
    const first = await session.grant();
    const second = await session.renew(first);
    expect(await session.renew(first)).toBe(second); // already replaced: no new signature
    expect(signed).toHaveLength(2);
  });
});

describe('Session.destroy', () => {
  it('drops the keys; every later use throws, and destroy is idempotent', async () => {
    const session = await create();
    const grant = await session.grant();
    session.destroy();
    session.destroy();
    expect(session.destroyed).toBe(true);
    await expect(session.grant()).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(session.renew()).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    expect(() =>
      session.signRecoverRequest(grant, { node: 1, contentId: seedBytes(1, 32), issuedAt: now }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    await expect(
      session.openShare(
        { info: new Uint8Array(1), aad: new Uint8Array(1) },
        { enc: new Uint8Array(1120), ciphertext: new Uint8Array(48) },
      ),
    ).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    expect(() => session.expiresAt).toThrow();
  });

  it('a renewal still waiting for the wallet when the session is destroyed does not revive it', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const viem = walletFromViemAccount(account);
    let calls = 0;
    const slow: WalletSigner = {
      address: account.address,
      signMessage: async (message) => {
        calls++;
        if (calls > 1) await gate;
        return viem.signMessage(message);
      },
    };
    const session = await create({ wallet: slow });
    now = FIXTURE_TIME + 2 * HOUR_MS;
    const pending = session.grant();
    session.destroy();
    release();
    await expect(pending).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    expect(session.destroyed).toBe(true);
  });
});
