// `qkms node status --quorum FILE`: each node's reachability, version and
// round-trip time, as seen from here.
import { defaultSuite, type NodeHealth } from '../../protocol/index.ts';
import { QuorumClient } from '../../client/index.ts';
import { whenSlow } from '../progress.ts';
import { QUORUM_FLAG_HELP, loadQuorum } from '../quorum-file.ts';
import { parseArgs } from '../args.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { noPositionals, printJson, type CliIo } from '../io.ts';

export const STATUS_USAGE = `Usage: qkms node status [--quorum FILE] [--json]

Asks every node of the quorum who it is: reachable or not, the node set it
serves, its protocol versions and software, and the round trip; and what it
reports of itself: the peers it reaches, how long since its revocations were
last in sync with a majority (lag), the shares it holds and its audit head.
--json prints one object: ok, threshold, healthy (nodes) and nodes (each
node's status and health, PeerIds in full).

${QUORUM_FLAG_HELP}

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config, EXIT.unavailable], {
  [EXIT.ok]: 'at least t nodes are reachable and serve this node set',
  [EXIT.config]: 'the quorum file cannot be read',
  [EXIT.unavailable]: 'fewer than t nodes are reachable and serve this node set',
})}`;

export const STATUS_FLAGS = { quorum: 'string', json: 'boolean', help: 'boolean' } as const;

function healthText(h: NodeHealth | undefined): string {
  if (h === undefined) return '';
  const lag =
    h.revocationLagMs === null ? 'never synced' : `lag ${Math.round(h.revocationLagMs / 1000)} s`;
  const peers = h.peers.length === 0 ? 'none' : h.peers.join(',');
  return `\n         peers ${peers}  revocations ${h.revocations} (${lag})  shares ${h.shares}  audit head ${h.auditHead}`;
}

export async function nodeStatus(argv: readonly string[], io: CliIo): Promise<number> {
  const { flags: values, positionals } = parseArgs(argv, STATUS_FLAGS);
  if (values.help === true) {
    io.stdout.write(`${STATUS_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  const nodeSet = loadQuorum(io, defaultSuite(), values.quorum);
  const client = await QuorumClient.create({ nodeSet, requestTimeoutMs: 3_000 });
  try {
    const statuses = await whenSlow(
      io,
      {
        prefix: 'qkms node status',
        start: `asking ${nodeSet.nodes.length} nodes`,
        done: `asked ${nodeSet.nodes.length} nodes`,
      },
      () => client.info(),
    );
    const healthy = statuses.filter(
      (s) => s.reachable && s.sameNodeSet === true && s.servesIndex === s.index,
    ).length;
    if (values.json === true) {
      printJson(io, {
        ok: healthy >= nodeSet.threshold,
        threshold: nodeSet.threshold,
        healthy,
        nodes: statuses,
      });
    } else {
      for (const s of statuses) {
        const state = !s.reachable
          ? 'unreachable'
          : s.code !== undefined
            ? `refused (${s.code})`
            : s.sameNodeSet !== true || s.servesIndex !== s.index
              ? 'serves another node set or index'
              : `ok  ${s.software ?? ''}  v${(s.versions ?? []).join(',')}  ${Math.round(s.ms ?? 0)} ms${healthText(s.health)}`;
        io.stdout.write(`node ${s.index}  ${s.peerId.slice(0, 16)}…  ${state}\n`);
      }
      io.stdout.write(
        `${healthy} of ${statuses.length} nodes healthy; ${nodeSet.threshold} needed to recover\n`,
      );
    }
    return healthy >= nodeSet.threshold ? EXIT.ok : EXIT.unavailable;
  } finally {
    await client.close();
  }
}
