// A quorum of in-process daemons on loopback, and the players that use it:
// what the client, revocation and audit e2e suites share.
import { generatePrivateKey } from 'viem/accounts';
import { Session, walletFromPrivateKey, type WalletSigner } from '../../client/index.ts';
import type { Daemon, DaemonDeps } from '../../node/daemon.ts';
import { encodeMessage, type NodeSet } from '../../protocol/internal.ts';
import { createQuorumFiles, startNode, type QuorumFiles } from './quorum.ts';

/** How one node starts: extra flags, environment, test hooks. */
export interface NodeSpec {
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
  readonly deps?: DaemonDeps;
}

export interface Quorum {
  readonly files: QuorumFiles;
  /** By index - 1; undefined while a node is stopped. */
  readonly nodes: (Daemon | undefined)[];
  /** (Re)starts node `index` as its spec says. */
  readonly start: (index: number) => Promise<Daemon>;
}

export async function startQuorum(
  n: number,
  t: number,
  options: {
    readonly admins?: number;
    readonly adminThreshold?: number;
    readonly node?: (index: number) => NodeSpec;
  } = {},
): Promise<Quorum> {
  const files = await createQuorumFiles(n, t, {
    ...(options.admins === undefined ? {} : { admins: options.admins }),
    ...(options.adminThreshold === undefined ? {} : { adminThreshold: options.adminThreshold }),
  });
  const nodes: (Daemon | undefined)[] = [];
  const start = async (index: number): Promise<Daemon> => {
    const spec = options.node?.(index) ?? {};
    const daemon = await startNode(files, index, {
      ...(spec.args === undefined ? {} : { args: spec.args }),
      ...(spec.env === undefined ? {} : { env: spec.env }),
      ...(spec.deps === undefined ? {} : { deps: spec.deps }),
    });
    nodes[index - 1] = daemon;
    return daemon;
  };
  for (let i = 1; i <= n; i++) await start(i);
  return { files, nodes, start };
}

export async function stopQuorum(q: Quorum | undefined): Promise<void> {
  if (q === undefined) return;
  for (const node of q.nodes) await node?.close();
  q.files.cleanup();
}

export async function stopNode(q: Quorum, index: number): Promise<void> {
  await q.nodes[index - 1]?.close();
  q.nodes[index - 1] = undefined;
}

/** A fresh random wallet. */
export function newWallet(): WalletSigner {
  return walletFromPrivateKey(generatePrivateKey());
}

/** A player session of `wallet` for an hour, allowed to publish and recover anything. */
export function playerSession(
  nodeSet: NodeSet,
  wallet: WalletSigner = newWallet(),
  actions: readonly ('publish' | 'recover')[] = ['publish', 'recover'],
): Promise<Session> {
  return Session.create({
    wallet,
    nodeSet,
    capabilities: { actions, content: 'all' },
    lifetimeMs: 3_600_000,
  });
}

/** A recover frame for node `node`, signed by `player` now, for any content id. */
export async function signedRecoverFrame(
  player: Session,
  node: number,
  contentId: Uint8Array,
): Promise<Uint8Array> {
  const grant = await player.grant();
  return encodeMessage({
    type: 'recover',
    request: player.signRecoverRequest(grant, { node, contentId, issuedAt: Date.now() }),
    delegation: grant.delegation,
  });
}
