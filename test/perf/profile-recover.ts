// Where a recover's (or a publish's) time goes: a quorum of 5 node processes (t = 3) and one
// client, sequential operations then a concurrency-4 load, with what each costs per operation:
// CPU of the client and of the nodes together (/proc), and write system calls (/proc/PID/io
// syscw: socket writes, LevelDB log writes, fsyncs' neighbours). Not a benchmark (`npm run
// bench` is): a tool for profiling, as docs/benchmarks.md "Where the time goes" used it.
//
//   npx node test/perf/profile-recover.ts                      # figures only
//   PROF=1 npx node --cpu-prof --cpu-prof-dir=DIR test/perf/profile-recover.ts DIR
//                                                              # + a .cpuprofile per process
//   MODE=publish N=200 npx node test/perf/profile-recover.ts   # publishes instead
//
// N: sequential operations measured (500), C: concurrency of the load (4). With PROF=1 every
// node is started with --cpu-prof into DIR (profiles are written when the nodes stop).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { QuorumClient, Session, walletFromPrivateKey } from '../../client/index.ts';
import { concurrent, sequential } from './load.ts';
import { cpuMs, selfCpuMs } from './proc-stats.ts';
import { Quorum, ROOMY_RATES } from './quorum-processes.ts';

const dir = process.argv[2] ?? '/tmp/qkms-profiles';
const count = Number(process.env['N'] ?? 500);
const workers = Number(process.env['C'] ?? 4);
const mode = process.env['MODE'] === 'publish' ? 'publish' : 'recover';

/** Write system calls a process has made so far. */
const syscw = (pid: number | 'self'): number =>
  Number(/syscw: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? Number.NaN);

const quorum = await Quorum.create(5, 3, ROOMY_RATES);
try {
  await quorum.start(
    [1, 2, 3, 4, 5],
    process.env['PROF'] === '1'
      ? { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` } }
      : {},
  );
  const session = (actions: ('publish' | 'recover')[]): Promise<Session> =>
    Session.create({
      wallet: walletFromPrivateKey(randomBytes(32).toString('hex')),
      nodeSet: quorum.files.nodeSet,
      capabilities: { actions, content: 'all' },
      lifetimeMs: 3_600_000,
    });
  const client = await QuorumClient.create({ nodeSet: quorum.files.nodeSet });
  const publisher = await session(['publish', 'recover']);
  const player = await session(['recover']);
  const { manifest } = await client.publish(publisher, { policy: { kind: 'open' } });
  const operation =
    mode === 'publish'
      ? async () => (await client.publish(publisher, { policy: { kind: 'open' } })).cek.fill(0)
      : async () => (await client.recover(manifest, player)).cek.fill(0);

  const snapshot = () => {
    const nodes = [...quorum.nodes.values()];
    return {
      client: selfCpuMs(),
      nodes: nodes.reduce((sum, n) => sum + cpuMs(n.pid), 0),
      clientWrites: syscw('self'),
      nodeWrites: nodes.reduce((sum, n) => sum + syscw(n.pid), 0),
    };
  };
  await sequential(50, operation);
  const before = snapshot();
  const run = await sequential(count, operation);
  const after = snapshot();
  const per = (x: number): string => (x / Math.max(run.latencies.length, 1)).toFixed(2);
  const sorted = [...run.latencies].sort((a, b) => a - b);
  const at = (q: number): string => (sorted[Math.floor(sorted.length * q)] ?? 0).toFixed(2);
  console.log(
    `${mode}: ${run.latencies.length} sequential, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, ` +
      `${run.errors} errors; per ${mode}: CPU client ${per(after.client - before.client)} ms, ` +
      `nodes ${per(after.nodes - before.nodes)} ms; write syscalls client ` +
      `${per(after.clientWrites - before.clientWrites)}, nodes ${per(after.nodeWrites - before.nodeWrites)}`,
  );
  const load = await concurrent(workers, { durationMs: 3_000 }, operation);
  console.log(
    `${mode}: concurrency ${workers}, ${((load.latencies.length * 1000) / load.elapsedMs).toFixed(1)}/s, ` +
      `${load.errors} errors`,
  );
  publisher.destroy();
  player.destroy();
  await client.close();
} finally {
  await quorum.close();
}
