// The quorum node over real TCP on loopback: nodes in this process and as
// child processes, a minimal libp2p test client, publish then recover end to
// end, rejections on the wire, replay (sequential, concurrent, after a
// restart), and a flipped byte on disk.
import { Level } from 'level';
import { join } from 'node:path';
import type { Libp2p } from 'libp2p';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_DIR, type Daemon } from '../../node/daemon.ts';
import { loadKeystore } from '../../node/keystore.ts';
import { NodeStore } from '../../node/store/index.ts';
import {
  ErrorCode,
  checkShare,
  combineKey,
  openCek,
  encodeCanonical,
  encodeMessage,
  open,
  recoverSealContext,
  requireNativeSuite,
  toHex,
  verifyReceipt,
} from '../../protocol/internal.ts';
import {
  contentFixture,
  sessionFixture,
  type ContentFixture,
  type SessionFixture,
} from '../support/protocol-fixture.ts';
import { publishFrame, recoverFrame, recoverRequest } from '../support/service-fixture.ts';
import {
  ask,
  createClient,
  createQuorumFiles,
  spawnNode,
  startNode,
  type QuorumFiles,
} from '../support/quorum.ts';

const suite = requireNativeSuite();
/** Generous stream and rate limits: the concurrency test sends 50 copies over one connection. */
const ROOMY = [
  '--max-streams-per-protocol',
  '64',
  '--per-ip-burst',
  '200',
  '--per-peer-burst',
  '200',
  '--per-wallet-burst',
  '200',
];

let files: QuorumFiles;
let nodes: Daemon[];
let client: Libp2p;
let publisher: SessionFixture;
let content: ContentFixture;

async function publishAll(
  f: QuorumFiles,
  c: ContentFixture,
  indexes: readonly number[],
): Promise<void> {
  for (const i of indexes) {
    const frame = await publishFrame(f, c.manifest, c.shares[i - 1]!, i);
    const answer = await ask(client, f, i, 'publish', frame, 'receipt');
    expect(answer.type).toBe('receipt');
  }
}

async function recoverShare(
  f: QuorumFiles,
  session: SessionFixture,
  c: ContentFixture,
  index: number,
): Promise<Uint8Array | string> {
  const request = recoverRequest({
    quorum: f,
    session,
    contentId: c.contentId,
    node: index,
    issuedAt: Date.now(),
  });
  const answer = await ask(
    client,
    f,
    index,
    'recover',
    encodeMessage({ type: 'recover', request, delegation: session.delegation }),
    'share',
  );
  if (answer.type === 'reject') return answer.code;
  return open(suite, session.kemSeed, recoverSealContext(request.body), answer.sealed);
}

beforeAll(async () => {
  files = await createQuorumFiles(3, 2);
  nodes = [];
  for (let i = 1; i <= 3; i++) nodes.push(await startNode(files, i, { args: ROOMY }));
  client = await createClient();
  publisher = await sessionFixture(suite, files.nodeSet, { issuedAt: Date.now() - 1000 });
  content = contentFixture(suite, files.nodeSet, publisher);
});

afterAll(async () => {
  await client.stop();
  for (const n of nodes) await n.close();
  files.cleanup();
});

