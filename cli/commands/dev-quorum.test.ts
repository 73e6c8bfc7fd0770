import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  parseSignedNodeSet,
  parseSignedNodeSetJson,
  requireNativeSuite,
  toHex,
} from '../../protocol/index.ts';
import { initKeystore, readKeystorePublicInfo } from '../../node/index.ts';
import { readWebRtcCertificate } from '../../node/network/webrtc-cert.ts';
import { readAdminKey } from './admin-key.ts';
import {
  LOCK_FILE,
  lockDevQuorumDir,
  nodeDir,
  prepareDevQuorum,
  type DevQuorumLayout,
  type QuorumConfigJson,
} from './dev-quorum.ts';
import type { CliIo } from '../io.ts';
import { main } from '../main.ts';

const suite = requireNativeSuite();

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'qkms-dev-quorum-'));
  dir = join(root, 'q');
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function layout(overrides: Partial<DevQuorumLayout> = {}): DevQuorumLayout {
  return { dir, nodes: 3, threshold: 2, basePort: 17101, ...overrides };
}

function readConfig(): QuorumConfigJson {
  return JSON.parse(readFileSync(join(dir, 'quorum.json'), 'utf8')) as QuorumConfigJson;
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('prepareDevQuorum', () => {
  it('creates unencrypted keystores, a 0600 admin key, a valid signed node set and quorum.json', async () => {
    const q = await prepareDevQuorum(suite, layout());
    for (let i = 1; i <= 3; i++) {
      const info = readKeystorePublicInfo(nodeDir(dir, i));
      expect(info.encrypted).toBe(false);
      expect(mode(info.path)).toBe(0o600);
    }
    // The format `qkms admin key new` writes: one line, 0x and 128 lower-case hex.
    expect(readFileSync(join(dir, 'admin.key'), 'utf8')).toMatch(/^0x[0-9a-f]{128}\n$/);
    expect(mode(join(dir, 'admin.key'))).toBe(0o600);

    const set = parseSignedNodeSetJson(suite, readFileSync(join(dir, 'nodeset.json'), 'utf8'));
    expect(set.epoch).toBe(1);
    expect(set.threshold).toBe(2);
    expect(set.admins.threshold).toBe(1);
    expect(toHex(set.admins.keys[0] ?? new Uint8Array())).toBe(
      toHex(suite.hybrid.getPublicKey(readAdminKey(join(dir, 'admin.key')))),
    );
    expect(set.params).toEqual({
      maxGrantAgeMs: 120_000,
      maxClockSkewMs: 30_000,
      maxDelegationLifetimeMs: 7 * 24 * 3_600_000,
      siweDomain: 'qkms.local',
      chainId: 1,
    });
    // TCP, WebSocket, and WebRTC-direct pinned to the certificate in the node's directory.
    const certhash = (i: number): string => readWebRtcCertificate(nodeDir(dir, i)).certhash;
    expect(set.nodes.map((n) => [n.index, n.multiaddrs])).toEqual(
      [1, 2, 3].map((i) => [
        i,
        [
          `/ip4/127.0.0.1/tcp/${17100 + i}`,
          `/ip4/127.0.0.1/tcp/${18100 + i}/ws`,
          `/ip4/127.0.0.1/udp/${18100 + i}/webrtc-direct/certhash/${certhash(i)}`,
        ],
      ]),
    );
    expect(q.nodes[0]?.listen).toEqual([
      '/ip4/127.0.0.1/tcp/17101',
      '/ip4/127.0.0.1/tcp/18101/ws',
      '/ip4/127.0.0.1/udp/18101/webrtc-direct',
    ]);

    const config = readConfig();
    expect(config.qkmsQuorum).toBe(1);
    expect(toHex(parseSignedNodeSet(suite, config.nodeSet).id)).toBe(toHex(set.id));
    expect(config.nodes).toEqual(
      set.nodes.map((n) => ({
        index: n.index,
        peerId: n.peerId,
        multiaddr: `/ip4/127.0.0.1/tcp/${17100 + n.index}/p2p/${n.peerId}`,
        websocket: `/ip4/127.0.0.1/tcp/${18100 + n.index}/ws/p2p/${n.peerId}`,
        webrtcDirect: `/ip4/127.0.0.1/udp/${18100 + n.index}/webrtc-direct/certhash/${certhash(n.index)}/p2p/${n.peerId}`,
        metrics: `http://127.0.0.1:${19100 + n.index}/metrics`,
      })),
    );
    expect(q.nodes.map((n) => n.log)).toEqual(
      [1, 2, 3].map((i) => join(dir, 'nodes', String(i), 'node.log')),
    );
    expect(q.notes).toContain(`created 3 node keystores in ${join(dir, 'nodes')}`);
  });

  it('a second run with the same flags reuses every key and the node set itself', async () => {
    const first = await prepareDevQuorum(suite, layout());
    const nodeSetText = readFileSync(join(dir, 'nodeset.json'), 'utf8');
    const adminKey = readFileSync(join(dir, 'admin.key'), 'utf8');
    const second = await prepareDevQuorum(suite, layout());
    expect(second.nodes.map((n) => n.peerId)).toEqual(first.nodes.map((n) => n.peerId));
    expect(readFileSync(join(dir, 'nodeset.json'), 'utf8')).toBe(nodeSetText);
    expect(readFileSync(join(dir, 'admin.key'), 'utf8')).toBe(adminKey);
    expect(second.notes).toEqual([
      `reused the 3 node keystores in ${join(dir, 'nodes')}`,
      `reused the dev admin key ${join(dir, 'admin.key')}`,
      `reused the node set ${join(dir, 'nodeset.json')}`,
      `wrote the client config ${join(dir, 'quorum.json')}`,
    ]);
  });

  it('other --nodes, --threshold or ports: a new node set at the next epoch, the keys kept, and says so', async () => {
    const first = await prepareDevQuorum(suite, layout());
    const second = await prepareDevQuorum(
      suite,
      layout({ nodes: 4, threshold: 3, basePort: 18101 }),
    );
    expect(second.nodeSet.epoch).toBe(2);
    expect(second.nodeSet.threshold).toBe(3);
    expect(second.nodes.slice(0, 3).map((n) => n.peerId)).toEqual(first.nodes.map((n) => n.peerId));
    expect(second.nodes[3]?.multiaddr).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/18104\/p2p\/12D3KooW/);
    expect(second.notes).toContain(
      `the node set changed (nodes 3 → 4, threshold 2 → 3, base port 17101 → 18101): wrote a new ${join(dir, 'nodeset.json')}, epoch 2; node keys kept`,
    );
    expect(readConfig().nodeSet.document.epoch).toBe(2);

    // Back to fewer nodes: node 4's keystore stays on disk, unused.
    const third = await prepareDevQuorum(
      suite,
      layout({ nodes: 3, threshold: 3, basePort: 18101 }),
    );
    expect(third.nodeSet.epoch).toBe(3);
    expect(third.nodes).toHaveLength(3);
    expect(readKeystorePublicInfo(nodeDir(dir, 4)).publicInfo.peerId).toBe(second.nodes[3]?.peerId);
  });

  it('an invalid nodeset.json is replaced, and the note says so', async () => {
    await prepareDevQuorum(suite, layout());
    writeFileSync(join(dir, 'nodeset.json'), '{"document": 1}');
    const q = await prepareDevQuorum(suite, layout());
    expect(q.notes).toContain(
      `${join(dir, 'nodeset.json')} was not a valid node set; wrote a new one`,
    );
    expect(q.nodeSet.epoch).toBe(1);
  });

  it('refuses an encrypted keystore: its node could not start without a passphrase', async () => {
    initKeystore(nodeDir(dir, 2), {
      suite,
      passphrase: 'correct horse battery staple',
      insecureTestKdf: { logN: 4 },
    });
    await expect(prepareDevQuorum(suite, layout())).rejects.toThrow(
      expect.objectContaining({
        code: ErrorCode.CONFIG_INVALID,
        message: expect.stringContaining(
          'is encrypted, but a dev quorum starts its nodes without a passphrase',
        ),
      }),
    );
  });

  it('refuses a malformed admin key rather than replacing it', async () => {
    await prepareDevQuorum(suite, layout());
    writeFileSync(join(dir, 'admin.key'), 'not a key\n', { mode: 0o600 });
    await expect(prepareDevQuorum(suite, layout())).rejects.toThrow(
      expect.objectContaining({ code: ErrorCode.KEYSTORE_INVALID }),
    );
  });

  it('`qkms admin nodeset show` accepts the node set it writes', async () => {
    await prepareDevQuorum(suite, layout());
    let stdout = '';
    const io: CliIo = {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: () => true },
      env: {},
      cwd: root,
      readFile: (path) => readFileSync(path, 'utf8'),
    };
    expect(
      await main(['admin', 'nodeset', 'show', '--nodeset', join(dir, 'nodeset.json')], io),
    ).toBe(0);
    expect(stdout).toContain('Threshold   2 of 3 nodes');
  });

  it('one `quorum up` per DIR: a lock naming a live process is refused, a stale one replaced', async () => {
    await prepareDevQuorum(suite, layout());
    const lock = join(dir, LOCK_FILE);
    // The parent of this test process is alive and is not us.
    writeFileSync(lock, `${process.ppid}\n`);
    expect(() => lockDevQuorumDir(dir)).toThrow(
      expect.objectContaining({
        code: ErrorCode.CONFIG_INVALID,
        message: expect.stringContaining(
          `is in use by another 'qkms quorum up' (pid ${process.ppid})`,
        ),
      }),
    );
    // No such process: stale.
    writeFileSync(lock, '2147483646\n');
    const release = lockDevQuorumDir(dir);
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(lock)).toBe(false);
  });
});
