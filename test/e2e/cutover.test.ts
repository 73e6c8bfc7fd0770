// Long file: one quorum of node processes taken through five epochs, each change checked from the player's, the admin's and the disk's side.
// Membership change end to end (decisions 0016 and 0017): `qkms admin
// reshare` then `qkms admin cutover` against node processes, epoch after
// epoch on one quorum. A player pinned to the first set recovers in a loop
// through every change and never fails: it follows the chain.
//   epoch 1: nodes 1-5, t = 3 (a wallet revoked here)
//   too few old nodes up: the cutover refuses, nothing switches
//   epoch 2, join:    1-6, t = 4
//   epoch 3, leave:   1-4, t = 3      (5 and 6 retire: wipe and exit 0)
//   epoch 4, replace: 2-4 and 7, t = 3 (1 retires)
//   epoch 5, refresh: the same members, new shares
// After each: every content opens from t' nodes of the new set (the rest
// stopped), the revoked wallet is still refused by every node, retired nodes
// exited with their line and hold no share on disk.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuorumClient, RecoverError, type Session } from '../../client/index.ts';
import { initKeystore, loadKeystore } from '../../node/index.ts';
import {
  createNodeSetDocument,
  fromHex,
  requireNativeSuite,
  serializeSignedNodeSet,
  signNodeSet,
  toHex,
  verifyNodeSetChain,
  type Manifest,
  type NodeEntry,
  type NodeSet,
} from '../../protocol/internal.ts';
import { runCli } from '../support/cli.ts';
import { newWallet, playerSession } from '../support/in-process.ts';
import {
  createQuorumFiles,
  freePort,
  spawnNode,
  isRunning,
  stopAllNodes,
  withNodeStore,
  type NodeProcess,
  type QuorumFiles,
} from '../support/quorum.ts';

const suite = requireNativeSuite();
const CONTENTS = 4;
const ROOMY = ['--per-ip-burst', '1000', '--per-peer-burst', '1000', '--per-wallet-burst', '1000'];

interface Published {
  readonly manifest: Manifest;
  readonly cek: Uint8Array;
}

interface Epoch {
  readonly path: string;
  readonly set: NodeSet;
  /** Process numbers (1..7) of its nodes, in the set's order. */
  readonly members: readonly number[];
}

let files: QuorumFiles;
/** Node processes by number - 1 (1-5 the first set's, 6 and 7 join later). */
const nodes: (NodeProcess | undefined)[] = [];
/** Output each node process printed on stdout, by number - 1. */
const stdout: string[] = [];
const dirs: string[] = [];
const ports: number[] = [];
let first: Epoch;
let client: QuorumClient;
let player: Session;
let revokedPlayer: Session;
const published: Published[] = [];

/** The node-set entry of process `n`: from the first set, or from its keystore. */
function entryOf(n: number, index: number): Omit<NodeEntry, 'nodePublicKey'> {
  const old = n <= 5 ? files.nodeSet.node(n) : undefined;
  if (old !== undefined)
    return {
      index,
      peerId: old.peerId,
      multiaddrs: old.multiaddrs,
      kemPublicKey: old.kemPublicKey,
    };
  const keystore = loadKeystore(dirs[n - 1] ?? '', { suite });
  const info = keystore.publicInfo;
  keystore.wipe();
  return {
    index,
    peerId: info.peerId,
    multiaddrs: [`/ip4/127.0.0.1/tcp/${ports[n - 1] ?? 0}`],
    kemPublicKey: fromHex(info.kemPublicKey),
  };
}

/** The successor of `previous` with processes `members` and threshold t, signed by the (same) admins. */
function successor(previous: Epoch, members: readonly number[], t: number): Epoch {
  const document = createNodeSetDocument({
    epoch: previous.set.epoch + 1,
    predecessor: previous.set.id,
    threshold: t,
    nodes: members.map((n, k) => entryOf(n, k + 1)),
    admins: previous.set.admins,
    params: previous.set.params,
  });
  const admin = { index: 0, secretKey: files.adminSeeds[0] ?? new Uint8Array() };
  const text = serializeSignedNodeSet(
    document,
    [signNodeSet(suite, document, admin)],
    [signNodeSet(suite, document, admin, { predecessor: previous.set })],
  );
  const path = join(files.root, `epoch-${previous.set.epoch + 1}.json`);
  writeFileSync(path, text);
  return { path, set: verifyNodeSetChain(suite, previous.set, [JSON.parse(text)]), members };
}

