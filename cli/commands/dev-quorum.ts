// The files of a local development quorum (`qkms quorum up`), all under one
// directory DIR:
//   DIR/nodes/<index>/keystore.json   each node's keystore, UNENCRYPTED (a dev
//                                     quorum; the file mode 0600 is all that guards it)
//   DIR/admin.key                     the dev admin key, as `qkms admin key new` writes it
//   DIR/nodeset.json                  the node set, signed by that admin
//   DIR/quorum.json                   the client config: the signed node set, how to
//                                     reach each node, and the dev chain (quorum-up.ts)
//   DIR/chain/                        the dev chain's state and log (dev-chain.ts)
//   DIR/quorum-up.pid                 while `qkms quorum up` runs: its pid (lockDevQuorumDir)
// Running again reuses every key. The node set is rewritten only when it
// would differ (other --nodes, --threshold or ports, or a key replaced by
// hand), with the epoch one higher; then `notes` says so.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_NODE_SET_PARAMS,
  createNodeSetDocument,
  fromHex,
  parseSignedNodeSetJson,
  serializeSignedNodeSet,
  signNodeSet,
  toHex,
  wipe,
  type CryptoSuite,
  type NodeSet,
  type NodeSetParams,
  type SignedNodeSetJson,
} from '../../protocol/index.ts';
import {
  KEYSTORE_FILE,
  initKeystore,
  loadOrCreateWebRtcCertificate,
  prepareSecretDir,
  readKeystorePublicInfo,
} from '../../node/index.ts';
import { replacePublicFile } from '../files.ts';
import { configError } from '../io.ts';
import { createAdminKey, readAdminKey } from './admin-key.ts';
import type { DevChainConfig } from './dev-chain.ts';

/** Format version of quorum.json (its `qkmsQuorum` field). */
export const QUORUM_CONFIG_FORMAT = 1;
/** Node `i` serves HTTP (metrics, health) on basePort + HTTP_PORT_OFFSET + i − 1: 7101 → 9101, as `node start` defaults. */
export const HTTP_PORT_OFFSET = 2000;
/** Node `i` also listens for libp2p over WebSocket (browsers) on basePort + WS_PORT_OFFSET + i − 1: 7101 → 8101. */
export const WS_PORT_OFFSET = 1000;
export const QUORUM_CONFIG_FILE = 'quorum.json';
export const NODE_SET_FILE = 'nodeset.json';
export const ADMIN_KEY_FILE = 'admin.key';
export const NODE_LOG_FILE = 'node.log';
/** The loopback host every dev node listens on. */
export const DEV_HOST = '127.0.0.1';

/** Parameters of a dev node set: the protocol defaults, and a SIWE domain and chain id for local use. */
export const DEV_NODE_SET_PARAMS: NodeSetParams = {
  ...DEFAULT_NODE_SET_PARAMS,
  siweDomain: 'qkms.local',
  chainId: 1,
};

/** The lock file naming the `qkms quorum up` process that runs DIR's nodes. */
export const LOCK_FILE = 'quorum-up.pid';

export interface DevQuorumLayout {
  /** Absolute path of DIR. */
  readonly dir: string;
  readonly nodes: number;
  readonly threshold: number;
  /** Node `i` listens for libp2p on basePort + i − 1. */
  readonly basePort: number;
  /** The dev chain, recorded in quorum.json's "chain" for the `dev chain` commands (none: left out). */
  readonly chain?: DevChainConfig;
}

export interface DevQuorumNode {
  readonly index: number;
  readonly peerId: string;
  /** Its data directory, DIR/nodes/<index>. */
  readonly dir: string;
  /** Where it listens: TCP on PORT, and WebSocket (TCP) and WebRTC-direct (UDP) on WSPORT. */
  readonly listen: readonly string[];
  /** What a Node client dials: the TCP listen address with /p2p/<peerId>. */
  readonly multiaddr: string;
  /** What a browser dials: the WebSocket listen address with /p2p/<peerId>. */
  readonly websocket: string;
  /** What a page served over https dials without a CA certificate: WebRTC-direct, certhash and /p2p/<peerId>. */
  readonly webrtcDirect: string;
  readonly httpPort: number;
  /** http://127.0.0.1:PORT/metrics */
  readonly metrics: string;
  /** DIR/nodes/<index>/node.log, where its stderr goes. */
  readonly log: string;
}

