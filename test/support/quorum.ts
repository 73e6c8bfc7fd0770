// A real local quorum for end-to-end tests: keystores made by the node's own
// keystore code, a signed node set on free loopback ports (TCP, and
// WebSocket or WebRTC-direct addresses per node for a browser on request), nodes started
// in-process (startDaemon) or as child processes (bin/qkms.ts node start),
// and a minimal libp2p test client.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import { DB_DIR, DB_INTEGRITY_DIR, startDaemon, type Daemon } from '../../node/daemon.ts';
import { initKeystore, loadKeystore, type Keystore } from '../../node/keystore.ts';
import { NodeStore } from '../../node/store/index.ts';
import { silentLogger } from '../../node/log.ts';
import { requestOnce } from '../../node/network/index.ts';
import { loadOrCreateWebRtcCertificate } from '../../node/network/webrtc-cert.ts';
import { parseNodeOptions } from '../../cli/node-options.ts';
import { quorumPorts } from '../../cli/commands/quorum-up-args.ts';
import {
  createNodeSetDocument,
  decodeMessage,
  fromHex,
  parseSignedNodeSetJson,
  requireNativeSuite,
  serializeSignedNodeSet,
  signNodeSet,
  toHex,
  type Message,
  type MessageType,
  type NodeSet,
} from '../../protocol/internal.ts';
import { seedBytes } from './protocol-fixture.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const suite = requireNativeSuite();

/**
 * Listen ports for test nodes come from below Linux's ephemeral range
 * (32768-60999): a port the kernel hands out as the source of some outgoing
 * connection could otherwise be taken while a test restarts a node on it.
 */
const TEST_PORT_RANGE = { low: 20_000, high: 32_000 } as const;
const takenThisRun = new Set<number>();

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => {
      resolveFree(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolveFree(true);
      });
    });
  });
}

/**
 * Every TCP port `qkms quorum up --nodes n --base-port base` listens on
 * (libp2p, WebSocket and metrics), as the command itself lists them.
 */
export function quorumUpPorts(base: number, n: number): number[] {
  return quorumPorts({ nodes: n, basePort: base, chain: true })
    .filter((u) => u.udp !== true)
    .map((u) => u.port);
}

