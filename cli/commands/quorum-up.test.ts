import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, isQkmsError } from '../../protocol/index.ts';
import { runCli, type CliRun } from '../../test/support/cli.ts';
import {
  QUORUM_UP_DEFAULTS,
  assertPortsFree,
  parseQuorumUpArgs,
  quorumPorts,
} from './quorum-up-args.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'qkms-quorum-up-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function run(argv: readonly string[]): Promise<CliRun> {
  return runCli(argv, { cwd: root });
}

/** Listens on an OS-chosen loopback port; the caller closes the server. */
async function occupyPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

function usageMessage(argv: readonly string[]): string {
  try {
    parseQuorumUpArgs(argv, root);
  } catch (e) {
    if (isQkmsError(e, ErrorCode.INVALID_ARGUMENT)) return e.message;
    throw e;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

describe('qkms quorum', () => {
  it('--help lists the up command, and qkms help mentions it', async () => {
    const r = await run(['quorum', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/qkms quorum up\s+run a local development quorum/);
    expect((await run(['help'])).stdout).toContain('qkms quorum up');
  });

  it('up --help prints the usage and starts nothing', async () => {
    const r = await run(['quorum', 'up', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: qkms quorum up \[--nodes N\] \[--threshold T\]/);
    expect(r.stdout).toContain('NOT encrypted');
    expect(existsSync(join(root, '.qkms'))).toBe(false);
  });
});

describe('qkms quorum up flags', () => {
  it('defaults: 5 nodes, threshold 3, DIR .qkms under the working directory, base port 7101, a dev chain', () => {
    expect(parseQuorumUpArgs([], root)).toEqual({
      dir: join(root, QUORUM_UP_DEFAULTS.dir),
      nodes: 5,
      threshold: 3,
      basePort: 7101,
      chain: true,
      json: false,
    });
    expect(parseQuorumUpArgs(['--no-chain'], root)?.chain).toBe(false);
  });

  it('the dev chain listens on base + 1444 (8545 by default), and only its port is probed when it runs', () => {
    const withChain = quorumPorts({ nodes: 5, basePort: 7101, chain: true });
    expect(withChain.find((u) => u.what === 'dev chain (anvil)')?.port).toBe(8545);
    expect(quorumPorts({ nodes: 5, basePort: 7101 }).some((u) => u.what.includes('chain'))).toBe(
      false,
    );
  });

  it('the default threshold is 3, or N when fewer nodes are asked for', () => {
    expect(parseQuorumUpArgs(['--nodes', '2'], root)?.threshold).toBe(2);
    expect(parseQuorumUpArgs(['--nodes', '32'], root)?.threshold).toBe(3);
  });

  it('accepts the bounds: 2 of 2, 32 of 32, the highest base port that fits', () => {
    expect(parseQuorumUpArgs(['--nodes', '2', '--threshold', '2'], root)).toMatchObject({
      nodes: 2,
      threshold: 2,
    });
    expect(parseQuorumUpArgs(['--nodes=32', '--threshold=32', '--json'], root)).toMatchObject({
      nodes: 32,
      threshold: 32,
      json: true,
    });
    // 5 nodes: the last HTTP port is base + 2000 + 4 <= 65535.
    expect(parseQuorumUpArgs(['--base-port', '63531'], root)?.basePort).toBe(63531);
    expect(parseQuorumUpArgs(['--base-port', '1024'], root)?.basePort).toBe(1024);
    expect(parseQuorumUpArgs(['--dir', '/abs/q'], root)?.dir).toBe('/abs/q');
  });

  it.each([
    [['--nodes', '1'], '--nodes: expected an integer in [2, 32], got "1"'],
    [['--nodes', '33'], '--nodes: expected an integer in [2, 32], got "33"'],
    [['--nodes', 'five'], '--nodes: expected an integer in [2, 32], got "five"'],
    [['--nodes', '05'], '--nodes: expected an integer in [2, 32], got "05"'],
    [['--nodes', '3.0'], '--nodes: expected an integer in [2, 32], got "3.0"'],
    [['--nodes', '-3'], '--nodes: expected an integer in [2, 32], got "-3"'],
    [['--threshold', '1'], '--threshold: expected an integer in [2, 32], got "1"'],
    [['--threshold', '6'], '--threshold: expected at most --nodes (5), got 6'],
    [['--nodes', '3', '--threshold', '4'], '--threshold: expected at most --nodes (3), got 4'],
    [
      ['--base-port', '80'],
      '--base-port: expected an integer in [1024, 63531] (5 nodes use PORT..PORT+4 and PORT+2000..PORT+2004), got "80"',
    ],
    [
      ['--base-port', '63532'],
      '--base-port: expected an integer in [1024, 63531] (5 nodes use PORT..PORT+4 and PORT+2000..PORT+2004), got "63532"',
    ],
    [
      ['--nodes', '32', '--base-port', '63520'],
      '--base-port: expected an integer in [1024, 63504] (32 nodes use PORT..PORT+31 and PORT+2000..PORT+2031), got "63520"',
    ],
    [
      ['--base-port', '65536'],
      '--base-port: expected an integer in [1024, 63531] (5 nodes use PORT..PORT+4 and PORT+2000..PORT+2004), got "65536"',
    ],
    [
      ['--base-port', ''],
      '--base-port: expected an integer in [1024, 63531] (5 nodes use PORT..PORT+4 and PORT+2000..PORT+2004), got ""',
    ],
    [['--dir', ''], '--dir: expected a directory, got ""'],
    [['--dir', 'a', '--dir', 'b'], '--dir: given more than once'],
    [['--json=yes'], '--json: takes no value'],
    [['--passphrase', 'x'], '--passphrase: unknown option'],
    [['extra'], '"extra": unexpected argument'],
  ] as const)('refuses %j', (argv, message) => {
    expect(usageMessage(argv)).toBe(message);
  });

  it('a bad flag is a usage error (exit 2) that names the flag and creates nothing', async () => {
    const r = await run(['quorum', 'up', '--dir', 'q', '--nodes', '40']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `qkms quorum up: --nodes: expected an integer in [2, 32], got "40" (try 'qkms quorum up --help')\n`,
    );
    expect(existsSync(join(root, 'q'))).toBe(false);
  });
});

describe('qkms quorum up ports', () => {
  it('node i listens on base + i - 1, WebSocket on base + 1000 + i - 1, metrics on base + 2000 + i - 1', () => {
    expect(quorumPorts({ nodes: 3, basePort: 7101 })).toEqual([
      { port: 7101, what: 'node 1 libp2p' },
      { port: 8101, what: 'node 1 WebSocket' },
      { port: 8101, what: 'node 1 WebRTC-direct', udp: true },
      { port: 9101, what: 'node 1 metrics' },
      { port: 7102, what: 'node 2 libp2p' },
      { port: 8102, what: 'node 2 WebSocket' },
      { port: 8102, what: 'node 2 WebRTC-direct', udp: true },
      { port: 9102, what: 'node 2 metrics' },
      { port: 7103, what: 'node 3 libp2p' },
      { port: 8103, what: 'node 3 WebSocket' },
      { port: 8103, what: 'node 3 WebRTC-direct', udp: true },
      { port: 9103, what: 'node 3 metrics' },
    ]);
  });

  it('assertPortsFree names the port that is taken and what it was for', async () => {
    const { server, port } = await occupyPort();
    try {
      await expect(assertPortsFree([{ port, what: 'node 2 metrics' }])).rejects.toMatchObject({
        code: ErrorCode.CONFIG_INVALID,
        message: expect.stringContaining(`port ${port} (node 2 metrics) is not free on 127.0.0.1`),
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    await expect(assertPortsFree([{ port, what: 'node 2 metrics' }])).resolves.toBeUndefined();
  });

  it('assertPortsFree probes a UDP use with a UDP socket, and names it /udp', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => {
      socket.bind(0, '127.0.0.1', resolve);
    });
    const port = socket.address().port;
    try {
      const use = { port, what: 'node 1 WebRTC-direct', udp: true } as const;
      await expect(assertPortsFree([use])).rejects.toMatchObject({
        message: expect.stringContaining(`port ${port}/udp (node 1 WebRTC-direct) is not free`),
      });
      // The same number over TCP is free: the probe is per protocol.
      await expect(assertPortsFree([{ port, what: 'node 1 WebSocket' }])).resolves.toBeUndefined();
    } finally {
      socket.close();
    }
  });

  it('a taken port stops `up` before anything is written (exit 3)', async () => {
    const { server, port } = await occupyPort();
    try {
      // Node 2's libp2p port is the taken one.
      const r = await run([
        'quorum',
        'up',
        '--dir',
        'q',
        '--nodes',
        '2',
        '--base-port',
        String(port - 1),
      ]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`${port} (node 2 libp2p)`);
      expect(r.stderr).toContain('choose another --base-port');
      expect(existsSync(join(root, 'q'))).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
