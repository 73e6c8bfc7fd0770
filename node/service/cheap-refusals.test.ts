// Issue 12, items 2 and 3: what a repeated bad input costs a node, and what
// refused requests leave behind. Wallet signature recoveries are counted at
// their source (ox's Secp256k1.recoverAddress, wrapped by the mock below), so
// the count is the real work done, whatever caches sit in front of it.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createManifest,
  decodeMessage,
  ErrorCode,
  QkmsError,
  requireNativeSuite,
} from '../../protocol/internal.ts';
import {
  contentFixture,
  FIXTURE_TIME,
  hexToBytes,
  OTHER_WALLET_PRIVATE_KEY,
  quorumFixture,
  sessionFixture,
  type ContentFixture,
  type SessionFixture,
} from '../../test/support/protocol-fixture.ts';
import {
  nodeUnderTest,
  publishFrame,
  recoverFrame,
  wronglySigned,
  type NodeUnderTest,
} from '../../test/support/service-fixture.ts';
import { MemoryNonceStore } from '../../test/support/nonce-store.ts';
import { ReplayGuard } from '../replay-guard.ts';

const recoveries = vi.hoisted(() => ({ count: 0 }));
vi.mock('ox/Secp256k1', async (importOriginal) => {
  const Secp256k1 = await importOriginal<typeof import('ox/Secp256k1')>();
  return {
    ...Secp256k1,
    recoverAddress: (...args: Parameters<typeof Secp256k1.recoverAddress>) => {
      recoveries.count++;
      return Secp256k1.recoverAddress(...args);
    },
  };
});

const suite = requireNativeSuite();
const quorum = quorumFixture(suite);
const NODE = 1;
const SOURCE = 'peer-1';
let publisher: SessionFixture;
let other: SessionFixture;
let content: ContentFixture;
let privateContent: ContentFixture;

/** Offset of the first byte of the recover request's Ed25519 signature inside an encoded frame. */
function findSignature(frame: Uint8Array): number {
  const request = (
    decodeMessage(frame, 1 << 16, ['recover']) as { request: { signature: Uint8Array } }
  ).request;
  for (let i = 0; i + 64 <= frame.length; i++) {
    if (request.signature.every((b, j) => frame[i + j] === b)) return i;
  }
  throw new Error('signature not found in the frame');
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof QkmsError) return e.code;
    throw e;
  }
  return 'answered';
}

async function withContent(n: NodeUnderTest): Promise<NodeUnderTest> {
  for (const c of [content, privateContent]) {
    await n.publish.handle(await publishFrame(quorum, c.manifest, c.shares[NODE - 1]!, NODE));
  }
  return n;
}

beforeAll(async () => {
  publisher = await sessionFixture(suite, quorum.nodeSet);
  other = await sessionFixture(suite, quorum.nodeSet, {
    privateKey: OTHER_WALLET_PRIVATE_KEY,
    label: 2,
  });
  content = contentFixture(suite, quorum.nodeSet, publisher);
  privateContent = contentFixture(suite, quorum.nodeSet, publisher, { kind: 'publisher-only' }, 2);
});