export interface DevQuorum {
  readonly dir: string;
  readonly nodeSetFile: string;
  readonly configFile: string;
  readonly adminKeyFile: string;
  readonly nodeSet: NodeSet;
  readonly nodes: readonly DevQuorumNode[];
  /** What was created, reused or rewritten, one sentence each, for the operator. */
  readonly notes: readonly string[];
}

/** One entry of quorum.json's "nodes". */
export interface QuorumConfigNode {
  readonly index: number;
  readonly peerId: string;
  readonly multiaddr: string;
  readonly websocket: string;
  readonly webrtcDirect: string;
  readonly metrics: string;
}

/** quorum.json: everything a client needs to use the quorum. */
export interface QuorumConfigJson {
  readonly qkmsQuorum: typeof QUORUM_CONFIG_FORMAT;
  readonly nodeSet: SignedNodeSetJson;
  readonly nodes: readonly QuorumConfigNode[];
  /** The dev chain `qkms quorum up` runs, when it runs one. */
  readonly chain?: DevChainConfig;
}

export function libp2pPort(basePort: number, index: number): number {
  return basePort + index - 1;
}

export function wsPort(basePort: number, index: number): number {
  return basePort + WS_PORT_OFFSET + index - 1;
}

export function httpPort(basePort: number, index: number): number {
  return basePort + HTTP_PORT_OFFSET + index - 1;
}

export function nodeDir(dir: string, index: number): string {
  return join(dir, 'nodes', String(index));
}

/** The node set already in DIR/nodeset.json, or why there is none to compare with. */
function readPreviousNodeSet(suite: CryptoSuite, path: string): NodeSet | 'absent' | 'invalid' {
  if (!existsSync(path)) return 'absent';
  try {
    return parseSignedNodeSetJson(suite, readFileSync(path, 'utf8'));
  } catch {
    return 'invalid';
  }
}

/** Why the node set changed, in the operator's words. */
function describeChange(before: NodeSet, after: NodeSet): string {
  const portOf = (set: NodeSet): string =>
    /\/tcp\/(\d+)/.exec(set.nodes[0]?.multiaddrs[0] ?? '')?.[1] ?? '?';
  const reasons: string[] = [];
  if (before.nodes.length !== after.nodes.length) {
    reasons.push(`nodes ${before.nodes.length} → ${after.nodes.length}`);
  }
  if (before.threshold !== after.threshold) {
    reasons.push(`threshold ${before.threshold} → ${after.threshold}`);
  }
  if (portOf(before) !== portOf(after)) {
    reasons.push(`base port ${portOf(before)} → ${portOf(after)}`);
  }
  const replaced = after.nodes
    .filter((n) => {
      const old = before.node(n.index);
      return old !== undefined && old.peerId !== n.peerId;
    })
    .map((n) => n.index);
  if (replaced.length > 0) reasons.push(`new keys for nodes ${replaced.join(', ')}`);
  const [oldAdmin] = before.admins.keys;
  const [newAdmin] = after.admins.keys;
  if (oldAdmin === undefined || newAdmin === undefined || toHex(oldAdmin) !== toHex(newAdmin)) {
    reasons.push('a new admin key');
  }
  return reasons.length > 0 ? reasons.join(', ') : 'other contents';
}

