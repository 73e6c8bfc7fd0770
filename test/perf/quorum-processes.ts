// A quorum of real node processes for the benchmarks that need one (revocation, recover): n
// `qkms node start` children of this process on loopback, keystores and node set from
// test/support/quorum.ts, started and stopped one by one. If this process exits or is
// interrupted before close(), every child is killed (SIGKILL) and the files removed: a node
// that outlived the bench would hold its port and dir.
import { join } from 'node:path';
import { spawnNodeChild, type NodeChild } from '../../cli/commands/node-children.ts';
import { REPO_ROOT, createQuorumFiles, type QuorumFiles } from '../support/quorum.ts';

const READY_TIMEOUT_MS = 60_000;
/** Between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 10_000;

/**
 * Node flags for a bench quorum: the default rates (20 requests/s per peer, 50 per address, 5
 * per wallet) would refuse the bench's one client, address and wallet within a second; these
 * let the nodes' own capacity show.
 */
export const ROOMY_RATES: readonly string[] = [
  ...['--per-peer-rate', '100000', '--per-peer-burst', '100000'],
  ...['--per-ip-rate', '100000', '--per-ip-burst', '100000'],
  ...['--per-wallet-rate', '100000', '--per-wallet-burst', '100000'],
];

export interface RunningNode {
  readonly child: NodeChild;
  /** The process id (the node itself: bin/qkms.ts runs in the spawned process). */
  readonly pid: number;
  /** Its /metrics, from the ready line. */
  readonly metricsUrl: string;
}

/** How to start a node beyond the quorum's common arguments. */
export interface NodeStart {
  /** Flags after the common ones (cli/node-options.ts). */
  readonly args?: readonly string[];
  /** Variables besides PATH and QKMS_LOG_LEVEL=warn (QKMS_ENABLE_TEST_FAULTS). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Where the nodes run, for a quorum that is not all on loopback (wan.bench.ts: each node in its
 * own network namespace, behind a delaying proxy). Without these, the defaults: nodes listen on
 * 127.0.0.1, the node set says 127.0.0.1, and each node is spawned as itself.
 */
export interface QuorumPlacement {
  /** The IPv4 host each node's node-set address names (what clients dial), by index - 1 (Quorum.create only). */
  readonly announceHosts?: readonly string[];
  /** The IPv4 host node `index` listens on, on its node-set port. */
  readonly listenHost?: (index: number) => string;
  /** The command that runs node `index` instead of `command args` (e.g. `ip netns exec NS command args`). */
  readonly wrap?: (
    index: number,
    command: string,
    args: readonly string[],
  ) => { readonly command: string; readonly args: readonly string[] };
}

export class Quorum {
  readonly files: QuorumFiles;
  readonly nodes = new Map<number, RunningNode>();
  /** Flags every node gets after --dir, --nodeset, --listen and --http. */
  readonly #args: readonly string[];
  readonly #placement: QuorumPlacement;
  readonly #children = new Set<NodeChild>();
  /** The last resort (exit, interrupt): kill every child, remove the files. Synchronous. */
  readonly #killAll = (): void => {
    for (const child of this.#children) child.signal('SIGKILL');
    this.files.cleanup();
  };
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    this.#killAll();
    process.kill(process.pid, signal);
  };

  constructor(files: QuorumFiles, args: readonly string[] = [], placement: QuorumPlacement = {}) {
    this.files = files;
    this.#args = args;
    this.#placement = placement;
    process.on('exit', this.#killAll);
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
  }

  /** Keystores and a node set for n nodes, t of them needed, in a new temp dir. */
  static async create(
    n: number,
    t: number,
    args: readonly string[] = [],
    placement: QuorumPlacement = {},
  ): Promise<Quorum> {
    const { announceHosts } = placement;
    const files = await createQuorumFiles(
      n,
      t,
      announceHosts === undefined ? {} : { announceHosts },
    );
    return new Quorum(files, args, placement);
  }

  /** Starts these nodes at once; resolves when each is ready, with the time each took (ms). */
  async start(indexes: readonly number[], options: NodeStart = {}): Promise<number[]> {
    const started = performance.now();
    return Promise.all(
      indexes.map(async (index) => {
        const host = this.#placement.listenHost?.(index) ?? '127.0.0.1';
        const args = [
          join(REPO_ROOT, 'bin', 'qkms.ts'),
          'node',
          'start',
          ...['--dir', this.files.dirs[index - 1] ?? ''],
          ...['--nodeset', this.files.nodeSetPath],
          ...['--listen', `/ip4/${host}/tcp/${this.files.ports[index - 1] ?? 0}`],
          ...['--http', '127.0.0.1:0'],
          ...this.#args,
          ...(options.args ?? []),
        ];
        const run = this.#placement.wrap?.(index, process.execPath, args) ?? {
          command: process.execPath,
          args,
        };
        const child = spawnNodeChild({
          index,
          command: run.command,
          args: run.args,
          env: { PATH: process.env['PATH'], QKMS_LOG_LEVEL: 'warn', ...options.env },
          cwd: REPO_ROOT,
          logFile: join(this.files.root, `node-${index}.log`),
        });
        this.#children.add(child);
        void child.exited.then(() => this.#children.delete(child));
        const timeout = AbortSignal.timeout(READY_TIMEOUT_MS);
        const ready = await Promise.race([
          child.ready,
          new Promise<never>((_, reject) => {
            timeout.addEventListener('abort', () => {
              reject(new Error(`node ${index} not ready in ${READY_TIMEOUT_MS} ms`));
            });
          }),
        ]).catch((e: unknown) => {
          throw new Error(`bench: ${String(e)}; its log: ${child.logTail(20).join('\n')}`);
        });
        const readyMs = performance.now() - started;
        const metricsUrl = /metrics (http:\S+)/.exec(ready)?.[1];
        if (metricsUrl === undefined) throw new Error(`bench: no metrics URL in "${ready}"`);
        if (child.pid === undefined) throw new Error(`bench: node ${index} has no pid`);
        this.nodes.set(index, { child, pid: child.pid, metricsUrl });
        return readyMs;
      }),
    );
  }

  /** The running node `index`; throws if it is not running. */
  node(index: number): RunningNode {
    const node = this.nodes.get(index);
    if (node === undefined) throw new Error(`bench: node ${index} is not running`);
    return node;
  }

  async stop(indexes: readonly number[]): Promise<void> {
    await Promise.all(
      indexes.map(async (index) => {
        const node = this.nodes.get(index);
        if (node === undefined) return;
        this.nodes.delete(index);
        node.child.signal('SIGTERM');
        const kill = setTimeout(() => {
          node.child.signal('SIGKILL');
        }, STOP_GRACE_MS);
        await node.child.exited;
        clearTimeout(kill);
      }),
    );
  }

  /** Stops every node (those still starting too), then removes the files. */
  async close(): Promise<void> {
    await this.stop([...this.nodes.keys()]);
    for (const child of this.#children) child.signal('SIGKILL');
    await Promise.all([...this.#children].map((c) => c.exited));
    process.off('exit', this.#killAll);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
    this.files.cleanup();
  }
}
