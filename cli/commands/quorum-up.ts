// Long file: one command's whole life (dev chain, nodes, readiness, supervision, stop) in the order it runs.
// `qkms quorum up`: a local development quorum in one command. It prepares
// (or reuses) the keystores, a dev admin key and the signed node set under one
// directory (dev-quorum.ts), starts every node as a child process of the real
// executable (node-children.ts), waits until all are ready, prints one ready
// line and what to run next, and stays in the foreground until SIGINT or
// SIGTERM, when it stops the nodes cleanly.
//
// Exit codes: 0 stopped cleanly, 1 a node failed to start, every node died,
// or a node had to be killed on the way out, 2 usage error, 3 a port is
// taken, the directory is in use, or a file in it is invalid.
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireNativeSuite, toHex } from '../../protocol/index.ts';
import { ENV_PREFIX, PASSPHRASE_ENV, PASSPHRASE_FILE_ENV } from '../node-options.ts';
import { formatElapsed } from '../progress.ts';
import { SCRATCH_DIR, nextSteps, shown } from './quorum-next-steps.ts';
import { QUORUM_ENV } from '../quorum-file.ts';
import { prepareSecretDir } from '../../node/index.ts';
import {
  DEV_HOST,
  HTTP_PORT_OFFSET,
  WS_PORT_OFFSET,
  lockDevQuorumDir,
  prepareDevQuorum,
  type DevQuorum,
} from './dev-quorum.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { CommandFailure, jsonLine, type CliIo } from '../io.ts';
import { DEV_CHAIN_NODE_FLAGS, startDevChain, type RunningDevChain } from './dev-chain.ts';
import { describeExit, spawnNodeChild, stopNodeChildren, type NodeChild } from './node-children.ts';
import {
  QUORUM_UP_DEFAULTS,
  QUORUM_UP_NODES,
  assertPortsFree,
  chainPort,
  parseQuorumUpArgs,
  quorumPorts,
  type QuorumUpOptions,
} from './quorum-up-args.ts';

