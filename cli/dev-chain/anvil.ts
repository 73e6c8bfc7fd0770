// A local anvil (Foundry's dev node, https://getfoundry.sh/anvil) for the dev
// chain that `qkms quorum up` starts (issue 16). The binary comes from the
// npm package @foundry-rs/anvil's per-platform package
// (@foundry-rs/anvil-<platform>-<arch>) and is spawned directly, not through
// the package's bin.mjs, so a signal reaches anvil itself. With a state file,
// anvil loads it at start (`--state PATH`) and writes it back when it exits on
// SIGTERM or SIGINT, which is how stop() ends it; a SIGKILL loses what
// happened since the start. Ready means eth_chainId answers over HTTP.
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The private key of anvil's account 0 (from its default mnemonic "test test
 * … junk"). PUBLIC, known to everyone: for a local dev chain only, never for
 * anything that holds value.
 */
export const ANVIL_DEV_PRIVATE_KEY =
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80' as const;
/** anvil's own default chain id (Foundry's 31337). */
export const ANVIL_DEFAULT_CHAIN_ID = 31337;
const DEFAULT_HOST = '127.0.0.1';
/** anvil answers within a second; loading a long session's state file takes longer. */
const READY_DEADLINE_MS = 10_000;
/** Between two eth_chainId probes while anvil starts. */
const READY_POLL_MS = 100;
/** One probe; a local anvil that has bound its port answers in milliseconds. */
const PROBE_TIMEOUT_MS = 1_000;
/** anvil writes its state file on SIGTERM; a hung anvil gets SIGKILL after this. */
const STOP_DEADLINE_MS = 5_000;
/** How much of anvil's latest output an error quotes. */
const OUTPUT_TAIL_BYTES = 4096;

/** The suffix of @foundry-rs/anvil's binary package for node's process.platform and process.arch. */
const BINARY_PACKAGE_SUFFIX: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  linux: { x64: 'linux-amd64', arm64: 'linux-arm64' },
  darwin: { x64: 'darwin-amd64', arm64: 'darwin-arm64' },
  win32: { x64: 'win32-amd64' },
};

export interface AnvilOptions {
  readonly port: number;
  /** The address anvil listens on; 127.0.0.1 unless given. */
  readonly host?: string;
  /** 31337 unless given. */
  readonly chainId?: number;
  /** Loaded at start when it exists, written when anvil stops. */
  readonly statePath?: string;
  /** anvil's output, appended; without it anvil runs with --quiet and errors quote its output. */
  readonly logFile?: string;
  /** Interval mining; without it anvil mines one block per transaction. */
  readonly blockTimeSeconds?: number;
  /** Aborts the wait for anvil to answer (anvil is then killed). */
  readonly signal?: AbortSignal;
}

export interface AnvilExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Anvil {
  /** Its JSON-RPC endpoint, http://HOST:PORT. */
  readonly url: string;
  readonly chainId: number;
  readonly pid: number;
  /** Settles when anvil exits, for whatever reason. */
  readonly exited: Promise<AnvilExit>;
  /** SIGTERM (anvil writes its state file), SIGKILL after 5 s; idempotent. */
  stop(): Promise<void>;
}

/** The path of the anvil binary for this platform; a clear Error when its package is missing. */
export function anvilBinaryPath(): string {
  const suffix = BINARY_PACKAGE_SUFFIX[process.platform]?.[process.arch];
  if (suffix === undefined) {
    throw new Error(
      `anvil: @foundry-rs/anvil has no binary for ${process.platform}-${process.arch}`,
    );
  }
  const binaryPackage = `@foundry-rs/anvil-${suffix}`;
  const file = `${binaryPackage}/bin/anvil${process.platform === 'win32' ? '.exe' : ''}`;
  try {
    // The binary package is @foundry-rs/anvil's optional dependency: resolve it from there.
    const anvilPackage = createRequire(import.meta.url).resolve('@foundry-rs/anvil/package.json');
    return createRequire(anvilPackage).resolve(file);
  } catch (e) {
    throw new Error(
      `anvil: cannot find ${file}; install @foundry-rs/anvil with its optional dependency ${binaryPackage} (npm ci without --omit=optional)`,
      { cause: e },
    );
  }
}

function checkOptions(options: AnvilOptions): void {
  const { port, chainId, blockTimeSeconds, host } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`anvil: port: expected an integer in 1..65535, got ${String(port)}`);
  }
  if (chainId !== undefined && (!Number.isSafeInteger(chainId) || chainId < 1)) {
    throw new RangeError(`anvil: chainId: expected a positive integer, got ${String(chainId)}`);
  }
  if (blockTimeSeconds !== undefined && !(blockTimeSeconds > 0 && blockTimeSeconds < Infinity)) {
    throw new RangeError(
      `anvil: blockTimeSeconds: expected a positive number, got ${String(blockTimeSeconds)}`,
    );
  }
  if (host?.length === 0) throw new RangeError('anvil: host: expected a non-empty address');
}

