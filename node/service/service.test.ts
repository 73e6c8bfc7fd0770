// Long file: one row per rejection path of recover and publish, sharing one fixture of keys and grants.
// The recover and publish checks, one row per rejection path: each asserts
// its wire code and that no share left (the handler threw; nothing was
// returned to seal or send). Transport-free; the same services run behind
// libp2p in test/e2e/.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  QkmsError,
  decodeMessage,
  encodeCanonical,
  encodeMessage,
  open,
  recoverSealContext,
  requireNativeSuite,
  toHex,
  verifyReceipt,
  type Manifest,
} from '../../protocol/internal.ts';
import {
  contentFixture,
  FIXTURE_TIME,
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
  recoverRequest,
  type NodeUnderTest,
} from '../../test/support/service-fixture.ts';

const suite = requireNativeSuite();
const quorum = quorumFixture(suite);
const NODE = 2;
/** The admission source every request here comes from. */
const SOURCE = 'peer-1';
let publisher: SessionFixture;
let other: SessionFixture;
let publishOnly: SessionFixture;
let content: ContentFixture;
let privateContent: ContentFixture;
let node: NodeUnderTest;

async function refused(
  promise: Promise<Uint8Array>,
  code: string,
  secret?: Uint8Array,
): Promise<void> {
  const outcome = await promise.then(
    (bytes) => ({ bytes }),
    (e: unknown) => ({ error: e }),
  );
  expect('bytes' in outcome, `expected ${code}, but an answer left the node`).toBe(false);
  const error = (outcome as { error: unknown }).error;
  expect(error).toBeInstanceOf(QkmsError);
  expect((error as QkmsError).code).toBe(code);
  if (secret !== undefined) expect((error as QkmsError).message).not.toContain(toHex(secret));
}

beforeAll(async () => {
  publisher = await sessionFixture(suite, quorum.nodeSet);
  other = await sessionFixture(suite, quorum.nodeSet, {
    privateKey: OTHER_WALLET_PRIVATE_KEY,
    label: 2,
  });
  publishOnly = await sessionFixture(suite, quorum.nodeSet, {
    capabilities: { actions: ['publish'], content: 'all' },
    label: 3,
  });
  content = contentFixture(suite, quorum.nodeSet, publisher);
  privateContent = contentFixture(suite, quorum.nodeSet, publisher, { kind: 'publisher-only' }, 2);
  node = nodeUnderTest(quorum, NODE);
  for (const c of [content, privateContent]) {
    await node.publish.handle(await publishFrame(quorum, c.manifest, c.shares[NODE - 1]!, NODE));
  }
});

