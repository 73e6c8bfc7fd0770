// The request template both transports share (STYLE.md, "The daemon"): a
// request on its own stream (stream.ts) and one on the request channel
// (channel.ts) differ only in how their bytes arrive and leave. From the
// moment a request is read, both:
//   - run the handler with the peer, its address block and a work signal;
//   - map what it throws to a wire code: a QkmsError whose code is a wire
//     rejection becomes that `reject`, anything else `reject INTERNAL` with
//     an error log — a peer never sees our text; nothing is answered when the
//     work signal aborted (nobody left to answer, or shutting down);
//   - make one metrics observation and write one log line per request,
//     whatever became of it.
// The limits both register with are checked here too, with the same bounds.
import {
  ErrorCode,
  SUPPORTED_VERSIONS,
  encodeMessage,
  isQkmsError,
  rejectionCodeOf,
  type RejectionCode,
} from '../../protocol/internal.ts';
import type { LogContext, NetLogger } from './net-logger.ts';
import { assertKnownKeys, positiveInt } from './validate.ts';

/** Longest read deadline a spec may set: a request is one small frame, not a transfer. */
export const MAX_READ_DEADLINE_MS = 60_000;

/** Most streams (or channel requests) per connection a spec may allow for one protocol. */
export const MAX_STREAMS_PER_PROTOCOL = 1_024;

/**
 * How one request ended, for metrics and logs (a closed union, so it can be
 * a label): `ok` — the handler answered; a rejection code — that `reject` was
 * the answer; `refused` — the peer may not use this protocol and the stream
 * was reset unread; `aborted` — the stream failed or the node shut down
 * before an answer was decided.
 */
export type RequestOutcome = 'ok' | RejectionCode | 'refused' | 'aborted';

export interface RequestContext {
  /** PeerId text of the peer, authenticated by the Noise handshake. */
  readonly remotePeer: string;
  /**
   * The source-address block of the connection (address-block.ts): what
   * per-source limits key on, since a PeerId costs nothing to make.
   */
  readonly remoteBlock: string;
  /** Aborts when the stream closes under the request or the node shuts down. */
  readonly signal: AbortSignal;
}

/**
 * Turns a request's bytes into the answer's bytes. Throw a QkmsError with a
 * rejection code to answer `reject` with that code.
 */
export type RequestHandler = (request: Uint8Array, ctx: RequestContext) => Promise<Uint8Array>;

export interface HandlerDeps {
  readonly log: NetLogger;
  /** One observation per request: the daemon's metrics (a histogram by protocol and outcome). */
  readonly onRequest?: (protocol: string, outcome: RequestOutcome, seconds: number) => void;
  /** The daemon's root signal: aborts reads and in-flight handlers at shutdown. */
  readonly signal?: AbortSignal;
  /** Monotonic clock in ms (injected so tests are deterministic); performance.now by default. */
  readonly now?: () => number;
}

const DEPS_KEYS = ['log', 'onRequest', 'signal', 'now'] as const;

/** Refuses a deps bag with an unknown key (INVALID_ARGUMENT). */
export function checkDeps(deps: HandlerDeps): void {
  assertKnownKeys(deps, DEPS_KEYS, 'handler deps');
}

/** The limits every registration sets, checked with the same bounds for streams and channels. */
export function checkLimits(
  name: string,
  limits: { readonly readDeadlineMs: unknown; readonly maxInboundStreams: unknown },
): void {
  positiveInt(limits.readDeadlineMs, `${name}: readDeadlineMs`, MAX_READ_DEADLINE_MS);
  positiveInt(limits.maxInboundStreams, `${name}: maxInboundStreams`, MAX_STREAMS_PER_PROTOCOL);
}

/** The encoded `reject` for `code`; UNSUPPORTED_VERSION names the versions this node speaks. */
export function encodeReject(code: RejectionCode): Uint8Array {
  return encodeMessage(
    code === ErrorCode.UNSUPPORTED_VERSION
      ? { type: 'reject', code, versions: SUPPORTED_VERSIONS }
      : { type: 'reject', code },
  );
}

/** What our own log keeps of a failure: its class, code and message (never sent to a peer). */
function errorContext(e: unknown): LogContext {
  if (isQkmsError(e)) return { err: e.name, code: e.code, reason: e.message };
  if (e instanceof Error) return { err: e.name, reason: e.message };
  return { err: typeof e };
}

export interface RequestLabels {
  /** libp2p protocol id of the request's method (the channel's for a frame refused before its kind is known). */
  readonly protocol: string;
  /** PeerId text of the peer. */
  readonly peer: string;
  /** Carried on the request channel (a field of the log line). */
  readonly channel?: boolean;
}

/**
 * One request's way through the template, from its first byte: what it came
 * to (`outcome`), whether its answer reached the transport (`delivered`),
 * and, at end(), its one metrics observation and one log line.
 */
export class RequestRun {
  readonly #deps: HandlerDeps;
  readonly #labels: RequestLabels;
  readonly #now: () => number;
  readonly #started: number;
  #failure: LogContext = {};
  #ended = false;
  outcome: RequestOutcome = 'aborted';
  delivered = false;

  constructor(deps: HandlerDeps, labels: RequestLabels) {
    this.#deps = deps;
    this.#labels = labels;
    this.#now = deps.now ?? (() => performance.now());
    this.#started = this.#now();
  }

  /** The peer may not use this protocol: nothing is read or answered. */
  refuse(): void {
    this.outcome = 'refused';
  }

  /** Answers `reject` with `code`: its bytes, the outcome set. */
  reject(code: RejectionCode): Uint8Array {
    this.outcome = code;
    return encodeReject(code);
  }

  /**
   * The answer to `request`: the handler's, or the `reject` what it threw
   * maps to; undefined when `ctx.signal` aborted first (nobody to answer).
   */
  async answer(
    handler: RequestHandler,
    request: Uint8Array,
    ctx: RequestContext,
  ): Promise<Uint8Array | undefined> {
    try {
      const reply = await handler(request, ctx);
      this.outcome = 'ok';
      return reply;
    } catch (e) {
      if (ctx.signal.aborted) return undefined;
      const code = rejectionCodeOf(e);
      if (code === ErrorCode.INTERNAL) this.#failure = errorContext(e);
      return this.reject(code);
    }
  }

  /** The request's one metrics observation and one log line; once. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const { protocol, peer, channel } = this.#labels;
    const seconds = (this.#now() - this.#started) / 1000;
    this.#deps.onRequest?.(protocol, this.outcome, seconds);
    const ctx: LogContext = {
      protocol,
      peer,
      outcome: this.outcome,
      delivered: this.delivered,
      ...(channel === true ? { channel } : {}),
      ms: Math.round(seconds * 1000),
      ...this.#failure,
    };
    const { log } = this.#deps;
    // One line per request is at debug: at info it would cost every request a JSON line
    // (issue 18); the per-outcome counts are in qkms_requests_total either way.
    if (this.outcome === ErrorCode.INTERNAL) log.error('request failed', ctx);
    else log.debug('request', ctx);
  }
}