/** How long every node together has to print its ready line: a node starts in about a second. */
export const READY_TIMEOUT_MS = 30_000;
/** How long stopping nodes may take before they are killed; `node start` allows itself as long. */
export const STOP_GRACE_MS = 10_000;
/** Signals that stop the quorum; SIGHUP is a closed terminal. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** How often we check that our parent process still runs (see quorumUp). */
const PARENT_CHECK_INTERVAL_MS = 1_000;
/** Lines of a node's log shown when it fails. */
const LOG_TAIL_LINES = 20;
/** The one QKMS_* variable passed on to the nodes; the others configure production nodes. */
const PASSED_ENV = ['QKMS_LOG_LEVEL'];
/** bin/qkms.ts in the repository, dist/bin/qkms.js in the installed package: this module's own extension. */
const EXECUTABLE = fileURLToPath(
  new URL(`../../bin/qkms${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

export const QUORUM_UP_USAGE = `Usage: qkms quorum up [--nodes N] [--threshold T] [--dir DIR] [--base-port PORT] [--no-chain] [--json]

Runs a local development quorum of N nodes, any T of which recover a key, on
127.0.0.1, in the foreground until Ctrl-C (SIGINT) or SIGTERM.

  --nodes N          nodes, ${QUORUM_UP_NODES.min}..${QUORUM_UP_NODES.max} (default ${QUORUM_UP_DEFAULTS.nodes})
  --threshold T      shares needed to recover, 2..N (default ${QUORUM_UP_DEFAULTS.threshold}, or N if N is smaller)
  --dir DIR          where everything is kept (default ${QUORUM_UP_DEFAULTS.dir})
  --base-port PORT   node i listens for libp2p on PORT + i - 1 (TCP) and
                     PORT + ${WS_PORT_OFFSET} + i - 1 (WebSocket, and UDP WebRTC-direct,
                     for browsers), and serves
                     /metrics on PORT + ${HTTP_PORT_OFFSET} + i - 1 (default ${QUORUM_UP_DEFAULTS.basePort}: 7101.., 8101.., 9101..)
  --no-chain         no local EVM chain (by default anvil runs on PORT + 1444:
                     8545, with the demo access pass deployed; see 'qkms dev chain')
  --json             print the ready report as one JSON object

In DIR it creates, or reuses when present: a keystore per node
(DIR/nodes/<index>/, NOT encrypted: a dev quorum, never for real keys), a dev
admin key (DIR/admin.key, as 'qkms admin key new' writes), the signed node
set (DIR/nodeset.json), the client config (DIR/quorum.json: the node set
and each node's address), and DIR/${SCRATCH_DIR}/, the folder the printed next
steps write their files to (a wallet key, content keys, manifests). Keys are
kept from run to run; the node set is rewritten, with the next epoch, when N,
T or the ports change. The dev chain keeps its state in DIR/chain/.

Each node runs as 'qkms node start' in a child process, its log appended to
DIR/nodes/<index>/node.log. When every node is ready, one line starting
'qkms quorum ready:' lists their addresses and metrics URLs. Ctrl-C stops
them all cleanly (nodes still running after ${STOP_GRACE_MS / 1000} s are killed).

--json prints the ready report as one object (ok, dir, quorum, nodeSetId,
nodes, next, …); a node that fails to start gives {"ok": false, "exit": 1,
"error", "nodes": [{index, log, tail}]}.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config], {
  [EXIT.ok]: 'stopped cleanly',
  [EXIT.failure]: 'a node failed to start, every node died, or one had to be killed',
  [EXIT.config]: 'a port is taken, DIR is in use, or a file in it is invalid',
})}`;

/** The environment of the nodes: ours, less the QKMS_* settings of production nodes. */
function childEnv(env: CliIo['env']): { env: Record<string, string>; dropped: string[] } {
  const out: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    // QKMS_QUORUM is the client commands' own: not passed, and not worth a note.
    if (name === QUORUM_ENV) continue;
    if (name.startsWith(ENV_PREFIX) && !PASSED_ENV.includes(name)) dropped.push(name);
    else out[name] = value;
  }
  return { env: out, dropped: dropped.sort() };
}

function readyReport(
  quorum: DevQuorum,
  children: readonly NodeChild[],
  options: QuorumUpOptions,
  cwd: string,
  chain: RunningDevChain | undefined,
): string {
  const steps = nextSteps(quorum, cwd);
  const next = steps.map((s) => s.command);
  if (options.json) {
    return jsonLine({
      ok: true,
      ready: true,
      dir: quorum.dir,
      quorum: quorum.configFile,
      scratch: join(quorum.dir, SCRATCH_DIR),
      nodeSet: quorum.nodeSetFile,
      nodeSetId: toHex(quorum.nodeSet.id),
      epoch: quorum.nodeSet.epoch,
      threshold: quorum.nodeSet.threshold,
      nodes: quorum.nodes.map((n) => ({
        index: n.index,
        peerId: n.peerId,
        multiaddr: n.multiaddr,
        websocket: n.websocket,
        webrtcDirect: n.webrtcDirect,
        metrics: n.metrics,
        log: n.log,
        pid: children.find((c) => c.index === n.index)?.pid ?? null,
      })),
      chain: chain?.config ?? null,
      next,
    });
  }
  const nodes = quorum.nodes.map((n) => `node ${n.index} ${n.multiaddr} metrics ${n.metrics}`);
  return [
    `qkms quorum ready: ${quorum.nodeSet.threshold} of ${quorum.nodes.length} nodes, config ${shown(quorum.configFile, cwd)}; ${nodes.join('; ')}`,
    '',
    `What next, in a second terminal from this folder (files go to ${shown(join(quorum.dir, SCRATCH_DIR), cwd)}/):`,
    ...steps.flatMap((s) => [`  # ${s.note}`, `  ${s.command}`]),
    '',
    ...(chain === undefined
      ? []
      : [
          `A dev chain (anvil, chain ${chain.config.chainId}) runs at ${chain.config.rpc} with the demo access pass ${chain.config.accessPass}:`,
          `  'qkms dev chain policy' prints a policy for 'content publish --policy FILE.json'; 'dev chain grant' and 'revoke' move passes.`,
          '',
        ]),
    `Node logs: ${shown(join(quorum.dir, 'nodes'), cwd)}/<index>/node.log. Ctrl-C stops the quorum.`,
    '',
  ].join('\n');
}

/** The last lines of CHILD's log, indented under a line naming the file. */
function logLines(child: NodeChild): string[] {
  const tail = child.logTail(LOG_TAIL_LINES);
  if (tail.length === 0) return [`nothing in the log of node ${child.index}, ${child.logFile}`];
  return [
    `the last lines of the log of node ${child.index}, ${child.logFile}:`,
    ...tail.map((line) => `  ${line}`),
  ];
}

