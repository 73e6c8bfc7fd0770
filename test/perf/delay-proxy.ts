// A TCP proxy that adds a fixed one-way delay in user space, for a kernel without sch_netem
// (`tc qdisc … netem delay` is what one would use otherwise). Each route listens on one address
// and forwards every connection it accepts to its target; every chunk read from either side is
// written to the other side `delayMs` after it was read, in the order read: one FIFO and one
// timer per direction (a constant delay keeps the deadlines in arrival order). A half-close
// (FIN) goes through the same queue, so it too arrives late and after the bytes before it.
// Nothing waits by blocking: reading continues while chunks wait, up to MAX_QUEUED_BYTES per
// direction, then the source is paused until the queue drains below half of that.
//
// What differs from netem: netem delays packets inside the kernel, so TCP's own handshake and
// ACKs are late too; here two TCP connections are spliced with a wait between them, so a
// connect() completes at once and only the bytes are late. A chunk is held at least `delayMs`
// and typically under a millisecond more (Node's timers fire on whole milliseconds, and late
// when the event loop is busy): `stats()` says how long chunks were actually held.
//
// startDelayProxy runs it in this process; spawnDelayProxy in a child process of its own (this
// file, with CHILD_ARG), so that the process measuring latency does not also run the proxy's
// timers and copies. The child ends when this process does (its IPC channel closes).
import { fork, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** Bytes one direction of one connection may hold before its source is paused. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** Hold times kept for stats() (the latest ones): plenty for a benchmark's few thousand chunks. */
const MAX_HOLD_SAMPLES = 1 << 16;
/** How long the child may take to listen on every route. */
const CHILD_READY_TIMEOUT_MS = 10_000;
/** The argument that makes this file a proxy process. */
const CHILD_ARG = '--delay-proxy-child';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** Connections accepted on `listen` are forwarded to `target`. */
export interface Route {
  readonly listen: Endpoint;
  readonly target: Endpoint;
}

/** How long chunks were held since the last reset, ms (0s when none). */
export interface HoldStats {
  readonly chunks: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface DelayProxy {
  /** Sets the one-way delay of chunks read from now on (0: forwarded as read); resets the stats. */
  setDelay(delayMs: number): Promise<void>;
  /** Hold times of the chunks forwarded since the last setDelay or reset. */
  stats(options?: { readonly reset?: boolean }): Promise<HoldStats>;
  /** Stops listening and drops every connection. Idempotent. */
  close(): Promise<void>;
}

function assertDelay(delayMs: number): number {
  if (!Number.isFinite(delayMs) || delayMs < 0)
    throw new RangeError(`delay proxy: delayMs: expected a finite number >= 0, got ${delayMs}`);
  return delayMs;
}

/** Hold times in a ring, summarised on demand. */
class Holds {
  readonly #ring = new Float64Array(MAX_HOLD_SAMPLES);
  #count = 0;

  add(ms: number): void {
    this.#ring[this.#count % MAX_HOLD_SAMPLES] = ms;
    this.#count += 1;
  }

  summary(): HoldStats {
    const kept = this.#ring.slice(0, Math.min(this.#count, MAX_HOLD_SAMPLES)).sort();
    const at = (q: number): number => kept[Math.round((kept.length - 1) * q)] ?? 0;
    const round = (x: number): number => Number(x.toFixed(3));
    return {
      chunks: this.#count,
      p50Ms: round(at(0.5)),
      p99Ms: round(at(0.99)),
      maxMs: round(kept.at(-1) ?? 0),
    };
  }

  reset(): void {
    this.#count = 0;
  }
}

interface Held {
  readonly due: number;
  readonly read: number;
  /** null: the source ended (a FIN to pass on). */
  readonly chunk: Buffer | null;
}

/** One direction of one connection: `from`'s bytes written to `to`, each `delay()` ms late. */
function delayedPipe(from: Socket, to: Socket, delay: () => number, holds: Holds): () => void {
  const queue: Held[] = [];
  let head = 0;
  let queuedBytes = 0;
  let timer: NodeJS.Timeout | undefined;

  const deliver = (held: Held, now: number): void => {
    holds.add(now - held.read);
    if (held.chunk === null) to.end();
    else to.write(held.chunk);
  };
  const flush = (): void => {
    timer = undefined;
    const now = performance.now();
    to.cork();
    for (let next = queue[head]; next !== undefined && next.due <= now; next = queue[head]) {
      head += 1;
      queuedBytes -= next.chunk?.length ?? 0;
      deliver(next, now);
    }
    to.uncork();
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    }
    if (from.isPaused() && queuedBytes < MAX_QUEUED_BYTES / 2) from.resume();
    arm();
  };
  // A timer that fires before the head is due (whole-millisecond clocks) just waits again.
  const arm = (): void => {
    const next = queue[head];
    if (timer !== undefined || next === undefined || to.destroyed) return;
    timer = setTimeout(flush, Math.max(0, next.due - performance.now()));
  };
  const push = (chunk: Buffer | null): void => {
    const now = performance.now();
    const ms = delay();
    if (ms === 0 && head === queue.length) {
      deliver({ due: now, read: now, chunk }, now);
      return;
    }
    queue.push({ due: now + ms, read: now, chunk });
    queuedBytes += chunk?.length ?? 0;
    if (queuedBytes > MAX_QUEUED_BYTES) from.pause();
    arm();
  };
  from.on('data', (chunk: Buffer) => {
    push(chunk);
  });
  from.on('end', () => {
    push(null);
  });
  return () => {
    clearTimeout(timer);
    queue.length = 0;
  };
}

/** The proxy in this process. */
export async function startDelayProxy(
  routes: readonly Route[],
  delayMs: number,
): Promise<DelayProxy> {
  let delay = assertDelay(delayMs);
  const holds = new Holds();
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const accept = (target: Endpoint) => (inbound: Socket) => {
    const outbound = createConnection({ ...target, allowHalfOpen: true, noDelay: true });
    inbound.setNoDelay(true);
    track(inbound);
    track(outbound);
    const stops = [
      delayedPipe(inbound, outbound, () => delay, holds),
      delayedPipe(outbound, inbound, () => delay, holds),
    ];
    // A reset or error on one side resets the other at once: nothing to keep in order then.
    const drop = (): void => {
      for (const stop of stops) stop();
      inbound.destroy();
      outbound.destroy();
    };
    for (const socket of [inbound, outbound]) {
      socket.on('error', drop);
      socket.on('close', (hadError) => {
        if (hadError || !socket.readableEnded) drop();
      });
    }
  };
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => {
              resolve();
            });
            for (const socket of sockets) socket.destroy();
          }),
      ),
    ).then(() => undefined));
  try {
    for (const route of routes) {
      const server = createServer({ allowHalfOpen: true, noDelay: true }, accept(route.target));
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(route.listen.port, route.listen.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
  } catch (e) {
    await close();
    throw e;
  }
  return {
    setDelay: (ms) => {
      delay = assertDelay(ms);
      holds.reset();
      return Promise.resolve();
    },
    stats: (options) => {
      const summary = holds.summary();
      if (options?.reset === true) holds.reset();
      return Promise.resolve(summary);
    },
    close,
  };
}

/** What the parent sends the child, and the child's answers. */
type Ask =
  | { readonly op: 'delay'; readonly ms: number }
  | { readonly op: 'stats'; readonly reset: boolean }
  | { readonly op: 'close' };
type Request = Ask & { readonly id: number };
type Answer =
  | { readonly op: 'ready' }
  | { readonly id: number; readonly op: 'done'; readonly stats?: HoldStats }
  | { readonly op: 'failed'; readonly id?: number; readonly error: string };

/** The proxy in a child process of its own (see the top of the file); `pid` for its CPU time. */
export async function spawnDelayProxy(
  routes: readonly Route[],
  delayMs: number,
): Promise<DelayProxy & { readonly pid: number }> {
  assertDelay(delayMs);
  const child: ChildProcess = fork(
    import.meta.filename,
    [CHILD_ARG, JSON.stringify({ routes, delayMs })],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      process.off('exit', killOnExit);
      resolve();
    });
  });
  const pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`delay proxy: not listening after ${CHILD_READY_TIMEOUT_MS} ms`));
    }, CHILD_READY_TIMEOUT_MS);
    child.on('message', (message: Answer) => {
      if (message.op === 'ready') {
        clearTimeout(timer);
        resolve();
        return;
      }
      const id = 'id' in message ? message.id : undefined;
      const waiter = id === undefined ? undefined : pending.get(id);
      if (id !== undefined) pending.delete(id);
      if (message.op === 'done') waiter?.resolve(message);
      else if (waiter !== undefined) waiter.reject(new Error(`delay proxy: ${message.error}`));
      else {
        clearTimeout(timer);
        reject(new Error(`delay proxy: ${message.error}`));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error('delay proxy: the child ended before it was listening'));
      for (const waiter of pending.values()) waiter.reject(new Error('delay proxy: ended'));
      pending.clear();
    });
  });
  const ask = (request: Ask): Promise<Answer> =>
    new Promise((resolve, reject) => {
      if (!child.connected) {
        reject(new Error('delay proxy: the child has ended'));
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ ...request, id });
    });
  try {
    await ready;
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw e;
  }
  if (child.pid === undefined) throw new Error('delay proxy: the child has no pid');
  let closing: Promise<void> | undefined;
  return {
    pid: child.pid,
    setDelay: async (ms) => {
      await ask({ op: 'delay', ms: assertDelay(ms) });
    },
    stats: async (options) => {
      const answer = await ask({ op: 'stats', reset: options?.reset === true });
      if (answer.op !== 'done' || answer.stats === undefined)
        throw new Error('delay proxy: expected stats, got none');
      return answer.stats;
    },
    close: () =>
      (closing ??= (async () => {
        await ask({ op: 'close' }).catch(() => undefined);
        child.disconnect();
        await exited;
      })()),
  };
}

/** The child: listens on the routes from argv, obeys the parent over IPC, ends with it. */
async function childMain(config: string): Promise<void> {
  const send = (answer: Answer): void => {
    process.send?.(answer);
  };
  const { routes, delayMs } = JSON.parse(config) as { routes: Route[]; delayMs: number };
  let proxy: DelayProxy;
  try {
    proxy = await startDelayProxy(routes, delayMs);
  } catch (e) {
    send({ op: 'failed', error: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  }
  process.on('disconnect', () => {
    void proxy.close().then(() => process.exit(0));
  });
  process.on('message', (request: Request) => {
    const work =
      request.op === 'delay'
        ? proxy.setDelay(request.ms).then(() => undefined)
        : request.op === 'stats'
          ? proxy.stats({ reset: request.reset })
          : proxy.close().then(() => undefined);
    work.then(
      (stats) => {
        send({ id: request.id, op: 'done', ...(stats === undefined ? {} : { stats }) });
      },
      (e: unknown) => {
        send({ id: request.id, op: 'failed', error: e instanceof Error ? e.message : String(e) });
      },
    );
  });
  send({ op: 'ready' });
}

if (import.meta.main && process.argv[2] === CHILD_ARG) await childMain(process.argv[3] ?? '{}');
