// What a frame trickled one byte per yamux frame costs a node (issue 12, item 1): one real
// `qkms node start` process on loopback, dialled by a libp2p client in this process, which sends
// a maximum-size request frame as one stream.send() per byte — once on the request channel
// (/qkms/channel/1, a publish request of MAX_CHANNEL_FRAME_BYTES) and once on a per-request
// stream (/qkms/publish/1, a MAX_FRAME_BYTES.publish frame) — and the same frames in one send
// each, for comparison. For each it prints the node's CPU time (user + system, from
// /proc/<pid>/stat, 10 ms resolution) from the first byte sent to 250 ms after the node's answer,
// median over --reps repetitions. Not a test: nothing is asserted.
//
//   npx node test/perf/attack-frames.ts [--json] [--reps N] [--qkms-root DIR]
//
// --qkms-root runs the node from another checkout (its bin/qkms.ts; e.g. a `git worktree`, or
// `git archive <commit> | tar -x -C DIR` with node_modules linked in, of an older commit, for a
// before/after figure); the client, the keystores and the node set are this tree's. The node
// gets --read-deadline-ms 60000, so its slow-loris deadline does not cut the trickle short.
// What is measured is all the node does for the frame: its libp2p stack (Noise, yamux, one
// message event per yamux frame) and qkms's reassembly; the `whole` rows show the frame itself
// costs next to nothing. Takes 20-30 s on two cores, loopback only.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import { spawnNodeChild, type NodeChild } from '../../cli/commands/node-children.ts';
import {
  CHANNEL_PROTOCOL,
  MAX_FRAME_BYTES,
  encodeChannelRequest,
  encodeFrame,
} from '../../protocol/internal.ts';
import { REPO_ROOT, createClient, createQuorumFiles } from '../support/quorum.ts';
import { cpuMs } from './proc-stats.ts';

const READY_TIMEOUT_MS = 60_000;
/** Bounds one attack frame: sending it byte by byte and the node's answer. */
const ATTACK_TIMEOUT_MS = 60_000;
/** After the answer, before the node's CPU is read again: work the frame left behind (GC). */
const SETTLE_MS = 250;
const DEFAULT_REPS = 3;

interface Args {
  readonly json: boolean;
  readonly reps: number;
  readonly qkmsRoot: string;
}

