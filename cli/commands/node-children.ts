// Nodes of a dev quorum run as child processes of the real executable
// (`node bin/qkms.ts node start …`), as an operator would run them:
//   - each child is the leader of its own process group (detached), so a
//     Ctrl-C in the terminal reaches only `qkms quorum up`, which sends each
//     node ONE SIGTERM; a node that got SIGINT from the terminal as well would
//     take our SIGTERM as its "second signal" and exit uncleanly;
//   - its stderr (JSON log lines) is appended straight to its node.log (the
//     child holds the file, so logging never depends on this process), and its
//     stdout is read only for the ready line;
//   - a stop is SIGTERM, then SIGKILL for a child still running after the grace;
//   - each child gets the process settings of a node in its environment
//     (../process-settings.ts): V8 flags in NODE_OPTIONS, Node's compile cache.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { nodeChildEnv } from '../process-settings.ts';

/** How a child ended: its exit code, or the signal that ended it. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface NodeChildSpec {
  readonly index: number;
  /** The executable (process.execPath, or a wrapper that runs it) and its arguments. */
  readonly command: string;
  readonly args: readonly string[];
  /**
   * The child's environment. NODE_OPTIONS overrides a default V8 flag it
   * names; NODE_COMPILE_CACHE or NODE_DISABLE_COMPILE_CACHE, the default cache.
   */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Appended to; created 0600 if absent. */
  readonly logFile: string;
}

export interface NodeChild {
  readonly index: number;
  readonly pid: number | undefined;
  readonly logFile: string;
  /** Resolves with the ready line; rejects if the child ends (or fails to spawn) first. */
  readonly ready: Promise<string>;
  /** Resolves once the child has ended. Never rejects. */
  readonly exited: Promise<ChildExit>;
  /** Whether the child is still running. */
  running(): boolean;
  /** Sends a signal if the child is still running. */
  signal(signal: NodeJS.Signals): void;
  /** The last lines the child wrote to its log since it was started (at most `max`). */
  logTail(max: number): readonly string[];
}

/** The ready line `qkms node start` prints on stdout. */
const READY_LINE = /^qkms node \d+ ready: /;
/** Bytes of stdout kept while looking for the ready line; the line is a few hundred. */
const MAX_STDOUT_BEFORE_READY_BYTES = 64 * 1024;
/** Bytes read from the end of a log for its tail: enough for a few dozen JSON lines. */
const LOG_TAIL_BYTES = 16 * 1024;

export function describeExit(exit: ChildExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code ?? '?'}`;
}

function readTail(path: string, from: number, maxLines: number): readonly string[] {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    const lines = buffer.toString('utf8', 0, read).split('\n');
    // A cut first line is dropped unless the read began where the child's output began.
    if (start > from) lines.shift();
    return lines.filter((l) => l.trim() !== '').slice(-maxLines);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Starts one node; the caller awaits `ready` and eventually stops it. */
export function spawnNodeChild(spec: NodeChildSpec): NodeChild {
  const logFd = openSync(spec.logFile, 'a', 0o600);
  let logStart: number;
  let child: ChildProcess;
  try {
    logStart = fstatSync(logFd).size;
    child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: nodeChildEnv(spec.env),
      stdio: ['ignore', 'pipe', logFd],
      detached: true,
    });
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(logFd);
  }
  let ended = false;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = true;
      resolve({ code, signal });
    });
    child.once('error', () => {
      // Spawning failed (no 'exit' follows): report it as an exit.
      if (child.pid === undefined) {
        ended = true;
        resolve({ code: null, signal: null });
      }
    });
  });
  const ready = new Promise<string>((resolve, reject) => {
    let text = '';
    let found = false;
    const stdout = child.stdout;
    stdout?.setEncoding('utf8');
    stdout?.on('data', (chunk: string) => {
      if (found) return; // drained and dropped: nothing after the ready line is expected
      text = (text + chunk).slice(-MAX_STDOUT_BEFORE_READY_BYTES);
      const line = text.split('\n').find((l, i, all) => i < all.length - 1 && READY_LINE.test(l));
      if (line !== undefined) {
        found = true;
        resolve(line);
      }
    });
    void exited.then((exit) => {
      if (!found)
        reject(new Error(`node ${spec.index} ended before it was ready (${describeExit(exit)})`));
    });
  });
  // `ready` may be abandoned (a stop during start-up); its rejection is not an error then.
  ready.catch(() => undefined);
  return {
    index: spec.index,
    pid: child.pid,
    logFile: spec.logFile,
    ready,
    exited,
    running: () => !ended,
    signal: (signal) => {
      if (!ended) child.kill(signal);
    },
    logTail: (max) => readTail(spec.logFile, logStart, max),
  };
}

/**
 * Sends SIGTERM to every running child and waits for all of them to end;
 * SIGKILLs those still running after `graceMs`. Resolves with the indexes of
 * the children that had to be killed.
 */
export async function stopNodeChildren(
  children: readonly NodeChild[],
  graceMs: number,
): Promise<readonly number[]> {
  for (const child of children) child.signal('SIGTERM');
  const killed: number[] = [];
  const timer = setTimeout(() => {
    for (const child of children) {
      if (child.running()) {
        killed.push(child.index);
        child.signal('SIGKILL');
      }
    }
  }, graceMs);
  try {
    await Promise.all(children.map((c) => c.exited));
  } finally {
    clearTimeout(timer);
  }
  return killed.sort((a, b) => a - b);
}