describe('quorum nodes in one process', () => {
  it('publish to every node, then recover t shares and reconstruct the CEK', async () => {
    for (const i of [1, 2, 3]) {
      const frame = await publishFrame(files, content.manifest, content.shares[i - 1]!, i);
      const answer = await ask(client, files, i, 'publish', frame, 'receipt');
      if (answer.type !== 'receipt') throw new Error(`publish to ${i}: ${answer.code}`);
      expect(verifyReceipt(suite, answer.receipt, files.nodeSet.nodes[i - 1]!.nodePublicKey)).toBe(
        true,
      );
    }
    const shares = [];
    for (const i of [1, 3]) {
      const share = await recoverShare(files, publisher, content, i);
      if (typeof share === 'string') throw new Error(`recover from ${i}: ${share}`);
      expect(checkShare(content.manifest.body, i, share)).toBe(true);
      shares.push({ x: i, bytes: share });
    }
    const keyScalar = combineKey(shares, 2, () => true);
    expect(toHex(openCek(suite, content.manifest.body, keyScalar) ?? new Uint8Array())).toBe(
      toHex(content.cek),
    );
  });

  it('answers each refusal on the wire with its code, and a publish again as unchanged', async () => {
    const wrongAudience = await ask(
      client,
      files,
      1,
      'recover',
      recoverFrame({
        quorum: files,
        session: publisher,
        contentId: content.contentId,
        node: 2,
        issuedAt: Date.now(),
      }),
      'share',
    );
    expect(wrongAudience).toMatchObject({ type: 'reject', code: ErrorCode.WRONG_AUDIENCE });
    const unknown = await ask(
      client,
      files,
      1,
      'recover',
      recoverFrame({
        quorum: files,
        session: publisher,
        contentId: new Uint8Array(32).fill(9),
        node: 1,
        issuedAt: Date.now(),
      }),
      'share',
    );
    expect(unknown).toMatchObject({ type: 'reject', code: ErrorCode.UNKNOWN_CONTENT });
    const garbage = await ask(client, files, 1, 'recover', new Uint8Array([0xff, 0x00]), 'share');
    expect(garbage).toMatchObject({ type: 'reject', code: ErrorCode.MALFORMED });
    // A v1 client (before decision 0016's share format) and a future one are both told which
    // versions the node speaks.
    for (const v of [1, 7]) {
      const other = await ask(
        client,
        files,
        1,
        'recover',
        encodeCanonical({ v, t: 'recover' }),
        'share',
      );
      expect(other).toMatchObject({
        type: 'reject',
        code: ErrorCode.UNSUPPORTED_VERSION,
        versions: [2],
      });
    }
    const info = await ask(client, files, 2, 'info', encodeMessage({ type: 'info' }), 'info-ok');
    expect(info).toMatchObject({ type: 'info-ok', info: { node: 2, versions: [2] } });
  });

  it('refuses a replayed request: sequentially, and of 50 concurrent copies exactly one is served', async () => {
    const frame = recoverFrame({
      quorum: files,
      session: publisher,
      contentId: content.contentId,
      node: 2,
      issuedAt: Date.now(),
    });
    const first = await ask(client, files, 2, 'recover', frame, 'share');
    expect(first.type).toBe('share');
    expect(await ask(client, files, 2, 'recover', frame, 'share')).toMatchObject({
      type: 'reject',
      code: ErrorCode.REPLAYED,
    });

    const copy = recoverFrame({
      quorum: files,
      session: publisher,
      contentId: content.contentId,
      node: 3,
      issuedAt: Date.now(),
    });
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => ask(client, files, 3, 'recover', copy, 'share')),
    );
    const served = answers.filter((a) => a.type === 'share');
    const replayed = answers.filter((a) => a.type === 'reject' && a.code === ErrorCode.REPLAYED);
    expect(served).toHaveLength(1);
    expect(replayed).toHaveLength(49);
  });

  it('still refuses a replay after the node restarts', async () => {
    const frame = recoverFrame({
      quorum: files,
      session: publisher,
      contentId: content.contentId,
      node: 1,
      issuedAt: Date.now(),
    });
    expect((await ask(client, files, 1, 'recover', frame, 'share')).type).toBe('share');
    await nodes[0]!.close();
    nodes[0] = await startNode(files, 1, { args: ROOMY });
    expect(nodes[0].previousShutdownClean).toBe(true);
    expect(await ask(client, files, 1, 'recover', frame, 'share')).toMatchObject({
      type: 'reject',
      code: ErrorCode.REPLAYED,
    });
    expect(typeof (await recoverShare(files, publisher, content, 1))).not.toBe('string');
  });

  it('detects a flipped byte in a stored share: INTERNAL, never the share', async () => {
    await nodes[2]!.close();
    const db = new Level<Uint8Array, Uint8Array>(join(files.dirs[2]!, DB_DIR), {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    let flipped = 0;
    for await (const [key, value] of db.iterator()) {
      if (key[0] === 0x63 /* content */) {
        const bad = value.slice();
        bad[bad.length - 20] = (bad[bad.length - 20] ?? 0) ^ 0x01;
        await db.put(key, bad, { sync: true });
        flipped++;
      }
    }
    await db.close();
    expect(flipped).toBe(1);
    nodes[2] = await startNode(files, 3, { args: ROOMY });
    expect(await recoverShare(files, publisher, content, 3)).toBe(ErrorCode.INTERNAL);
    const metrics =
      await nodes[2].metrics.registry.getSingleMetricAsString('qkms_store_errors_total');
    expect(metrics).toMatch(/qkms_store_errors_total\{kind="corrupt"\} 1/);
  });
});