function reportFailure(io: CliIo, child: NodeChild, headline: string): void {
  io.stderr.write(`qkms quorum: ${headline}\n`);
  for (const line of logLines(child)) io.stderr.write(`${line}\n`);
}

type StartOutcome =
  | { readonly kind: 'ready' }
  | { readonly kind: 'failed'; readonly child: NodeChild }
  | { readonly kind: 'timeout'; readonly late: readonly NodeChild[] }
  | { readonly kind: 'stopped' };

/** Waits for every ready line, printing progress, until one fails, the deadline passes or a stop. */
function awaitReady(
  children: readonly NodeChild[],
  stop: AbortSignal,
  io: CliIo,
): Promise<StartOutcome> {
  return new Promise((resolveOutcome) => {
    const ready = new Set<number>();
    let settled = false;
    const settle = (outcome: StartOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop.removeEventListener('abort', onAbort);
      resolveOutcome(outcome);
    };
    const onAbort = (): void => {
      settle({ kind: 'stopped' });
    };
    const timer = setTimeout(() => {
      settle({ kind: 'timeout', late: children.filter((c) => !ready.has(c.index)) });
    }, READY_TIMEOUT_MS);
    stop.addEventListener('abort', onAbort, { once: true });
    if (stop.aborted) onAbort();
    for (const child of children) {
      child.ready.then(
        () => {
          if (settled) return;
          ready.add(child.index);
          io.stderr.write(`qkms quorum: node ${child.index}/${children.length} ready\n`);
          if (ready.size === children.length) settle({ kind: 'ready' });
        },
        () => {
          settle({ kind: 'failed', child });
        },
      );
    }
  });
}

/** Stops every node (SIGTERM, then SIGKILL after the grace); EXIT.ok if all stopped cleanly. */
async function stopAll(children: readonly NodeChild[], io: CliIo): Promise<number> {
  const running = children.filter((c) => c.running());
  const killed = await stopNodeChildren(running, STOP_GRACE_MS);
  let clean = true;
  for (const child of running) {
    if (killed.includes(child.index)) {
      clean = false;
      io.stderr.write(
        `qkms quorum: node ${child.index} was still running after ${STOP_GRACE_MS / 1000} s; killed it (its next start refuses older grants)\n`,
      );
      continue;
    }
    const exit = await child.exited;
    if (exit.code !== 0) {
      clean = false;
      io.stderr.write(
        `qkms quorum: node ${child.index} stopped with ${describeExit(exit)} (its log: ${child.logFile})\n`,
      );
    }
  }
  return clean ? EXIT.ok : EXIT.failure;
}

/** Runs the started quorum until a stop; resolves with the exit code. */
function supervise(children: readonly NodeChild[], stop: AbortSignal, io: CliIo): Promise<number> {
  return new Promise((resolveCode) => {
    let done = false;
    for (const child of children) {
      void child.exited.then((exit) => {
        if (done || stop.aborted) return;
        reportFailure(
          io,
          child,
          `node ${child.index} exited on its own (${describeExit(exit)}); the other nodes keep running`,
        );
        if (children.every((c) => !c.running())) {
          done = true;
          io.stderr.write('qkms quorum: every node has exited\n');
          resolveCode(EXIT.failure);
        }
      });
    }
    stop.addEventListener(
      'abort',
      () => {
        if (done) return;
        done = true;
        void stopAll(children, io).then(resolveCode);
      },
      { once: true },
    );
  });
}