describe('recover', () => {
  it('answers a valid request with its share, sealed to the request', async () => {
    const request = recoverRequest({
      quorum,
      session: publisher,
      contentId: content.contentId,
      node: NODE,
    });
    const frame = encodeMessage({ type: 'recover', request, delegation: publisher.delegation });
    const reply = decodeMessage(await node.recover.handle(frame, SOURCE), 1 << 12, ['share']);
    const share = await open(
      suite,
      publisher.kemSeed,
      recoverSealContext(request.body),
      reply.sealed,
    );
    expect(toHex(share)).toBe(toHex(content.shares[NODE - 1]!));
  });

  it('admits another wallet to open content, but not to publisher-only content', async () => {
    const input = { quorum, session: other, node: NODE };
    await node.recover.handle(recoverFrame({ ...input, contentId: content.contentId }), SOURCE);
    await refused(
      node.recover.handle(recoverFrame({ ...input, contentId: privateContent.contentId }), SOURCE),
      ErrorCode.ACCESS_DENIED,
    );
  });

  const now = FIXTURE_TIME + 10_000;
  const rows: [string, () => Promise<Uint8Array>][] = [
    ['MALFORMED', () => node.recover.handle(new Uint8Array([0xa1, 0x61]), SOURCE)],
    [
      'UNSUPPORTED_VERSION',
      () => node.recover.handle(encodeCanonical({ v: 9, t: 'recover' }), SOURCE),
    ],
    [
      'WRONG_AUDIENCE',
      () =>
        node.recover.handle(
          recoverFrame({ quorum, session: publisher, contentId: content.contentId, node: 3 }),
          SOURCE,
        ),
    ],
    [
      'WRONG_NODE_SET',
      () => {
        const otherSet = {
          ...quorum,
          nodeSet: { ...quorum.nodeSet, id: new Uint8Array(32).fill(1) },
        };
        return node.recover.handle(
          recoverFrame({
            quorum: otherSet,
            session: publisher,
            contentId: content.contentId,
            node: NODE,
          }),
          SOURCE,
        );
      },
    ],
    [
      'REQUEST_EXPIRED',
      () =>
        node.recover.handle(
          recoverFrame({
            quorum,
            session: publisher,
            contentId: content.contentId,
            node: NODE,
            issuedAt: now - 120_001,
          }),
          SOURCE,
        ),
    ],
    [
      'REQUEST_FROM_FUTURE',
      () =>
        node.recover.handle(
          recoverFrame({
            quorum,
            session: publisher,
            contentId: content.contentId,
            node: NODE,
            issuedAt: now + 30_001,
          }),
          SOURCE,
        ),
    ],
    [
      'STALE_EPOCH',
      () =>
        node.with({ epochStart: now }).recover.handle(
          recoverFrame({
            quorum,
            session: publisher,
            contentId: content.contentId,
            node: NODE,
            issuedAt: now - 1,
          }),
          SOURCE,
        ),
    ],
    [
      'BAD_REQUEST_SIGNATURE',
      () => {
        const request = recoverRequest({
          quorum,
          session: publisher,
          contentId: content.contentId,
          node: NODE,
        });
        const signature = request.signature.slice();
        signature[5] = (signature[5] ?? 0) ^ 1;
        return node.recover.handle(
          encodeMessage({
            type: 'recover',
            request: { ...request, signature },
            delegation: publisher.delegation,
          }),
          SOURCE,
        );
      },
    ],
    [
      'DELEGATION_INVALID',
      () => {
        const request = recoverRequest({
          quorum,
          session: publisher,
          contentId: content.contentId,
          node: NODE,
        });
        return node.recover.handle(
          encodeMessage({ type: 'recover', request, delegation: other.delegation }),
          SOURCE,
        );
      },
    ],
    [
      'DELEGATION_EXPIRED',
      () => {
        const later = FIXTURE_TIME + 25 * 3600_000;
        return node.with({ clock: () => later }).recover.handle(
          recoverFrame({
            quorum,
            session: publisher,
            contentId: content.contentId,
            node: NODE,
            issuedAt: later,
          }),
          SOURCE,
        );
      },
    ],
    [
      'CAPABILITY_DENIED',
      () =>
        node.recover.handle(
          recoverFrame({ quorum, session: publishOnly, contentId: content.contentId, node: NODE }),
          SOURCE,
        ),
    ],
    [
      'RATE_LIMITED',
      () =>
        node
          .with({ walletRate: () => false })
          .recover.handle(
            recoverFrame({ quorum, session: publisher, contentId: content.contentId, node: NODE }),
            SOURCE,
          ),
    ],
    [
      'REVOKED',
      () =>
        node
          .with({
            revocations: {
              assertNotRevoked() {
                throw new QkmsError(ErrorCode.REVOKED, 'revoked');
              },
            },
          })
          .recover.handle(
            recoverFrame({ quorum, session: publisher, contentId: content.contentId, node: NODE }),
            SOURCE,
          ),
    ],
    [
      'UNKNOWN_CONTENT',
      () =>
        node.recover.handle(
          recoverFrame({
            quorum,
            session: publisher,
            contentId: new Uint8Array(32).fill(0xee),
            node: NODE,
          }),
          SOURCE,
        ),
    ],
  ];
  for (const [code, send] of rows) {
    it(`refuses with ${code} and releases nothing`, async () => {
      await refused(send(), code, content.shares[NODE - 1]);
    });
  }

  it('refuses a replay, sequential or after the first answer, with REPLAYED', async () => {
    const frame = recoverFrame({
      quorum,
      session: publisher,
      contentId: content.contentId,
      node: NODE,
    });
    await node.recover.handle(frame, SOURCE);
    await refused(node.recover.handle(frame, SOURCE), ErrorCode.REPLAYED);
  });

  it('releases nothing when the store, the nonce record or the audit record fails', async () => {
    const input = { quorum, session: publisher, contentId: content.contentId, node: NODE };
    const broken = nodeUnderTest(quorum, NODE);
    await broken.publish.handle(
      await publishFrame(quorum, content.manifest, content.shares[NODE - 1]!, NODE),
    );
    broken.store.failReads = true;
    await refused(broken.recover.handle(recoverFrame(input), SOURCE), ErrorCode.INTERNAL);
    broken.store.failReads = false;
    broken.nonces.failCommits = true;
    await refused(broken.recover.handle(recoverFrame(input), SOURCE), ErrorCode.INTERNAL);
    broken.nonces.failCommits = false;
    const noAudit = broken.with({
      audit: { record: () => Promise.reject(new Error('audit disk full')) },
    });
    await refused(noAudit.recover.handle(recoverFrame(input), SOURCE), ErrorCode.AUDIT_UNAVAILABLE);
  });

  it('checks revocation again right before sealing: a revocation landing in flight wins', async () => {
    let revoked = false;
    const n = node.with({
      revocations: {
        assertNotRevoked() {
          if (revoked) throw new QkmsError(ErrorCode.REVOKED, 'revoked');
        },
      },
      faults: {
        beforeSeal: () => {
          revoked = true;
          return Promise.resolve();
        },
      },
    });
    await refused(
      n.recover.handle(
        recoverFrame({ quorum, session: publisher, contentId: content.contentId, node: NODE }),
        SOURCE,
      ),
      ErrorCode.REVOKED,
    );
  });
});