describe('quorum nodes as child processes', () => {
  it('loses no acknowledged publish or nonce when killed -9 mid-stream, and distrusts old grants after', async () => {
    const f = await createQuorumFiles(3, 2);
    try {
      let node = await spawnNode(f, 1);
      const session = await sessionFixture(suite, f.nodeSet, {
        issuedAt: Date.now() - 1000,
        label: 8,
      });
      const first = contentFixture(suite, f.nodeSet, session, { kind: 'open' }, 100);
      await publishAll(f, first, [1]);
      const published: ContentFixture[] = [];
      const nonces: Uint8Array[] = [];
      let killed = false;
      const publisherLoop = (async () => {
        for (let k = 101; !killed; k++) {
          const c = contentFixture(suite, f.nodeSet, session, { kind: 'open' }, k);
          const frame = await publishFrame(f, c.manifest, c.shares[0]!, 1);
          const answer = await ask(client, f, 1, 'publish', frame, 'receipt').catch(
            () => undefined,
          );
          if (answer?.type === 'receipt') published.push(c);
        }
      })();
      const recoverLoop = (async () => {
        while (!killed) {
          const request = recoverRequest({
            quorum: f,
            session,
            contentId: first.contentId,
            node: 1,
            issuedAt: Date.now(),
          });
          const frame = encodeMessage({ type: 'recover', request, delegation: session.delegation });
          const answer = await ask(client, f, 1, 'recover', frame, 'share').catch(() => undefined);
          if (answer?.type === 'share') nonces.push(request.body.nonce);
        }
      })();
      while (published.length < 15 || nonces.length < 15)
        await new Promise((r) => setTimeout(r, 20));
      node.child.kill('SIGKILL');
      expect(await node.exited).toBe('SIGKILL');
      killed = true;
      await Promise.all([publisherLoop, recoverLoop]);

      const keystore = loadKeystore(f.dirs[0]!, { suite });
      const store = await NodeStore.open({
        path: join(f.dirs[0]!, DB_DIR),
        storageKey: keystore.storageKey,
        suite,
      });
      try {
        expect(store.previousShutdownClean).toBe(false);
        for (const c of published) {
          const record = await store.getContent(c.contentId);
          expect(record && toHex(record.share)).toBe(toHex(c.shares[0]!));
        }
        const stored = new Set((await store.listNonces(Date.now())).map((e) => toHex(e.nonce)));
        for (const nonce of nonces) expect(stored.has(toHex(nonce))).toBe(true);
      } finally {
        await store.close();
        keystore.wipe();
      }

      // The store above was closed cleanly, so kill the node once more to test the replay epoch.
      node = await spawnNode(f, 1);
      const before = recoverFrame({
        quorum: f,
        session,
        contentId: first.contentId,
        node: 1,
        issuedAt: Date.now() - 1000,
      });
      node.child.kill('SIGKILL');
      await node.exited;
      node = await spawnNode(f, 1);
      expect(await ask(client, f, 1, 'recover', before, 'share')).toMatchObject({
        type: 'reject',
        code: ErrorCode.STALE_EPOCH,
      });
      expect(typeof (await recoverShare(f, session, first, 1))).not.toBe('string');
      node.child.kill('SIGTERM');
      expect(await node.exited).toBe(0);
    } finally {
      f.cleanup();
    }
  });

  it('publish then recover through nodes started by the real executable', async () => {
    const f = await createQuorumFiles(3, 2);
    const children = [];
    try {
      for (let i = 1; i <= 3; i++) children.push(await spawnNode(f, i));
      expect(children[0]!.ready).toMatch(/qkms node 1 ready: peer 12D3KooW/);
      const session = await sessionFixture(suite, f.nodeSet, {
        issuedAt: Date.now() - 1000,
        label: 7,
      });
      const c = contentFixture(suite, f.nodeSet, session, { kind: 'open' }, 7);
      await publishAll(f, c, [1, 2, 3]);
      const share = await recoverShare(f, session, c, 2);
      expect(share).toBeInstanceOf(Uint8Array);
      expect(toHex(share as Uint8Array)).toBe(toHex(c.shares[1]!));
    } finally {
      for (const child of children) child.child.kill('SIGTERM');
      const codes = await Promise.all(children.map((c) => c.exited));
      expect(codes).toEqual([0, 0, 0]);
      f.cleanup();
    }
  });
});