/** Where a client reaches an anvil listening on HOST:PORT (a wildcard host means loopback). */
function rpcUrl(host: string, port: number): string {
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reach.includes(':') ? `[${reach}]` : reach}:${port}`;
}

/** Throws a clear Error when something already listens on HOST:PORT. */
async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        new Error(
          e.code === 'EADDRINUSE'
            ? `anvil: port ${port} on ${host} is already in use`
            : `anvil: cannot listen on ${host}:${port} (${e.code ?? 'error'})`,
          { cause: e },
        ),
      );
    });
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => {
        resolve();
      });
    });
  });
}

/** The chain id anvil reports at URL, or undefined while it does not answer. */
async function probeChainId(url: string, signal: AbortSignal): Promise<number | undefined> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]),
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { result?: unknown } | null;
    return typeof body?.result === 'string' ? Number.parseInt(body.result, 16) : undefined;
  } catch {
    return undefined;
  }
}

/** The last OUTPUT_TAIL_BYTES of the log file written from byte FROM on. */
function logTail(path: string, from: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const end = fstatSync(fd).size;
    const start = Math.max(from, end - OUTPUT_TAIL_BYTES);
    const bytes = Buffer.alloc(Math.max(0, end - start));
    readSync(fd, bytes, 0, bytes.length, start);
    return bytes.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Starts anvil on options.port and resolves once it answers eth_chainId
 * with the chain id asked for. Throws (after killing it) when it exits
 * early, when the port is taken, or when it does not answer within 10 s;
 * the error quotes the end of its output.
 */
export async function startAnvil(options: AnvilOptions): Promise<Anvil> {
  checkOptions(options);
  const host = options.host ?? DEFAULT_HOST;
  const chainId = options.chainId ?? ANVIL_DEFAULT_CHAIN_ID;
  const url = rpcUrl(host, options.port);
  const binary = anvilBinaryPath();
  // anvil would fail on a taken port too, but a probe could meet the other
  // listener first and take it for our anvil.
  await assertPortFree(host, options.port);

  const args = ['--host', host, '--port', String(options.port), '--chain-id', String(chainId)];
  if (options.statePath !== undefined) args.push('--state', options.statePath);
  if (options.blockTimeSeconds !== undefined) {
    args.push('--block-time', String(options.blockTimeSeconds));
  }
  let logFd: number | undefined;
  let logStart = 0;
  if (options.logFile === undefined) {
    args.push('--quiet');
  } else {
    logFd = openSync(options.logFile, 'a', 0o644);
    logStart = fstatSync(logFd).size;
  }

  let tail = '';
  const keepTail = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  };
  let child;
  try {
    child = spawn(binary, args, {
      stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
      windowsHide: true,
    });
  } finally {
    // The child holds its own copy of the descriptor.
    if (logFd !== undefined) closeSync(logFd);
  }
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  const outputTail = (): string => {
    const text = options.logFile === undefined ? tail : logTail(options.logFile, logStart);
    return text.trim() === '' ? '(no output)' : text.trimEnd();
  };

  let exit: AnvilExit | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<AnvilExit>((resolve) => {
    const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
      exit = { code, signal };
      resolve(exit);
    };
    child.once('error', (e) => {
      spawnError = e;
      // A spawn failure emits no 'exit'.
      if (child.pid === undefined) settle(null, null);
    });
    child.once('exit', settle);
  });
  // A function, not a test of `exit`, which TypeScript would narrow across the awaits.
  const running = (): boolean => exit === undefined;
  // If this process exits without stop(), anvil still gets to write its state.
  const onProcessExit = (): void => {
    child.kill('SIGTERM');
  };
  process.once('exit', onProcessExit);
  void exited.then(() => process.off('exit', onProcessExit));

  const failStart = async (reason: string): Promise<never> => {
    if (exit === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
    throw new Error(`anvil: ${reason}\n--- anvil output (last lines) ---\n${outputTail()}`, {
      cause: spawnError,
    });
  };

  const deadline = AbortSignal.timeout(READY_DEADLINE_MS);
  const wait =
    options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
  for (;;) {
    if (exit !== undefined) {
      if (spawnError !== undefined && child.pid === undefined) {
        return failStart(`cannot run ${binary}: ${spawnError.message}`);
      }
      const inUse = /address already in use/i.test(outputTail());
      return failStart(
        inUse
          ? `port ${options.port} on ${host} is already in use (anvil exited)`
          : `exited before answering on ${url} (code ${String(exit.code)}, signal ${String(exit.signal)})`,
      );
    }
    if (wait.aborted) {
      return failStart(
        options.signal?.aborted === true
          ? 'start aborted'
          : `no answer on ${url} within ${READY_DEADLINE_MS / 1000} s`,
      );
    }
    const answered = await probeChainId(url, wait);
    if (answered !== undefined && running()) {
      if (answered !== chainId) {
        return failStart(`${url} answers chain id ${answered}, expected ${chainId}`);
      }
      break;
    }
    await sleep(READY_POLL_MS, undefined, { signal: wait }).catch(() => undefined);
  }

  const pid = child.pid;
  if (pid === undefined) return failStart('has no pid');
  let stopping: Promise<void> | undefined;
  const stopOnce = async (): Promise<void> => {
    if (!running()) return;
    child.kill('SIGTERM');
    const deadline = new AbortController();
    const timedOut = await Promise.race([
      exited.then(() => false),
      sleep(STOP_DEADLINE_MS, true, { signal: deadline.signal }).catch(() => false),
    ]);
    deadline.abort();
    if (timedOut && running()) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  return {
    url,
    chainId,
    pid,
    exited,
    stop: () => (stopping ??= stopOnce()),
  };
}