describe('recover: revocation after the custody write', () => {
  it('a revocation landing while the custody record is written stops the share', async () => {
    let revoked = false;
    let recorded = 0;
    const n = node.with({
      revocations: {
        assertNotRevoked() {
          if (revoked) throw new QkmsError(ErrorCode.REVOKED, 'revoked');
        },
      },
      audit: {
        record: (event) => {
          if (event.kind === 'share-released') {
            recorded++;
            revoked = true; // lands during the synced write
          }
          return Promise.resolve();
        },
      },
    });
    await refused(
      n.recover.handle(
        recoverFrame({ quorum, session: publisher, contentId: content.contentId, node: NODE }),
        SOURCE,
      ),
      ErrorCode.REVOKED,
    );
    expect(recorded).toBe(1);
  });
});

describe('publish', () => {
  async function publishTo(
    n: NodeUnderTest,
    manifest: Manifest,
    share: Uint8Array,
    index = NODE,
  ): Promise<Uint8Array> {
    return n.publish.handle(await publishFrame(quorum, manifest, share, index));
  }

  it('stores, answers with a receipt signed by the node key, and is idempotent', async () => {
    const fresh = nodeUnderTest(quorum, NODE);
    const first = decodeMessage(
      await publishTo(fresh, content.manifest, content.shares[NODE - 1]!),
      1 << 12,
      ['receipt'],
    );
    expect(first.receipt.body.status).toBe('stored');
    expect(verifyReceipt(suite, first.receipt, quorum.nodes[NODE - 1]!.identity.publicKey)).toBe(
      true,
    );
    const again = decodeMessage(
      await publishTo(fresh, content.manifest, content.shares[NODE - 1]!),
      1 << 12,
      ['receipt'],
    );
    expect(again.receipt.body.status).toBe('unchanged');
    expect(fresh.store.records.size).toBe(1);
  });

  it('refuses another publisher on an owned content id with CONTENT_OWNED', async () => {
    const theirs = contentFixture(suite, quorum.nodeSet, other, { kind: 'open' }, 1); // same content id, other wallet
    expect(toHex(theirs.contentId)).toBe(toHex(content.contentId));
    await refused(
      publishTo(node, theirs.manifest, theirs.shares[NODE - 1]!),
      ErrorCode.CONTENT_OWNED,
    );
  });

  it('refuses a share that does not match its commitment, or is sealed to another node, with SHARE_MISMATCH', async () => {
    const fresh = nodeUnderTest(quorum, NODE);
    await refused(
      publishTo(fresh, content.manifest, content.shares[NODE]!),
      ErrorCode.SHARE_MISMATCH,
    );
    const sealedForNode3 = await publishFrame(
      quorum,
      content.manifest,
      content.shares[NODE - 1]!,
      3,
    );
    await refused(fresh.publish.handle(sealedForNode3), ErrorCode.SHARE_MISMATCH);
    expect(fresh.store.records.size).toBe(0);
  });

  it('refuses a tampered manifest with BAD_MANIFEST and a recover-only session with CAPABILITY_DENIED', async () => {
    const fresh = nodeUnderTest(quorum, NODE);
    const signature = content.manifest.signature.slice();
    signature[0] = (signature[0] ?? 0) ^ 1;
    await refused(
      publishTo(fresh, { ...content.manifest, signature }, content.shares[NODE - 1]!),
      ErrorCode.BAD_MANIFEST,
    );
    const recoverOnly = await sessionFixture(suite, quorum.nodeSet, {
      capabilities: { actions: ['recover'], content: 'all' },
      label: 4,
    });
    const theirs = contentFixture(suite, quorum.nodeSet, recoverOnly, { kind: 'open' }, 3);
    await refused(
      publishTo(fresh, theirs.manifest, theirs.shares[NODE - 1]!),
      ErrorCode.CAPABILITY_DENIED,
    );
    expect(fresh.store.records.size).toBe(0);
  });
});