/** A `--base-port` for `qkms quorum up --nodes n` whose every port is free now, below the ephemeral range. */
export async function freeQuorumBasePort(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = TEST_PORT_RANGE.low + Math.floor(Math.random() * 9_000);
    const ports = quorumUpPorts(base, n);
    if ((await Promise.all(ports.map(isPortFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range');
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port =
      TEST_PORT_RANGE.low +
      Math.floor(Math.random() * (TEST_PORT_RANGE.high - TEST_PORT_RANGE.low));
    if (takenThisRun.has(port) || !(await isPortFree(port))) continue;
    takenThisRun.add(port);
    return port;
  }
  throw new Error('no free test port');
}

export interface QuorumFiles {
  readonly root: string;
  readonly dirs: readonly string[];
  readonly ports: readonly number[];
  /** WebSocket listen ports, by index - 1, when made with `webSockets` (each node also listens on TCP). */
  readonly wsPorts?: readonly number[];
  /** WebRTC-direct (UDP) listen ports, by index - 1, when made with `webrtcDirect`. */
  readonly rtcPorts?: readonly number[];
  readonly nodeSetPath: string;
  readonly nodeSet: NodeSet;
  /** The admins' 64-byte hybrid seeds, by position in admins.keys. */
  readonly adminSeeds: readonly Uint8Array[];
  /** The same seeds as admin key files ('qkms admin key new' format, mode 0600). */
  readonly adminKeyFiles: readonly string[];
  cleanup(): void;
}

export async function createQuorumFiles(
  n: number,
  t: number,
  options: {
    admins?: number;
    adminThreshold?: number;
    /** Each node also listens on `/ws` (a browser dials it), listed after its TCP address. */
    webSockets?: boolean;
    /** Each node also listens on WebRTC-direct with its own certificate, listed last. */
    webrtcDirect?: boolean;
    /**
     * The IPv4 host of each node's addresses in the node set (what clients and peers dial), by
     * index - 1; 127.0.0.1 when absent. Only the node set changes: `listenArgs` still says
     * 127.0.0.1, so a caller announcing another host chooses where the node listens.
     */
    announceHosts?: readonly string[];
  } = {},
): Promise<QuorumFiles> {
  const root = mkdtempSync(join(tmpdir(), 'qkms-e2e-'));
  const adminSeeds = Array.from({ length: options.admins ?? 1 }, (_, i) => seedBytes(300 + i, 64));
  const adminKeyFiles = adminSeeds.map((seed, i) => {
    const path = join(root, `admin-${i}.key`);
    writeFileSync(path, `0x${toHex(seed)}\n`, { mode: 0o600 });
    return path;
  });
  const dirs = Array.from({ length: n }, (_, i) => join(root, `node-${i + 1}`));
  const infos = dirs.map((dir) => initKeystore(dir, { suite }).publicInfo);
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  const wsPorts: number[] = [];
  if (options.webSockets === true) for (let i = 0; i < n; i++) wsPorts.push(await freePort());
  const rtcPorts: number[] = [];
  const certhashes: string[] = [];
  if (options.webrtcDirect === true)
    for (const dir of dirs) {
      rtcPorts.push(await freePort());
      certhashes.push((await loadOrCreateWebRtcCertificate(dir)).certhash);
    }
  const host = (i: number): string => options.announceHosts?.[i] ?? '127.0.0.1';
  const document = createNodeSetDocument({
    epoch: 1,
    threshold: t,
    nodes: infos.map((info, i) => ({
      index: i + 1,
      peerId: info.peerId,
      multiaddrs: [
        `/ip4/${host(i)}/tcp/${ports[i] ?? 0}`,
        ...(options.webSockets === true ? [`/ip4/${host(i)}/tcp/${wsPorts[i] ?? 0}/ws`] : []),
        ...(options.webrtcDirect === true
          ? [
              `/ip4/${host(i)}/udp/${rtcPorts[i] ?? 0}/webrtc-direct/certhash/${certhashes[i] ?? ''}`,
            ]
          : []),
      ],
      kemPublicKey: fromHex(info.kemPublicKey),
    })),
    admins: {
      threshold: options.adminThreshold ?? 1,
      keys: adminSeeds.map((seed) => suite.hybrid.getPublicKey(seed)),
    },
    params: {
      maxGrantAgeMs: 120_000,
      maxClockSkewMs: 30_000,
      maxDelegationLifetimeMs: 7 * 24 * 3600_000,
      siweDomain: 'qkms.local',
      chainId: 1,
    },
  });
  const file = serializeSignedNodeSet(
    document,
    adminSeeds.map((secretKey, index) => signNodeSet(suite, document, { index, secretKey })),
  );
  const nodeSetPath = join(root, 'nodeset.json');
  writeFileSync(nodeSetPath, file);
  return {
    root,
    dirs,
    ports,
    ...(options.webSockets === true ? { wsPorts } : {}),
    ...(options.webrtcDirect === true ? { rtcPorts } : {}),
    nodeSetPath,
    nodeSet: parseSignedNodeSetJson(suite, file),
    adminSeeds,
    adminKeyFiles,
    cleanup: () => {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The --listen flags of node `index`: its TCP port, and its WebSocket and WebRTC-direct ports when the files have them. */
export function listenArgs(files: QuorumFiles, index: number): string[] {
  const ws = files.wsPorts?.[index - 1];
  const rtc = files.rtcPorts?.[index - 1];
  return [
    '--listen',
    `/ip4/127.0.0.1/tcp/${files.ports[index - 1] ?? 0}`,
    ...(ws === undefined ? [] : ['--listen', `/ip4/127.0.0.1/tcp/${ws}/ws`]),
    ...(rtc === undefined ? [] : ['--listen', `/ip4/127.0.0.1/udp/${rtc}/webrtc-direct`]),
  ];
}

function nodeArgs(files: QuorumFiles, index: number, extra: readonly string[] = []): string[] {
  return [
    '--dir',
    files.dirs[index - 1] ?? '',
    '--nodeset',
    files.nodeSetPath,
    ...listenArgs(files, index),
    '--http',
    '127.0.0.1:0',
    ...extra,
  ];
}

/** Starts node `index` in this process. */
export async function startNode(
  files: QuorumFiles,
  index: number,
  options: {
    env?: Record<string, string>;
    deps?: Parameters<typeof startDaemon>[1];
    args?: readonly string[];
  } = {},
): Promise<Daemon> {
  const parsed = parseNodeOptions({
    argv: nodeArgs(files, index, options.args),
    env: options.env ?? {},
    readFile: () => {
      throw new Error('no config file in tests');
    },
  });
  return startDaemon(parsed.options, { log: silentLogger, ...options.deps });
}

export interface NodeProcess {
  readonly child: ChildProcess;
  /** The ready line the node printed. */
  readonly ready: string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<number | NodeJS.Signals>;
}

/** Whether the node process is still running. */
export function isRunning(node: NodeProcess | undefined): node is NodeProcess {
  return node !== undefined && node.child.exitCode === null && node.child.signalCode === null;
}

/** SIGTERM to every node still running, and waits for each to exit (a suite's afterAll). */
export async function stopAllNodes(nodes: readonly (NodeProcess | undefined)[]): Promise<void> {
  await Promise.all(
    nodes.filter(isRunning).map(async (node) => {
      node.child.kill('SIGTERM');
      await node.exited;
    }),
  );
}

/** Starts node `index` as a child process of the real executable and waits for its ready line. */
export async function spawnNode(
  files: QuorumFiles,
  index: number,
  options: { env?: Record<string, string>; args?: readonly string[]; timeoutMs?: number } = {},
): Promise<NodeProcess> {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'qkms.ts'), 'node', 'start', ...nodeArgs(files, index, options.args)],
    {
      env: { PATH: process.env['PATH'] ?? '', QKMS_LOG_LEVEL: 'warn', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | NodeJS.Signals>((resolveExit) => {
    child.once('exit', (code, signal) => {
      resolveExit(signal ?? code ?? 0);
    });
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ready = await new Promise<string>((resolveReady, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      reject(new Error(`node ${index} not ready in time; stderr: ${stderr.slice(-2000)}`));
    }, options.timeoutMs ?? 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes(' ready: '));
      if (line !== undefined) {
        clearTimeout(timer);
        resolveReady(line);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `node ${index} exited (${String(code)}) before ready; stderr: ${stderr.slice(-2000)}`,
        ),
      );
    });
  });
  return { child, ready, exited };
}

export async function createClient(): Promise<Libp2p> {
  return createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
}

/** One request to node `index` over libp2p; the decoded answer (the expected type, or a reject). */
export async function ask<T extends MessageType>(
  client: Libp2p,
  files: QuorumFiles,
  index: number,
  protocol: 'recover' | 'publish' | 'info' | 'revoke',
  frame: Uint8Array,
  expected: T,
): Promise<Extract<Message, { type: T | 'reject' }>> {
  const node = files.nodeSet.nodes[index - 1];
  if (node === undefined) throw new Error(`no node ${index}`);
  const target = multiaddr(`${node.multiaddrs[0] ?? ''}/p2p/${node.peerId}`);
  const reply = await requestOnce(client, target, `/qkms/${protocol}/1`, frame, {
    signal: AbortSignal.timeout(10_000),
    maxReplyBytes: 1 << 16,
  });
  return decodeMessage(reply, 1 << 16, [expected, 'reject']);
}

/** Opens the store of the stopped node in `dir` as the daemon does (its keystore's key, its integrity mark). */
export async function withNodeStore<T>(
  dir: string,
  use: (store: NodeStore, keystore: Keystore) => Promise<T>,
): Promise<T> {
  const keystore = loadKeystore(dir, { suite, passphrase: undefined });
  try {
    const store = await NodeStore.open({
      path: join(dir, DB_DIR),
      integrityDir: join(dir, DB_INTEGRITY_DIR),
      storageKey: keystore.storageKey,
      suite,
    });
    try {
      return await use(store, keystore);
    } finally {
      await store.close();
    }
  } finally {
    keystore.wipe();
  }
}