function usage(message: string): never {
  process.stderr.write(
    `attack-frames: ${message}\nusage: npx node test/perf/attack-frames.ts [--json] [--reps N] [--qkms-root DIR]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  let json = false;
  let reps = DEFAULT_REPS;
  let qkmsRoot = REPO_ROOT;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') json = true;
    else if (arg === '--reps') {
      reps = Number(argv[++i]);
      if (!Number.isSafeInteger(reps) || reps < 1 || reps > 15)
        usage('--reps takes an integer from 1 to 15');
    } else if (arg === '--qkms-root') {
      const dir = argv[++i];
      if (dir === undefined) usage('--qkms-root takes a directory');
      qkmsRoot = resolve(dir);
      if (!existsSync(join(qkmsRoot, 'bin', 'qkms.ts')))
        usage(`--qkms-root: no bin/qkms.ts in ${qkmsRoot}`);
    } else usage(`unknown option ${String(arg)}`);
  }
  return { json, reps, qkmsRoot };
}

type Protocol = typeof CHANNEL_PROTOCOL | '/qkms/publish/1';
type Chunking = 'one-byte' | 'whole';

interface Row {
  readonly protocol: Protocol;
  readonly chunking: Chunking;
  /** Bytes on the stream: the length prefix and the body. */
  readonly frameBytes: number;
  /** stream.send() calls for the frame. */
  readonly sends: number;
  /** Node CPU per frame, ms: the median, and every repetition. */
  readonly nodeCpuMs: number;
  readonly samplesMs: readonly number[];
  /** How the node ended the last repetition, and the bytes sent until then. */
  readonly outcome: 'answered' | 'reset';
  readonly bytesSent: number;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => {
    setTimeout(r, ms);
  });

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** The attack frame of each protocol: a publish request of that protocol's largest size. */
function attackFrame(protocol: Protocol): Uint8Array {
  // Zeros are not a valid message: the node refuses it MALFORMED right after reassembling it.
  if (protocol === CHANNEL_PROTOCOL)
    return encodeFrame(encodeChannelRequest('publish', 1, new Uint8Array(MAX_FRAME_BYTES.publish)));
  return encodeFrame(new Uint8Array(MAX_FRAME_BYTES.publish));
}

/**
 * Sends `frame` as `chunking` says, waiting for the stream to drain whenever it must; stops
 * when the node has ended the stream (an answer, a reset). Returns the bytes sent.
 */
async function send(
  stream: Stream,
  frame: Uint8Array,
  chunking: Chunking,
  signal: AbortSignal,
): Promise<number> {
  const step = chunking === 'one-byte' ? 1 : frame.length;
  let sent = 0;
  try {
    for (; sent < frame.length; sent += step) {
      if (stream.status !== 'open' || stream.writeStatus !== 'writable') break;
      // A fresh chunk each time, as an attacker's code would send it.
      if (!stream.send(frame.slice(sent, sent + step))) await stream.onDrain({ signal });
    }
  } catch {
    // the node reset the stream under us: that is how the attack ends
  }
  return Math.min(sent, frame.length);
}

/** How the node ended the attack: its first answer bytes, or closing or resetting the stream. */
function ending(stream: Stream, signal: AbortSignal): Promise<'answered' | 'reset'> {
  const { promise, resolve, reject } = Promise.withResolvers<'answered' | 'reset'>();
  const onMessage = (): void => {
    resolve('answered');
  };
  const onClose = (): void => {
    resolve('reset');
  };
  stream.addEventListener('message', onMessage);
  stream.addEventListener('close', onClose);
  signal.addEventListener('abort', () => {
    reject(new Error('the node neither answered nor reset in time'));
  });
  return promise.finally(() => {
    stream.removeEventListener('message', onMessage);
    stream.removeEventListener('close', onClose);
  });
}

interface Attack {
  readonly cpuMs: number;
  readonly outcome: 'answered' | 'reset';
  readonly bytesSent: number;
}

/** One attack frame on a new stream: the node's CPU it cost (ms), how it ended, bytes sent. */
async function attack(
  client: Libp2p,
  target: ReturnType<typeof multiaddr>,
  pid: number,
  protocol: Protocol,
  chunking: Chunking,
): Promise<Attack> {
  const signal = AbortSignal.timeout(ATTACK_TIMEOUT_MS);
  const stream = await client.dialProtocol(target, protocol, { signal });
  try {
    const frame = attackFrame(protocol);
    const before = cpuMs(pid);
    const ended = ending(stream, signal);
    const bytesSent = await send(stream, frame, chunking, signal);
    if (protocol !== CHANNEL_PROTOCOL && stream.writeStatus === 'writable')
      await stream.close({ signal }).catch(() => undefined);
    const outcome = await ended;
    await sleep(SETTLE_MS);
    return { cpuMs: cpuMs(pid) - before, outcome, bytesSent };
  } finally {
    if (stream.status === 'open' || stream.status === 'closing')
      stream.abort(new Error('attack done'));
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  // A node set has at least two nodes; only the first is started (the other is never dialled here).
  const files = await createQuorumFiles(2, 2);
  let child: NodeChild | undefined;
  const kill = (): void => {
    child?.signal('SIGKILL');
    files.cleanup();
  };
  process.on('exit', kill);
  const client = await createClient();
  try {
    child = spawnNodeChild({
      index: 1,
      command: process.execPath,
      args: [
        join(args.qkmsRoot, 'bin', 'qkms.ts'),
        'node',
        'start',
        ...['--dir', files.dirs[0] ?? ''],
        ...['--nodeset', files.nodeSetPath],
        ...['--listen', `/ip4/127.0.0.1/tcp/${files.ports[0] ?? 0}`],
        ...['--http', '127.0.0.1:0'],
        ...['--read-deadline-ms', '60000'],
      ],
      env: { PATH: process.env['PATH'], QKMS_LOG_LEVEL: 'warn' },
      cwd: args.qkmsRoot,
      logFile: join(files.root, 'node-1.log'),
    });
    const started = child;
    const notReady = AbortSignal.timeout(READY_TIMEOUT_MS); // unlike a timer, keeps no one waiting
    await Promise.race([
      started.ready,
      new Promise<never>((_, reject) => {
        notReady.addEventListener('abort', () => {
          reject(new Error('node not ready in time'));
        });
      }),
    ]).catch((e: unknown) => {
      throw new Error(`attack-frames: ${String(e)}; its log: ${started.logTail(20).join('\n')}`);
    });
    const pid = started.pid;
    if (pid === undefined) throw new Error('attack-frames: the node has no pid');
    const entry = files.nodeSet.nodes[0];
    if (entry === undefined) throw new Error('attack-frames: no node in the node set');
    const target = multiaddr(`${entry.multiaddrs[0] ?? ''}/p2p/${entry.peerId}`);
    log(`node ${pid} from ${args.qkmsRoot}; ${args.reps} repetitions per row`);

    // Warm up: the first requests of a process pay for JIT and lazy loading.
    for (const protocol of [CHANNEL_PROTOCOL, '/qkms/publish/1'] as const)
      await attack(client, target, pid, protocol, 'whole');

    const rows: Row[] = [];
    for (const protocol of [CHANNEL_PROTOCOL, '/qkms/publish/1'] as const) {
      for (const chunking of ['whole', 'one-byte'] as const) {
        const samplesMs: number[] = [];
        let last: Attack | undefined;
        for (let rep = 0; rep < args.reps; rep++) {
          last = await attack(client, target, pid, protocol, chunking);
          samplesMs.push(last.cpuMs);
          log(
            `${protocol} ${chunking} #${rep + 1}: ${last.cpuMs} ms node CPU, ${last.outcome} after ${last.bytesSent} bytes`,
          );
        }
        const frameBytes = attackFrame(protocol).length;
        rows.push({
          protocol,
          chunking,
          frameBytes,
          sends: chunking === 'one-byte' ? frameBytes : 1,
          nodeCpuMs: median(samplesMs),
          samplesMs,
          outcome: last?.outcome ?? 'reset',
          bytesSent: last?.bytesSent ?? 0,
        });
      }
    }

    if (args.json) {
      process.stdout.write(
        `${JSON.stringify({ qkmsRoot: args.qkmsRoot, reps: args.reps, cpuResolutionMs: 10, rows }, null, 2)}\n`,
      );
    } else {
      const header = [
        'protocol',
        'chunking',
        'frame bytes',
        'sends',
        'node CPU ms/frame',
        'ended',
        'bytes sent',
        'samples',
      ];
      const lines = rows.map((r) => [
        r.protocol,
        r.chunking,
        String(r.frameBytes),
        String(r.sends),
        String(r.nodeCpuMs),
        r.outcome,
        String(r.bytesSent),
        r.samplesMs.join(' '),
      ]);
      const widths = header.map((h, i) =>
        Math.max(h.length, ...lines.map((l) => l[i]?.length ?? 0)),
      );
      for (const line of [header, ...lines])
        process.stdout.write(`${line.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}\n`);
      process.stdout.write(
        `node CPU: user + system from /proc, 10 ms resolution, median of ${args.reps}\n`,
      );
    }
  } finally {
    await client.stop();
    if (child !== undefined) {
      child.signal('SIGTERM');
      const forced = setTimeout(() => {
        child?.signal('SIGKILL');
      }, 10_000);
      await child.exited;
      clearTimeout(forced);
    }
    process.off('exit', kill);
    files.cleanup();
  }
}

await main();
