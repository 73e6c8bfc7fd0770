// `qkms node start` failures an operator can act on, as the real executable
// meets them: a libp2p port in use, a data directory another node holds, an
// HTTP port in use. Each ends with one sentence naming the address or the
// folder, no stack trace, and exit 8 — which the systemd unit lists in
// RestartPreventExitStatus=, so it does not restart the node forever. And the
// settings: a required one given nowhere is a usage error (2), as in every
// command; a malformed value in the config file a configuration error (3).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  createQuorumFiles,
  freePort,
  spawnNode,
  type NodeProcess,
  type QuorumFiles,
} from '../support/quorum.ts';

/** cli/exit.ts EXIT.usage, EXIT.config, EXIT.inUse. */
const EXIT_USAGE = 2;
const EXIT_CONFIG = 3;
const EXIT_IN_USE = 8;
/** A start that fails does so in a few seconds; generous for slow machines. */
const EXIT_TIMEOUT_MS = 60_000;

let files: QuorumFiles;
const servers: Server[] = [];
const nodes: NodeProcess[] = [];

beforeAll(async () => {
  files = await createQuorumFiles(2, 2);
});
afterAll(() => {
  files.cleanup();
});
afterEach(async () => {
  for (const node of nodes.splice(0)) {
    node.child.kill('SIGTERM');
    await node.exited;
  }
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** Holds 127.0.0.1:port open, as another program would. */
async function occupy(port: number): Promise<void> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve();
    });
  });
}

/** Runs `qkms node start ARGS` to its end: exit code and output. */
async function startToExit(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'qkms.ts'), 'node', 'start', ...args],
    { env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node start did not exit; stderr: ${stderr}`));
    }, EXIT_TIMEOUT_MS);
    child.once('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, stdout, stderr };
}

/** The command's own lines on stderr (the daemon's JSON log lines aside). */
function commandLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
}

function expectOneSentence(stderr: string, pattern: RegExp): void {
  const lines = commandLines(stderr);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('faultTolerance');
}

/** `node start` flags for node `index` of the files: its directory, the node set, `listen`, `http`. */
function nodeFlags(index: number, listen: readonly string[], http = '127.0.0.1:0'): string[] {
  return [
    '--dir',
    files.dirs[index - 1] ?? '',
    '--nodeset',
    files.nodeSetPath,
    ...listen.flatMap((a) => ['--listen', a]),
    '--http',
    http,
  ];
}

describe('qkms node start: start failures', () => {
  it('its libp2p port in use: one sentence naming the address, exit 8', async () => {
    const port = files.ports[0] ?? 0;
    await occupy(port);
    const run = await startToExit(nodeFlags(1, [`/ip4/127.0.0.1/tcp/${port}`]));
    expect(run.code).toBe(EXIT_IN_USE);
    expectOneSentence(
      run.stderr,
      new RegExp(
        `^qkms node start: libp2p listen address /ip4/127\\.0\\.0\\.1/tcp/${port} is in use`,
      ),
    );
    expect(run.stdout).toBe('');
  });

  it('its WebRTC-direct UDP port in use: one sentence naming the address, exit 8', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => {
      socket.bind(0, '127.0.0.1', resolve);
    });
    const udp = socket.address().port;
    try {
      const run = await startToExit(
        nodeFlags(1, [
          `/ip4/127.0.0.1/tcp/${files.ports[0] ?? 0}`,
          `/ip4/127.0.0.1/udp/${udp}/webrtc-direct`,
        ]),
      );
      expect(run.code).toBe(EXIT_IN_USE);
      expectOneSentence(
        run.stderr,
        new RegExp(
          `^qkms node start: WebRTC-direct listen address /ip4/127\\.0\\.0\\.1/udp/${udp}/webrtc-direct cannot be bound: its UDP port is in use`,
        ),
      );
      // stdout may hold the native ICE library's own lines (libjuice prints them itself).
      expect(
        run.stdout.split('\n').filter((l) => l !== '' && !/ (WARN|ERROR|FATAL) /.test(l)),
      ).toEqual([]);
    } finally {
      socket.close();
    }
  });

  it('a data directory another node is running on: one sentence naming the folder, exit 8, the running node unharmed', async () => {
    const first = await spawnNode(files, 1);
    nodes.push(first);
    const run = await startToExit(nodeFlags(1, ['/ip4/127.0.0.1/tcp/0']));
    expect(run.code).toBe(EXIT_IN_USE);
    expectOneSentence(
      run.stderr,
      new RegExp(
        `^qkms node start: data directory ${files.dirs[0] ?? ''} is in use by another process`,
      ),
    );
    expect(run.stderr).not.toContain('Database failed to open');
    expect(first.child.exitCode).toBeNull();
  });

  it('its HTTP port in use: one sentence naming the address, exit 8', async () => {
    const http = await freePort();
    await occupy(http);
    const run = await startToExit(
      nodeFlags(2, [`/ip4/127.0.0.1/tcp/${files.ports[1] ?? 0}`], `127.0.0.1:${http}`),
    );
    expect(run.code).toBe(EXIT_IN_USE);
    expectOneSentence(
      run.stderr,
      new RegExp(`^qkms node start: HTTP address 127\\.0\\.0\\.1:${http} .*is in use`),
    );
    expect(run.stderr).not.toContain('EADDRINUSE');
  });

  it('the systemd unit treats exit 8 (and 2, 3) as final', () => {
    const unit = readFileSync(join(REPO_ROOT, 'deploy', 'systemd', 'qkms-node.service'), 'utf8');
    const line = unit.split('\n').find((l) => l.startsWith('RestartPreventExitStatus='));
    expect(line?.split('=')[1]?.trim().split(/\s+/).map(Number).sort()).toEqual([2, 3, 8]);
  });
});

describe('qkms node start: settings', () => {
  it('a required setting given nowhere (no --dir, QKMS_DIR or "dir"): one sentence, exit 2', async () => {
    const run = await startToExit(['--nodeset', files.nodeSetPath]);
    expect(run.code).toBe(EXIT_USAGE);
    expectOneSentence(
      run.stderr,
      /^qkms node start: dir: required; set --dir DIR, QKMS_DIR, or "dir" in the config file/,
    );
    expect(run.stdout).toBe('');
  });

  it('a malformed value in the config file: one sentence naming the file and key, exit 3', async () => {
    const config = join(files.root, 'bad-config.json');
    writeFileSync(config, JSON.stringify({ dir: files.dirs[0], maxInflight: 'many' }));
    const run = await startToExit(['--config', config, '--nodeset', files.nodeSetPath]);
    expect(run.code).toBe(EXIT_CONFIG);
    expectOneSentence(
      run.stderr,
      /^qkms node start: config file .*bad-config\.json: "maxInflight": expected an integer/,
    );
  });
});