/** Starts process `n` on `nodeSetPath` (the set it first serves). */
async function start(n: number, nodeSetPath: string): Promise<void> {
  const on = { ...files, dirs, ports, nodeSetPath };
  const node = await spawnNode(on, n, { args: ROOMY });
  stdout[n - 1] = node.ready;
  node.child.stdout?.on('data', (chunk: Buffer) => {
    stdout[n - 1] = `${stdout[n - 1] ?? ''}${chunk.toString()}`;
  });
  nodes[n - 1] = node;
}

async function stop(n: number): Promise<void> {
  const node = nodes[n - 1];
  nodes[n - 1] = undefined;
  if (!isRunning(node)) return;
  node.child.kill('SIGTERM');
  expect(await node.exited).toBe(0);
}

const cli = (argv: readonly string[]) => runCli(argv, { cwd: files.root });

/** `qkms admin reshare` then `qkms admin cutover` from `from` to `to`, while the player recovers in a loop. */
async function change(from: Epoch, to: Epoch): Promise<{ recovers: number }> {
  let recovers = 0;
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const p = published[recovers % CONTENTS];
      if (p === undefined) break;
      try {
        const { cek } = await client.recover(p.manifest, player);
        if (toHex(cek) !== toHex(p.cek)) failures.push('wrong CEK');
      } catch (e) {
        failures.push(
          e instanceof RecoverError
            ? `${e.message}: ${e.report.map((r) => `${r.index} ${r.code ?? r.outcome}`).join(', ')}`
            : String(e),
        );
      }
      recovers++;
    }
  })();
  try {
    const base = ['--quorum', from.path, '--to', to.path, '--timeout-ms', '30000'];
    const reshare = await cli([
      'admin',
      'reshare',
      ...base,
      '--admin-key',
      files.adminKeyFiles[0] ?? '',
    ]);
    expect(reshare.code, reshare.stderr).toBe(0);
    const cut = await cli([
      'admin',
      'cutover',
      ...base,
      ...files.adminKeyFiles.flatMap((k) => ['--admin-key', k]),
    ]);
    expect(cut.code, `${cut.stdout}\n${cut.stderr}`).toBe(0);
    expect(cut.stdout).toContain(`cutover complete: epoch ${to.set.epoch}`);
  } finally {
    running = false;
    await loop;
  }
  expect(failures, 'recovers during the change').toEqual([]);
  expect(recovers).toBeGreaterThan(0);
  return { recovers };
}

/** Every content opens from exactly t' nodes of `epoch` (the others stopped for it, then restarted). */
async function opensFromThreshold(epoch: Epoch, stopped: readonly number[]): Promise<void> {
  expect(epoch.set.nodes.length - stopped.length).toBe(epoch.set.threshold);
  for (const n of stopped) await stop(n);
  try {
    for (const p of published) {
      const { cek, report } = await client.recover(p.manifest, player);
      expect(toHex(cek)).toBe(toHex(p.cek));
      // The player followed the chain: it asked the new set's nodes.
      expect(report.filter((r) => r.outcome === 'ok')).toHaveLength(epoch.set.threshold);
      expect(toHex(client.nodeSet.id)).toBe(toHex(epoch.set.id));
    }
    // A player app shipped with the new node-set file, its session and manifests from epoch 1.
    const pinned = await QuorumClient.create({ nodeSet: epoch.set, requestTimeoutMs: 20_000 });
    try {
      const p = published[0];
      if (p === undefined) throw new Error('nothing published');
      expect(toHex((await pinned.recover(p.manifest, player)).cek)).toBe(toHex(p.cek));
      expect(pinned.lineage.map((s) => s.epoch)).toEqual(
        Array.from({ length: epoch.set.epoch }, (_, i) => i + 1),
      );
    } finally {
      await pinned.close();
    }
  } finally {
    for (const n of stopped) await start(n, epoch.path);
  }
}

/** The revoked wallet is still refused: REVOKED by every node of the current set. */
async function stillRevoked(epoch: Epoch): Promise<void> {
  const p = published[0];
  if (p === undefined) throw new Error('nothing published');
  const error = await client.recover(p.manifest, revokedPlayer).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RecoverError);
  const report = (error as RecoverError).report;
  expect(report.map((r) => r.code)).toEqual(epoch.set.nodes.map(() => 'REVOKED'));
  // The admin lists it from the new set's file: an epoch-1 record, verified against epoch 1's admins.
  const listed = await cli([
    'admin',
    'revocations',
    '--quorum',
    epoch.path,
    '--node',
    '2',
    '--json',
  ]);
  expect(listed.code, listed.stderr).toBe(0);
  expect(JSON.parse(listed.stdout)).toMatchObject({ ok: true, count: 1 });
}

