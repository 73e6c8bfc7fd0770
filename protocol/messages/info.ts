// The messages of /qkms/info (docs/protocol.md §8): 'info' asks a node who it
// is; 'info-ok' names its node set, its index, the protocol versions it speaks
// and its software, with its operational state for `qkms node status`.
// (The audit-witness messages share this protocol: audit-head.ts.)
import { readArray, readBytes, readMap, readText, readUint } from '../codec/read.ts';
import { ID_BYTES, MAX_NODES, MAX_TEXT_BYTES } from '../constants.ts';
import type { MessageCodec } from './codec.ts';
import { readVersions } from './fields.ts';

/** A node's operational state, for `qkms node status` (counts and indices only). */
export interface NodeHealth {
  /** Node-set indices of the peers this node has a live connection to. */
  readonly peers: readonly number[];
  /** Revocation records in its live set. */
  readonly revocations: number;
  /** Milliseconds since it was last in sync with a majority of the node set; null if never. */
  readonly revocationLagMs: number | null;
  /** Content shares it holds. */
  readonly shares: number;
  /** Sequence number of its last durable audit record (0: none). */
  readonly auditHead: number;
}

export interface NodeInfo {
  readonly nodeSetId: Uint8Array;
  readonly node: number;
  readonly versions: readonly number[];
  /** Software name and version, e.g. "qkms/0.1.0". */
  readonly software: string;
  readonly health?: NodeHealth;
}

export interface InfoMessage {
  readonly type: 'info';
}

export interface InfoOkMessage {
  readonly type: 'info-ok';
  readonly info: NodeInfo;
}

function readHealth(value: unknown): NodeHealth {
  const h = readMap(value, 'health', [
    'peers',
    'revocations',
    'revocationLagMs',
    'shares',
    'auditHead',
  ]);
  const lag = h['revocationLagMs'];
  return {
    peers: readArray(h['peers'], 'health.peers', MAX_NODES).map((p, i) =>
      readUint(p, `health.peers[${i}]`, 1, MAX_NODES),
    ),
    revocations: readUint(h['revocations'], 'health.revocations', 0, Number.MAX_SAFE_INTEGER),
    revocationLagMs:
      lag === null ? null : readUint(lag, 'health.revocationLagMs', 0, Number.MAX_SAFE_INTEGER),
    shares: readUint(h['shares'], 'health.shares', 0, Number.MAX_SAFE_INTEGER),
    auditHead: readUint(h['auditHead'], 'health.auditHead', 0, Number.MAX_SAFE_INTEGER),
  };
}

export const infoCodec: MessageCodec<InfoMessage> = {
  type: 'info',
  required: [],
  optional: [],
  encode: () => ({}),
  decode: () => ({ type: 'info' }),
};

export const infoOkCodec: MessageCodec<InfoOkMessage> = {
  type: 'info-ok',
  required: ['nodeSet', 'node', 'versions', 'software'],
  optional: ['health'],
  encode: ({ info }) => {
    const h = info.health;
    return {
      nodeSet: info.nodeSetId,
      node: info.node,
      versions: [...info.versions],
      software: info.software,
      ...(h === undefined
        ? {}
        : {
            health: {
              peers: [...h.peers],
              revocations: h.revocations,
              revocationLagMs: h.revocationLagMs,
              shares: h.shares,
              auditHead: h.auditHead,
            },
          }),
    };
  },
  decode: (m) => ({
    type: 'info-ok',
    info: {
      nodeSetId: readBytes(m['nodeSet'], 'nodeSet', ID_BYTES),
      node: readUint(m['node'], 'node', 1, MAX_NODES),
      versions: readVersions(m['versions'], 'versions'),
      software: readText(m['software'], 'software', MAX_TEXT_BYTES),
      ...(m['health'] === undefined ? {} : { health: readHealth(m['health']) }),
    },
  }),
};
