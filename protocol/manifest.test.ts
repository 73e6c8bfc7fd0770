// The content manifest: commitments that catch a wrong CEK or share, a
// signature and delegation that bind it to its publisher, canonical encoding.
import { evaluatePolicy } from './policy/index.ts';
import { describe, expect, it } from 'vitest';
import {
  contentFixture,
  FIXTURE_TIME,
  hexToBytes,
  OTHER_WALLET_PRIVATE_KEY,
  quorumFixture,
  sessionFixture,
} from '../test/support/protocol-fixture.ts';
import { toHex } from './bytes.ts';
import { decodeCanonical, encodeCanonical } from './codec/cbor.ts';
import { ErrorCode } from './errors.ts';
import {
  checkCek,
  checkShare,
  createManifest,
  decodeManifest,
  encodeManifest,
  manifestFromCbor,
  manifestHash,
  manifestToCbor,
  openCek,
  verifyManifest,
  type Manifest,
} from './manifest.ts';
import { combineKey } from './sharing.ts';
import { requireNativeSuite } from './suite/native.ts';
import { nobleSuite } from './suite/noble.ts';

const suite = requireNativeSuite();
const { nodeSet } = quorumFixture(suite);
const publisher = await sessionFixture(suite, nodeSet);
const content = contentFixture(suite, nodeSet, publisher);
const code = (c: string): unknown => expect.objectContaining({ code: c });
const at = FIXTURE_TIME + 2000;