describe('a repeated bad input costs one signature recovery (item 2)', () => {
  it('the same recover request with a wrong wallet signature, resent 50 times, costs one recovery', async () => {
    const node = await withContent(nodeUnderTest(quorum, NODE));
    const bad = { ...publisher, delegation: await wronglySigned(publisher.delegation) };
    const frame = recoverFrame({ quorum, session: bad, contentId: content.contentId, node: NODE });
    recoveries.count = 0;
    for (let i = 0; i < 50; i++) {
      expect(await codeOf(node.recover.handle(frame, SOURCE))).toBe(ErrorCode.DELEGATION_INVALID);
    }
    expect(recoveries.count).toBe(1);
    // New requests (fresh nonces) under the same bad delegation cost none either.
    for (let i = 0; i < 10; i++) {
      const fresh = recoverFrame({
        quorum,
        session: bad,
        contentId: content.contentId,
        node: NODE,
      });
      expect(await codeOf(node.recover.handle(fresh, SOURCE))).toBe(ErrorCode.DELEGATION_INVALID);
    }
    expect(recoveries.count).toBe(1);
  });

  it('a resent frame with a bad session signature is refused without a second signature check', async () => {
    const node = await withContent(nodeUnderTest(quorum, NODE));
    const frame = recoverFrame({
      quorum,
      session: publisher,
      contentId: content.contentId,
      node: NODE,
    });
    const forged = frame.slice();
    // The request's signature is 64 bytes inside the frame; flip one of its bytes.
    const sig = findSignature(frame);
    forged[sig] = (forged[sig] ?? 0) ^ 1;
    const verify = vi.spyOn(suite.ed25519, 'verify');
    try {
      for (let i = 0; i < 20; i++) {
        expect(await codeOf(node.recover.handle(forged, SOURCE))).toBe(
          ErrorCode.BAD_REQUEST_SIGNATURE,
        );
      }
      expect(verify).toHaveBeenCalledTimes(1);
    } finally {
      verify.mockRestore();
    }
    // The honest bytes are not affected.
    expect(await codeOf(node.recover.handle(frame, SOURCE))).toBe('answered');
  });

  it('a remembered refusal never poisons the honest signature of the same message', async () => {
    const node = await withContent(nodeUnderTest(quorum, NODE));
    const bad = { ...publisher, delegation: await wronglySigned(publisher.delegation) };
    const input = { quorum, contentId: content.contentId, node: NODE };
    expect(
      await codeOf(node.recover.handle(recoverFrame({ ...input, session: bad }), SOURCE)),
    ).toBe(ErrorCode.DELEGATION_INVALID);
    expect(
      await codeOf(node.recover.handle(recoverFrame({ ...input, session: publisher }), SOURCE)),
    ).toBe('answered');
  });

  it('a served request resent is REPLAYED before any signature work', async () => {
    const node = await withContent(nodeUnderTest(quorum, NODE));
    const frame = recoverFrame({
      quorum,
      session: publisher,
      contentId: content.contentId,
      node: NODE,
    });
    await node.recover.handle(frame, SOURCE);
    const verify = vi.spyOn(suite.ed25519, 'verify');
    recoveries.count = 0;
    try {
      for (let i = 0; i < 20; i++) {
        expect(await codeOf(node.recover.handle(frame, SOURCE))).toBe(ErrorCode.REPLAYED);
      }
      expect(verify).not.toHaveBeenCalled();
      expect(recoveries.count).toBe(0);
    } finally {
      verify.mockRestore();
    }
  });

  it('the same publish with a wrong wallet signature, resent 20 times, costs one recovery', async () => {
    const node = nodeUnderTest(quorum, NODE);
    const delegation = await wronglySigned(publisher.delegation);
    const manifest = createManifest(suite, publisher.session, {
      contentId: content.contentId,
      nodeSetId: quorum.nodeSet.id,
      threshold: quorum.nodeSet.threshold,
      shares: content.shares.length,
      commitments: content.manifest.body.commitments,
      keyScalar: content.keyScalar,
      cek: content.cek,
      publisher: hexToBytes(publisher.wallet.address),
      policy: { kind: 'open' },
      issuedAt: FIXTURE_TIME + 1000,
      delegation,
    });
    const frame = await publishFrame(quorum, manifest, content.shares[NODE - 1]!, NODE);
    recoveries.count = 0;
    for (let i = 0; i < 20; i++) {
      expect(await codeOf(node.publish.handle(frame))).toBe(ErrorCode.DELEGATION_INVALID);
    }
    expect(recoveries.count).toBe(1);
  });

  it('a delegation verified by a publish is not recovered again by a recover', async () => {
    recoveries.count = 0;
    const node = await withContent(nodeUnderTest(quorum, NODE));
    expect(recoveries.count).toBe(1); // two publishes, one delegation
    const frame = recoverFrame({
      quorum,
      session: publisher,
      contentId: content.contentId,
      node: NODE,
    });
    expect(await codeOf(node.recover.handle(frame, SOURCE))).toBe('answered');
    expect(recoveries.count).toBe(1);
  });
});

/** A node with content, over a real replay guard of these limits (at the fixture's time). */
async function guardedNode(limits: {
  maxEntries: number;
  maxPerWallet: number;
  maxPerSource: number;
}): Promise<{ node: NodeUnderTest; guard: ReplayGuard }> {
  const guard = await ReplayGuard.load({
    store: new MemoryNonceStore(),
    clock: () => FIXTURE_TIME + 10_000,
    ...limits,
  });
  return { node: await withContent(nodeUnderTest(quorum, NODE).with({ nonces: guard })), guard };
}

describe('refused requests hold no replay-guard slot (item 3)', () => {
  it('after 600 refused requests in a guard of 50, the guard is empty and an honest recover is served', async () => {
    const { node, guard } = await guardedNode({
      maxEntries: 50,
      maxPerWallet: 50,
      maxPerSource: 50,
    });
    try {
      const input = { quorum, node: NODE };
      for (let i = 0; i < 200; i++) {
        // Unknown content, from the publisher's own wallet.
        const unknown = recoverFrame({
          ...input,
          session: publisher,
          contentId: new Uint8Array(32).fill(i),
        });
        expect(await codeOf(node.recover.handle(unknown, `flood-${i}`))).toBe(
          ErrorCode.UNKNOWN_CONTENT,
        );
        // Content whose policy refuses the wallet, the same bytes twice.
        const denied = recoverFrame({
          ...input,
          session: other,
          contentId: privateContent.contentId,
        });
        expect(await codeOf(node.recover.handle(denied, `flood-${i}`))).toBe(
          ErrorCode.ACCESS_DENIED,
        );
        expect(await codeOf(node.recover.handle(denied, `flood-${i}`))).toBe(
          ErrorCode.ACCESS_DENIED,
        );
      }
      expect(guard.size).toBe(0);
      const honest = recoverFrame({
        ...input,
        session: publisher,
        contentId: content.contentId,
      });
      expect(await codeOf(node.recover.handle(honest, SOURCE))).toBe('answered');
      expect(guard.size).toBe(1);
    } finally {
      await guard.stop();
    }
  });

  it('one source serving itself cannot take the guard: RATE_LIMITED at its share, others served', async () => {
    const { node, guard } = await guardedNode({
      maxEntries: 100,
      maxPerWallet: 100,
      maxPerSource: 10,
    });
    try {
      const input = { quorum, node: NODE, contentId: content.contentId };
      for (let i = 0; i < 10; i++) {
        expect(
          await codeOf(node.recover.handle(recoverFrame({ ...input, session: other }), 'greedy')),
        ).toBe('answered');
      }
      expect(
        await codeOf(node.recover.handle(recoverFrame({ ...input, session: other }), 'greedy')),
      ).toBe(ErrorCode.RATE_LIMITED);
      expect(
        await codeOf(node.recover.handle(recoverFrame({ ...input, session: publisher }), SOURCE)),
      ).toBe('answered');
    } finally {
      await guard.stop();
    }
  });
});