/** A retired process exited 0 with its line, and its store holds no share. */
async function retired(n: number): Promise<void> {
  const node = nodes[n - 1];
  expect(node, `process ${n}`).toBeDefined();
  expect(await node?.exited).toBe(0);
  nodes[n - 1] = undefined;
  expect(stdout[n - 1]).toMatch(
    /retired at the cutover to node set [0-9a-f]{16}…; its shares are wiped/,
  );
  await withNodeStore(dirs[n - 1] ?? '', async (store) => {
    expect(await store.listContentIds(new Uint8Array(0), 10)).toEqual([]);
  });
}

beforeAll(async () => {
  files = await createQuorumFiles(5, 3);
  dirs.push(...files.dirs);
  ports.push(...files.ports);
  for (const n of [6, 7]) {
    const dir = join(files.root, `node-${n}`);
    initKeystore(dir, { suite });
    dirs.push(dir);
    ports.push(await freePort());
  }
  first = { path: files.nodeSetPath, set: files.nodeSet, members: [1, 2, 3, 4, 5] };
  await Promise.all([1, 2, 3, 4, 5].map((n) => start(n, files.nodeSetPath)));
  client = await QuorumClient.create({ nodeSet: files.nodeSet, requestTimeoutMs: 20_000 });
  player = await playerSession(files.nodeSet);
  const revokedWallet = newWallet();
  revokedPlayer = await playerSession(files.nodeSet, revokedWallet);
  for (let i = 0; i < CONTENTS; i++) {
    const p = await client.publish(player, { policy: { kind: 'open' } });
    published.push({ manifest: p.manifest, cek: p.cek });
  }
  const revoke = await cli([
    'admin',
    'revoke',
    '--quorum',
    files.nodeSetPath,
    '--admin-key',
    files.adminKeyFiles[0] ?? '',
    '--wallet',
    revokedPlayer.address,
  ]);
  expect(revoke.code, revoke.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await client.close();
  player.destroy();
  revokedPlayer.destroy();
  await stopAllNodes(nodes);
  files.cleanup();
});

describe('membership change on node processes: reshare, then one signed cutover', () => {
  let epoch2: Epoch;
  let epoch3: Epoch;
  let epoch4: Epoch;

  it('with three of the five old nodes down the handover cannot complete: cutover exits 4, no node switches, the old set serves on', async () => {
    epoch2 = successor(first, [1, 2, 3, 4, 5, 6], 4);
    await start(6, epoch2.path);
    await Promise.all([3, 4, 5].map((n) => stop(n)));
    try {
      const cut = await cli([
        'admin',
        'cutover',
        '--quorum',
        first.path,
        '--to',
        epoch2.path,
        '--timeout-ms',
        '2000',
        ...files.adminKeyFiles.flatMap((k) => ['--admin-key', k]),
      ]);
      expect(cut.code, cut.stderr).toBe(4);
      expect(cut.stderr).toContain('NOT cut over: 0 of 4 contents are held by every new node');
    } finally {
      await Promise.all([3, 4, 5].map((n) => start(n, first.path)));
    }
    const info = await client.info();
    expect(info.map((i) => i.sameNodeSet)).toEqual([true, true, true, true, true]);
    for (const p of published) {
      const { cek } = await client.recover(p.manifest, player);
      expect(toHex(cek)).toBe(toHex(p.cek));
    }
  });

  it('join 5 -> 6, t 3 -> 4: recovers never fail, any 4 new nodes open every content, the revocation still applies', async () => {
    await change(first, epoch2);
    await opensFromThreshold(epoch2, [1, 6]);
    await stillRevoked(epoch2);
  });

  it('leave 6 -> 4, t 4 -> 3: nodes 5 and 6 retire (wipe, exit 0); any 3 of the rest open every content', async () => {
    epoch3 = successor(epoch2, [1, 2, 3, 4], 3);
    await change(epoch2, epoch3);
    await retired(5);
    await retired(6);
    await opensFromThreshold(epoch3, [2]);
    await stillRevoked(epoch3);
  });

  it('replace node 1 with node 7: node 1 retires and wipes, node 7 serves', async () => {
    epoch4 = successor(epoch3, [7, 2, 3, 4], 3);
    await start(7, epoch4.path);
    await change(epoch3, epoch4);
    await retired(1);
    await opensFromThreshold(epoch4, [3]);
    await stillRevoked(epoch4);
  });

  it('refresh with the same members: new shares, the same CEKs, the player pinned to epoch 1 still recovers', async () => {
    const epoch5 = successor(epoch4, [7, 2, 3, 4], 3);
    await change(epoch4, epoch5);
    await opensFromThreshold(epoch5, [7]);
    await stillRevoked(epoch5);
    expect(toHex(client.nodeSet.id)).toBe(toHex(epoch5.set.id));
  });
});
