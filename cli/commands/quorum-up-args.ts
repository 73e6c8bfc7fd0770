// The flags of `qkms quorum up`, validated before anything is written or
// started, and the ports they imply: node i listens for libp2p on
// base + i - 1 (TCP) and base + WS_PORT_OFFSET + i - 1 (WebSocket), and
// serves HTTP on base + HTTP_PORT_OFFSET + i - 1; the dev chain answers on
// base + CHAIN_PORT_OFFSET. A port
// that is already taken is found here, named, and refused.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from '../args.ts';
import { configError, noPositionals, usageError } from '../io.ts';
import { CHAIN_PORT_OFFSET } from './dev-chain.ts';
import { DEV_HOST, HTTP_PORT_OFFSET, httpPort, libp2pPort, wsPort } from './dev-quorum.ts';

export const QUORUM_UP_DEFAULTS = { nodes: 5, threshold: 3, dir: '.qkms', basePort: 7101 } as const;
/** Fewer than 2 nodes is no quorum; more than 32 processes on one machine is not a dev setup. */
export const QUORUM_UP_NODES = { min: 2, max: 32 } as const;
/** Ports a dev quorum may use: unprivileged (no root needed) up to the TCP maximum. */
export const QUORUM_UP_PORTS = { min: 1024, max: 65_535 } as const;

export interface QuorumUpOptions {
  /** Absolute path of DIR. */
  readonly dir: string;
  readonly nodes: number;
  readonly threshold: number;
  readonly basePort: number;
  /** Run the dev chain (anvil) and point the nodes at it; --no-chain leaves it out. */
  readonly chain: boolean;
  readonly json: boolean;
}

/** A port the quorum needs, and what for ("node 2 libp2p"); TCP unless `udp`. */
export interface PortUse {
  readonly port: number;
  readonly what: string;
  readonly udp?: true;
}

export const QUORUM_UP_FLAGS = {
  nodes: 'string',
  threshold: 'string',
  dir: 'string',
  'base-port': 'string',
  'no-chain': 'boolean',
  json: 'boolean',
  help: 'boolean',
} as const;

function intFlag(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
  why = '',
): number | undefined {
  if (value === undefined) return undefined;
  const n = /^(0|[1-9][0-9]{0,8})$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) {
    throw usageError(
      `${flag}: expected an integer in [${min}, ${max}]${why}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** Validates the flags of `qkms quorum up`; null for --help. Throws INVALID_ARGUMENT naming the flag. */
export function parseQuorumUpArgs(argv: readonly string[], cwd: string): QuorumUpOptions | null {
  const { flags, positionals } = parseArgs(argv, QUORUM_UP_FLAGS);
  if (flags.help) return null;
  noPositionals(positionals);
  const nodes =
    intFlag(flags.nodes, '--nodes', QUORUM_UP_NODES.min, QUORUM_UP_NODES.max) ??
    QUORUM_UP_DEFAULTS.nodes;
  const threshold =
    intFlag(flags.threshold, '--threshold', 2, QUORUM_UP_NODES.max) ??
    Math.min(QUORUM_UP_DEFAULTS.threshold, nodes);
  if (threshold > nodes) {
    throw usageError(`--threshold: expected at most --nodes (${nodes}), got ${threshold}`);
  }
  // The highest port used is the last node's HTTP port. (The default fits any N.)
  const maxBase = QUORUM_UP_PORTS.max - HTTP_PORT_OFFSET - (nodes - 1);
  const basePort =
    intFlag(
      flags['base-port'],
      '--base-port',
      QUORUM_UP_PORTS.min,
      maxBase,
      ` (${nodes} nodes use PORT..PORT+${nodes - 1} and PORT+${HTTP_PORT_OFFSET}..PORT+${HTTP_PORT_OFFSET + nodes - 1})`,
    ) ?? QUORUM_UP_DEFAULTS.basePort;
  const dir = flags.dir ?? QUORUM_UP_DEFAULTS.dir;
  if (dir === '') throw usageError('--dir: expected a directory, got ""');
  return {
    dir: resolve(cwd, dir),
    nodes,
    threshold,
    basePort,
    chain: flags['no-chain'] !== true,
    json: flags.json === true,
  };
}

/** Every port the quorum will listen on. */
export function quorumPorts(
  options: Pick<QuorumUpOptions, 'nodes' | 'basePort'> & { readonly chain?: boolean },
): PortUse[] {
  const uses: PortUse[] = [];
  if (options.chain === true)
    uses.push({ port: chainPort(options.basePort), what: 'dev chain (anvil)' });
  for (let i = 1; i <= options.nodes; i++) {
    uses.push({ port: libp2pPort(options.basePort, i), what: `node ${i} libp2p` });
    uses.push({ port: wsPort(options.basePort, i), what: `node ${i} WebSocket` });
    uses.push({ port: wsPort(options.basePort, i), what: `node ${i} WebRTC-direct`, udp: true });
    uses.push({ port: httpPort(options.basePort, i), what: `node ${i} metrics` });
  }
  return uses;
}

/** Where the dev chain's anvil listens: basePort + CHAIN_PORT_OFFSET (7101 → 8545). */
export function chainPort(basePort: number): number {
  return basePort + CHAIN_PORT_OFFSET;
}

/** Whether PORT on 127.0.0.1 can be listened on (bound, for UDP) now: null if so, else the errno ("EADDRINUSE"). */
function probePort(port: number, udp: boolean): Promise<string | null> {
  if (udp)
    return new Promise((resolveProbe) => {
      const socket = createSocket('udp4');
      socket.once('error', (e: NodeJS.ErrnoException) => {
        socket.close();
        resolveProbe(e.code ?? 'error');
      });
      socket.bind({ port, address: DEV_HOST, exclusive: true }, () => {
        socket.close(() => {
          resolveProbe(null);
        });
      });
    });
  return new Promise((resolveProbe) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      resolveProbe(e.code ?? 'error');
    });
    server.listen({ port, host: DEV_HOST, exclusive: true }, () => {
      server.close(() => {
        resolveProbe(null);
      });
    });
  });
}

/** Throws CONFIG_INVALID naming every port that is taken. */
export async function assertPortsFree(uses: readonly PortUse[]): Promise<void> {
  const results = await Promise.all(
    uses.map(async (u) => ({ ...u, error: await probePort(u.port, u.udp === true) })),
  );
  const busy = results.filter((r) => r.error !== null);
  if (busy.length === 0) return;
  const list = busy
    .map(
      (b) =>
        `${b.port}${b.udp === true ? '/udp' : ''} (${b.what})${b.error === 'EADDRINUSE' ? '' : `: ${b.error ?? ''}`}`,
    )
    .join(', ');
  throw configError(
    `${busy.length === 1 ? 'port' : 'ports'} ${list} ${busy.length === 1 ? 'is' : 'are'} not free on ${DEV_HOST}; stop what holds ${busy.length === 1 ? 'it' : 'them'} (another 'qkms quorum up'?) or choose another --base-port`,
  );
}