/** The node's keystore: reused if present (it must be unencrypted), else created unencrypted. */
function nodeKeystore(
  suite: CryptoSuite,
  dir: string,
): { readonly peerId: string; readonly kemPublicKey: string; readonly created: boolean } {
  if (existsSync(join(dir, KEYSTORE_FILE))) {
    const existing = readKeystorePublicInfo(dir);
    if (existing.encrypted) {
      throw configError(
        `${existing.path} is encrypted, but a dev quorum starts its nodes without a passphrase; move ${dir} away (or use another --dir)`,
      );
    }
    return { ...existing.publicInfo, created: false };
  }
  const made = initKeystore(dir, { suite });
  return { ...made.publicInfo, created: true };
}

/**
 * Creates or reuses the keystores, the admin key, the signed node set and
 * quorum.json of a dev quorum in `layout.dir`. Throws QkmsError
 * (KEYSTORE_INVALID, CONFIG_INVALID) naming the file at fault.
 */
export async function prepareDevQuorum(
  suite: CryptoSuite,
  layout: DevQuorumLayout,
): Promise<DevQuorum> {
  const { dir, nodes: n, threshold, basePort } = layout;
  prepareSecretDir(dir);
  const notes: string[] = [];

  const keys = Array.from({ length: n }, (_, i) => nodeKeystore(suite, nodeDir(dir, i + 1)));
  const createdCount = keys.filter((k) => k.created).length;
  notes.push(
    createdCount === n
      ? `created ${n} node keystores in ${join(dir, 'nodes')}`
      : createdCount === 0
        ? `reused the ${n} node keystores in ${join(dir, 'nodes')}`
        : `reused ${n - createdCount} and created ${createdCount} node keystores in ${join(dir, 'nodes')}`,
  );

  // Each node's WebRTC-direct certificate, kept in its directory: the node set pins its hash.
  const certhashes = await Promise.all(
    keys.map(async (_, i) => (await loadOrCreateWebRtcCertificate(nodeDir(dir, i + 1))).certhash),
  );

  const adminKeyFile = join(dir, ADMIN_KEY_FILE);
  let seed: Uint8Array | undefined;
  let nodeSetText: string;
  const nodeSetFile = join(dir, NODE_SET_FILE);
  try {
    if (existsSync(adminKeyFile)) {
      notes.push(`reused the dev admin key ${adminKeyFile}`);
    } else {
      createAdminKey(adminKeyFile, suite);
      notes.push(`created the dev admin key ${adminKeyFile}`);
    }
    seed = readAdminKey(adminKeyFile);
    const adminKey = suite.hybrid.getPublicKey(seed);

    const previous = readPreviousNodeSet(suite, nodeSetFile);
    const documentFor = (
      epoch: number,
      predecessor: Uint8Array | undefined,
    ): ReturnType<typeof createNodeSetDocument> =>
      createNodeSetDocument({
        epoch,
        ...(predecessor === undefined ? {} : { predecessor }),
        threshold,
        nodes: keys.map((k, i) => ({
          index: i + 1,
          peerId: k.peerId,
          multiaddrs: [
            `/ip4/${DEV_HOST}/tcp/${libp2pPort(basePort, i + 1)}`,
            `/ip4/${DEV_HOST}/tcp/${wsPort(basePort, i + 1)}/ws`,
            `/ip4/${DEV_HOST}/udp/${wsPort(basePort, i + 1)}/webrtc-direct/certhash/${certhashes[i] ?? ''}`,
          ],
          kemPublicKey: fromHex(k.kemPublicKey),
        })),
        admins: { threshold: 1, keys: [adminKey] },
        params: DEV_NODE_SET_PARAMS,
      });
    // seed is assigned above; the closures run before the finally wipes it.
    const admin = (): { index: number; secretKey: Uint8Array } => ({
      index: 0,
      secretKey: seed ?? new Uint8Array(),
    });
    const sign = (epoch: number, predecessor: Uint8Array | undefined): string => {
      const document = documentFor(epoch, predecessor);
      return serializeSignedNodeSet(document, [signNodeSet(suite, document, admin())]);
    };
    // A successor names the set it follows and is signed by that set's admin too (the same dev
    // admin key), so a client that pinned the old set can follow the chain.
    const successor = (of: NodeSet): string => {
      const document = documentFor(of.epoch + 1, of.id);
      return serializeSignedNodeSet(
        document,
        [signNodeSet(suite, document, admin())],
        [signNodeSet(suite, document, admin(), { predecessor: of })],
      );
    };

    if (typeof previous === 'string') {
      nodeSetText = sign(1, undefined);
      replacePublicFile(nodeSetFile, nodeSetText, nodeSetFile);
      notes.push(
        previous === 'absent'
          ? `wrote the node set ${nodeSetFile}`
          : `${nodeSetFile} was not a valid node set; wrote a new one`,
      );
    } else {
      const same = parseSignedNodeSetJson(suite, sign(previous.epoch, previous.predecessor));
      if (suite.equalBytes(same.id, previous.id)) {
        nodeSetText = readFileSync(nodeSetFile, 'utf8');
        notes.push(`reused the node set ${nodeSetFile}`);
      } else {
        const epoch = previous.epoch + 1;
        nodeSetText = successor(previous);
        replacePublicFile(nodeSetFile, nodeSetText, nodeSetFile);
        notes.push(
          `the node set changed (${describeChange(previous, same)}): wrote a new ${nodeSetFile}, epoch ${epoch}; node keys kept`,
        );
      }
    }
  } finally {
    if (seed !== undefined) wipe(seed);
  }

  const nodeSet = parseSignedNodeSetJson(suite, nodeSetText);
  const nodes: DevQuorumNode[] = nodeSet.nodes.map((entry) => {
    // What the node listens on: its node-set addresses without the certhash it serves.
    const listen = entry.multiaddrs.map((a) => a.replace(/\/certhash\/.*$/, ''));
    const port = httpPort(basePort, entry.index);
    const home = nodeDir(dir, entry.index);
    return {
      index: entry.index,
      peerId: entry.peerId,
      dir: home,
      listen,
      multiaddr: `${listen[0] ?? ''}/p2p/${entry.peerId}`,
      websocket: `${listen.find((a) => a.endsWith('/ws')) ?? ''}/p2p/${entry.peerId}`,
      webrtcDirect: `${entry.multiaddrs.find((a) => a.includes('/webrtc-direct')) ?? ''}/p2p/${entry.peerId}`,
      httpPort: port,
      metrics: `http://${DEV_HOST}:${port}/metrics`,
      log: join(home, NODE_LOG_FILE),
    };
  });
  const config: QuorumConfigJson = {
    qkmsQuorum: QUORUM_CONFIG_FORMAT,
    nodeSet: JSON.parse(nodeSetText) as SignedNodeSetJson,
    nodes: nodes.map(({ index, peerId, multiaddr, websocket, webrtcDirect, metrics }) => ({
      index,
      peerId,
      multiaddr,
      websocket,
      webrtcDirect,
      metrics,
    })),
    ...(layout.chain === undefined ? {} : { chain: layout.chain }),
  };
  const configFile = join(dir, QUORUM_CONFIG_FILE);
  replacePublicFile(configFile, `${JSON.stringify(config, null, 2)}\n`, configFile);
  notes.push(`wrote the client config ${configFile}`);
  return { dir, nodeSetFile, configFile, adminKeyFile, nodeSet, nodes, notes };
}

/**
 * Claims DIR for this process: DIR/quorum-up.pid, refused while the process it
 * names runs. Returns the release function.
 */
export function lockDevQuorumDir(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      break;
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EEXIST' || attempt > 0) {
        throw configError(`${path}: cannot create the lock file`);
      }
    }
    let pid = Number.NaN;
    try {
      pid = Number(readFileSync(path, 'utf8').trim());
    } catch {
      // Unreadable: treated as stale.
    }
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw configError(
        `${dir} is in use by another 'qkms quorum up' (pid ${pid}); stop it first, or remove ${path} if that process is not qkms`,
      );
    }
    rmSync(path, { force: true });
  }
  return () => {
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path, { force: true });
    } catch {
      // Already gone.
    }
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === 'EPERM';
  }
}