/** Runs `qkms quorum up ARGS` until SIGINT or SIGTERM. */
export async function quorumUp(argv: readonly string[], io: CliIo): Promise<number> {
  const options = parseQuorumUpArgs(argv, io.cwd);
  if (options === null) {
    io.stdout.write(`${QUORUM_UP_USAGE}\n`);
    return EXIT.ok;
  }
  await assertPortsFree(quorumPorts(options));
  const suite = requireNativeSuite();
  const { env, dropped } = childEnv(io.env);

  // Signals are ours from here on: a stop while files are written or nodes start is honoured.
  const stop = new AbortController();
  const children: NodeChild[] = [];
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      io.stderr.write(`qkms quorum: ${signal} again; still stopping the nodes\n`);
      return;
    }
    io.stderr.write(`qkms quorum: ${signal}, stopping the nodes\n`);
    stop.abort();
  };
  // Last resort if this process ends without stopping them (an exception): each node shuts down cleanly.
  const onExit = (): void => {
    for (const child of children) child.signal('SIGTERM');
  };
  // Orphaned: whoever started us is gone (npm's `sh -c` dies of a SIGTERM it
  // does not pass on, a closed terminal), so nobody is left to stop the nodes.
  const parent = process.ppid;
  const orphanWatch = setInterval(() => {
    if (process.ppid !== parent && !stop.signal.aborted) {
      io.stderr.write('qkms quorum: the parent process has gone, stopping the nodes\n');
      stop.abort();
    }
  }, PARENT_CHECK_INTERVAL_MS);
  orphanWatch.unref();
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  process.on('exit', onExit);
  let unlock = (): void => undefined;
  let chain: RunningDevChain | undefined;
  try {
    prepareSecretDir(options.dir);
    unlock = lockDevQuorumDir(options.dir);
    if (options.chain) {
      io.stderr.write(
        `qkms quorum: starting the dev chain (anvil) on port ${chainPort(options.basePort)}…\n`,
      );
      chain = await startDevChain(options.dir, chainPort(options.basePort), DEV_HOST);
    }
    const quorum = await prepareDevQuorum(suite, {
      dir: options.dir,
      nodes: options.nodes,
      threshold: options.threshold,
      basePort: options.basePort,
      ...(chain === undefined ? {} : { chain: chain.config }),
    });
    io.stderr.write(
      `qkms quorum: a DEV quorum: the node keystores and the admin key in ${shown(quorum.dir, io.cwd)} are NOT encrypted (file mode 0600 only); never use it for real content\n`,
    );
    for (const note of quorum.notes) io.stderr.write(`qkms quorum: ${note}\n`);
    prepareSecretDir(join(quorum.dir, SCRATCH_DIR));
    if (dropped.length > 0) {
      const passphrase = dropped.some((n) => n === PASSPHRASE_ENV || n === PASSPHRASE_FILE_ENV);
      io.stderr.write(
        `qkms quorum: not passed to the nodes: ${dropped.join(', ')}${passphrase ? ' (dev keystores have no passphrase)' : ''}\n`,
      );
    }
    if (stop.signal.aborted) return EXIT.ok;

    io.stderr.write(
      `qkms quorum: starting ${quorum.nodes.length} nodes, threshold ${quorum.nodeSet.threshold} (a few seconds)…\n`,
    );
    for (const node of quorum.nodes) {
      children.push(
        spawnNodeChild({
          index: node.index,
          command: process.execPath,
          args: [
            EXECUTABLE,
            'node',
            'start',
            '--dir',
            node.dir,
            '--nodeset',
            quorum.nodeSetFile,
            ...node.listen.flatMap((address) => ['--listen', address]),
            '--http',
            `${DEV_HOST}:${node.httpPort}`,
            ...(chain === undefined
              ? []
              : [
                  '--evm-rpc',
                  `${chain.config.chainId}=${chain.config.rpc}`,
                  ...DEV_CHAIN_NODE_FLAGS,
                ]),
          ],
          env,
          cwd: io.cwd,
          logFile: node.log,
        }),
      );
    }

    const waitStarted = performance.now();
    const outcome = await awaitReady(children, stop.signal, io);
    if (outcome.kind === 'ready') {
      io.stderr.write(
        `qkms quorum: all ${children.length} nodes ready in ${formatElapsed(performance.now() - waitStarted)}\n`,
      );
      io.stdout.write(readyReport(quorum, children, options, io.cwd, chain));
      return await supervise(children, stop.signal, io);
    }
    if (outcome.kind === 'stopped') return await stopAll(children, io);
    const failed =
      outcome.kind === 'failed'
        ? [
            {
              child: outcome.child,
              headline: `node ${outcome.child.index} failed to start (${describeExit(await outcome.child.exited)})`,
            },
          ]
        : outcome.late.map((child) => ({
            child,
            headline: `node ${child.index} was not ready within ${READY_TIMEOUT_MS / 1000} s`,
          }));
    await stopAll(children, io);
    // Reported as every command's failure is (cli/main.ts): stderr, or --json on stdout.
    throw new CommandFailure(EXIT.failure, failed.map((f) => f.headline).join('; '), {
      json: {
        nodes: failed.map(({ child }) => ({
          index: child.index,
          log: child.logFile,
          tail: child.logTail(LOG_TAIL_LINES),
        })),
      },
      lines: failed.flatMap(({ child }) => logLines(child)),
    });
  } finally {
    // After the nodes: anvil writes its state on the way out.
    await chain?.anvil.stop();
    clearInterval(orphanWatch);
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    process.off('exit', onExit);
    unlock();
  }
}