describe('manifest', () => {
  it('verifies on both backends and round-trips its canonical encoding', () => {
    verifyManifest(suite, content.manifest, nodeSet, at);
    verifyManifest(nobleSuite, content.manifest, nodeSet, at);
    const bytes = encodeCanonical(manifestToCbor(content.manifest));
    const back = manifestFromCbor(decodeCanonical(bytes, 1 << 16));
    expect(toHex(encodeCanonical(manifestToCbor(back)))).toBe(toHex(bytes));
    expect(toHex(manifestHash(suite, back))).toBe(toHex(manifestHash(suite, content.manifest)));
  });

  it('encodeManifest and decodeManifest are the canonical CBOR round trip, strict both ways', () => {
    const bytes = encodeManifest(content.manifest);
    expect(toHex(bytes)).toBe(toHex(encodeCanonical(manifestToCbor(content.manifest))));
    expect(toHex(encodeManifest(decodeManifest(bytes)))).toBe(toHex(bytes));
    expect(() => decodeManifest(Uint8Array.of(...bytes, 0))).toThrow(code(ErrorCode.MALFORMED));
    expect(() => decodeManifest(bytes.subarray(1))).toThrow(code(ErrorCode.MALFORMED));
  });

  it('the CEK commitment accepts the CEK and nothing else', () => {
    expect(checkCek(suite, content.manifest.body, content.cek)).toBe(true);
    const wrong = content.cek.slice();
    wrong[31] = (wrong[31] ?? 0) ^ 1;
    expect(checkCek(suite, content.manifest.body, wrong)).toBe(false);
    expect(checkCek(suite, content.manifest.body, content.cek.subarray(1))).toBe(false);
  });

  it("the commitments accept each node's share at its own index only", () => {
    content.shares.forEach((share, i) => {
      expect(checkShare(content.manifest.body, i + 1, share)).toBe(true);
      expect(checkShare(content.manifest.body, ((i + 1) % 5) + 1, share)).toBe(false);
    });
    expect(checkShare(content.manifest.body, 0, content.shares[0]!)).toBe(false);
    expect(checkShare(content.manifest.body, 6, content.shares[0]!)).toBe(false);
    const flipped = content.shares[0]!.slice();
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(checkShare(content.manifest.body, 1, flipped)).toBe(false);
    expect(checkShare(content.manifest.body, 1, content.shares[0]!.subarray(1))).toBe(false);
    // Commitments that are not ristretto255 points (all 0xff) verify nothing, and do not throw.
    const bad = {
      ...content.manifest.body,
      commitments: [0, 1, 2].map(() => new Uint8Array(32).fill(0xff)),
    };
    expect(checkShare(bad, 1, content.shares[0]!)).toBe(false);
  });

  it('any t shares give the key scalar, and it unwraps the committed CEK', () => {
    const key = combineKey(
      [3, 1, 5].map((x) => ({ x, bytes: content.shares[x - 1]! })),
      3,
      (k) => openCek(suite, content.manifest.body, k) !== undefined,
    );
    expect(key).toEqual(content.keyScalar);
    expect(openCek(suite, content.manifest.body, key)).toEqual(content.cek);
    const other = content.keyScalar.slice();
    other[0] = (other[0] ?? 0) ^ 1;
    expect(openCek(suite, content.manifest.body, other)).toBeUndefined();
  });

  it('is refused when any signed field, the signature or the binding to the node set changes', () => {
    const body = content.manifest.body;
    const flip = (b: Uint8Array): Uint8Array => {
      const c = b.slice();
      c[0] = (c[0] ?? 0) ^ 1;
      return c;
    };
    const tampered: Record<string, Manifest> = {
      cek: { ...content.manifest, body: { ...body, cekCommitment: flip(body.cekCommitment) } },
      commitments: {
        ...content.manifest,
        body: { ...body, commitments: [body.commitments[1]!, ...body.commitments.slice(1)] },
      },
      wrappedCek: { ...content.manifest, body: { ...body, wrappedCek: flip(body.wrappedCek) } },
      policy: { ...content.manifest, body: { ...body, policy: { kind: 'publisher-only' } } },
      issuedAt: { ...content.manifest, body: { ...body, issuedAt: body.issuedAt + 1 } },
      signature: { ...content.manifest, signature: flip(content.manifest.signature) },
    };
    for (const [name, m] of Object.entries(tampered)) {
      expect(() => verifyManifest(suite, m, nodeSet, at), name).toThrow(
        code(ErrorCode.INVALID_MANIFEST),
      );
    }
    const otherSet = { ...nodeSet, id: flip(nodeSet.id) };
    expect(() => verifyManifest(suite, content.manifest, otherSet, at)).toThrow(
      code(ErrorCode.INVALID_MANIFEST),
    );
    expect(() => verifyManifest(suite, content.manifest, { ...nodeSet, threshold: 2 }, at)).toThrow(
      code(ErrorCode.INVALID_MANIFEST),
    );
  });

  it('needs a publish delegation from the publisher wallet to the signing session', async () => {
    const recoverOnly = await sessionFixture(suite, nodeSet, {
      capabilities: { actions: ['recover'], content: 'all' },
      label: 2,
    });
    expect(() =>
      verifyManifest(suite, contentFixture(suite, nodeSet, recoverOnly).manifest, nodeSet, at),
    ).toThrow(code(ErrorCode.CAPABILITY_DENIED));
    const other = await sessionFixture(suite, nodeSet, {
      privateKey: OTHER_WALLET_PRIVATE_KEY,
      label: 3,
    });
    // Another wallet's delegation is not the one the manifest names: refused
    // by its hash, before any signature is checked.
    const swapped = { ...content.manifest, delegation: other.delegation };
    expect(() => verifyManifest(suite, swapped, nodeSet, at)).toThrow(
      code(ErrorCode.INVALID_MANIFEST),
    );
    // A session of another wallet cannot publish in the name of this one.
    const impostor = createManifest(suite, other.session, {
      contentId: content.contentId,
      nodeSetId: nodeSet.id,
      threshold: nodeSet.threshold,
      shares: content.shares.length,
      commitments: content.manifest.body.commitments,
      keyScalar: content.keyScalar,
      cek: content.cek,
      publisher: hexToBytes(publisher.wallet.address),
      policy: { kind: 'open' },
      issuedAt: at,
      delegation: other.delegation,
    });
    expect(() => verifyManifest(suite, impostor, nodeSet, at)).toThrow(
      code(ErrorCode.INVALID_MANIFEST),
    );
    expect(() =>
      verifyManifest(suite, content.manifest, nodeSet, FIXTURE_TIME + 48 * 3600_000),
    ).toThrow(code(ErrorCode.DELEGATION_EXPIRED));
  });

  it('access policies admit exactly whom they say', () => {
    const me = hexToBytes(publisher.wallet.address);
    const someone = new Uint8Array(20).fill(7);
    const body = content.manifest.body;
    const policyAdmits = (b: typeof body, wallet: Uint8Array): boolean =>
      evaluatePolicy(suite.keccak256, b.policy, { ...b, wallet, now: at }, () => undefined)
        .verdict === true;
    expect(policyAdmits({ ...body, policy: { kind: 'open' } }, someone)).toBe(true);
    expect(policyAdmits({ ...body, policy: { kind: 'publisher-only' } }, someone)).toBe(false);
    expect(policyAdmits({ ...body, policy: { kind: 'publisher-only' } }, me)).toBe(true);
    const allow = { kind: 'allowlist' as const, addresses: [someone] };
    expect(policyAdmits({ ...body, policy: allow }, someone)).toBe(true);
    expect(policyAdmits({ ...body, policy: allow }, new Uint8Array(20).fill(8))).toBe(false);
    expect(policyAdmits({ ...body, policy: allow }, me)).toBe(true);
  });

  it('normalizes allowlists so their encoding is canonical, and refuses unsorted ones on decode', () => {
    const a = new Uint8Array(20).fill(2);
    const b = new Uint8Array(20).fill(1);
    const m = contentFixture(
      suite,
      nodeSet,
      publisher,
      { kind: 'allowlist', addresses: [a, b, a] },
      2,
    ).manifest;
    expect(m.body.policy).toEqual({ kind: 'allowlist', addresses: [b, a] });
    const cbor = manifestToCbor(m) as { body: { policy: { addresses: Uint8Array[] } } };
    const reversed = {
      ...cbor,
      body: { ...cbor.body, policy: { kind: 'allowlist', addresses: [a, b] } },
    };
    expect(() => manifestFromCbor(reversed)).toThrow(code(ErrorCode.MALFORMED));
  });
});
