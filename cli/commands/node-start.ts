// `qkms node start`: validate every setting once, start the daemon, print
// one ready line, and shut down cleanly on SIGINT/SIGTERM (a second signal
// forces exit). A start that fails on an address or a data directory another
// process holds ends with one sentence and exit 8 (./start-failure.ts).
import { flushCompileCache } from 'node:module';
import {
  describeOptions,
  parseNodeOptions,
  PASSPHRASE_ENV,
  resolvePassphrase,
} from '../node-options.ts';
import { FLAG_SPECS } from '../node-settings.ts';
import { NodeRetiredError, startDaemon, type Daemon } from '../../node/index.ts';
import { parseArgs } from '../args.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { CommandFailure, type CliIo } from '../io.ts';
import { describeStartFailure } from './start-failure.ts';
import { SCRYPT_NOTE, formatElapsed } from '../progress.ts';

export const NODE_START_USAGE = `Usage: qkms node start --dir DIR --nodeset FILE [--listen MULTIADDR] [--http HOST:PORT] [options]

Runs a node of the quorum described by the signed node-set FILE, with the
keystore in DIR (made by 'qkms node init').

${describeOptions()}

A required setting given by no source is a usage error (2); a malformed
value, from a flag, a variable or the config file, is a configuration error
(3). The systemd unit does not restart on 2, 3 or 8.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config, EXIT.inUse], {
  [EXIT.ok]: 'stopped cleanly (SIGINT, SIGTERM)',
  [EXIT.failure]: 'unexpected failure (a restart may help)',
  [EXIT.usage]: 'a bad flag or argument, or a required setting (--dir, --nodeset) given nowhere',
  [EXIT.config]:
    'a malformed setting, keystore or node set, or a listen address this host cannot use',
  [EXIT.inUse]:
    'a listen address (--listen, --http) or the data directory (--dir) is in use by another process',
})}`;

/** Every setting's flag, --config, --passphrase (refused with the reason) and --help. */
export const NODE_START_FLAGS = { ...FLAG_SPECS, help: 'boolean' } as const;

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function nodeStart(argv: readonly string[], io: CliIo): Promise<number> {
  if (parseArgs(argv, NODE_START_FLAGS).flags.help === true) {
    io.stdout.write(`${NODE_START_USAGE}\n`);
    return EXIT.ok;
  }
  const parsed = parseNodeOptions({ argv, env: io.env, readFile: io.readFile, cwd: io.cwd });
  const { options } = parsed;
  const passphrase = resolvePassphrase(parsed.passphrase, { env: io.env, readFile: io.readFile });
  // The passphrase has been read: it need not stay in this process's environment.
  if (io.env === process.env) Reflect.deleteProperty(process.env, PASSPHRASE_ENV);
  // The handlers are installed before the daemon starts and stay for the life
  // of the process: a signal during a slow start stops the node as soon as it
  // is up, and one that arrives after it stopped (while the process drains
  // its last handles) must not kill it uncleanly.
  let state: 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' = 'starting';
  const started: { daemon?: Daemon; stopRequested: boolean } = { stopRequested: false };
  const done = Promise.withResolvers<number>();
  const stop = (running: Daemon): void => {
    state = 'stopping';
    const force = setTimeout(() => {
      io.stderr.write('qkms node: shutdown took too long, exiting\n');
      process.exit(EXIT.failure);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    running.close().then(
      () => {
        clearTimeout(force);
        state = 'stopped';
        done.resolve(EXIT.ok);
      },
      () => {
        clearTimeout(force);
        state = 'stopped';
        done.resolve(EXIT.failure);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (state === 'stopped') return;
    if (state === 'stopping' || started.stopRequested) {
      io.stderr.write(`qkms node: ${signal} again, exiting now\n`);
      process.exit(EXIT.failure);
    }
    io.stderr.write(`qkms node: ${signal}, shutting down\n`);
    if (started.daemon === undefined || state === 'restarting') started.stopRequested = true;
    else stop(started.daemon);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let daemon: Daemon;
  // The keystore is unlocked inside startDaemon, first: with a passphrase that
  // is scrypt, which takes seconds and blocks the process while it runs.
  const startedAt = performance.now();
  if (passphrase !== undefined) {
    io.stderr.write(`qkms node start: unlocking the keystore (${SCRYPT_NOTE})…\n`);
  }
  try {
    daemon = await startDaemon(options, { passphrase });
  } catch (e) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (e instanceof NodeRetiredError) {
      io.stdout.write(`qkms node: ${e.message}\n`);
      return EXIT.ok;
    }
    const failure = describeStartFailure(e, {
      dir: options.dir,
      listen: options.network.listen,
      http: options.http.address,
    });
    if (failure === undefined) throw e;
    throw new CommandFailure(failure.exit, failure.message, { cause: e });
  }
  started.daemon = daemon;
  if (passphrase !== undefined) {
    io.stderr.write(
      `qkms node start: keystore unlocked and node started in ${formatElapsed(performance.now() - startedAt)}\n`,
    );
  }
  const ready = (running: Daemon): void => {
    io.stdout.write(
      `qkms node ${running.index} ready: peer ${running.peerId} listening ${running.listen.join(' ')} ` +
        `metrics http://${running.http.host}:${running.http.port}/metrics\n`,
    );
  };
  // A cutover (decision 0017) restarts the daemon in this process: the next
  // start serves the successor, or wipes a retired node's shares and ends it.
  const restartOnCutover = (running: Daemon): void => {
    void running.cutover.then(async () => {
      if (state !== 'running') return;
      state = 'restarting';
      io.stderr.write('qkms node: cutover taken, restarting onto the successor\n');
      let exit: number | undefined;
      try {
        await running.close();
        const next = await startDaemon(options, { passphrase });
        started.daemon = next;
        state = 'running';
        ready(next);
        restartOnCutover(next);
        if (started.stopRequested) stop(next);
        return;
      } catch (e) {
        if (e instanceof NodeRetiredError) {
          io.stdout.write(`qkms node: ${e.message}\n`);
          exit = EXIT.ok;
        } else {
          io.stderr.write(
            `qkms node: restart after the cutover failed: ${e instanceof Error ? e.message : String(e)}\n`,
          );
          exit = EXIT.failure;
        }
      }
      state = 'stopped';
      done.resolve(exit);
    });
  };
  ready(daemon);
  // Every module the node runs is loaded by now: write Node's compile cache
  // (decision 0018) while the node runs, not only at a clean exit.
  flushCompileCache();
  state = 'running';
  restartOnCutover(daemon);
  if (started.stopRequested) stop(daemon);
  return done.promise;
}
