// Registers every method of the table (protocol/methods.ts) on the node's
// host, each with the limits the table gives it: its own stream for each
// per-request method, behind the request template (stream.ts), node-set
// methods open to the node set's PeerIds only, and the request channel
// (channel.ts) carrying the handlers of the methods it carries. A handler
// per method is required (`MethodHandlers`), so a method added to the table
// without one does not compile.
import { METHODS, METHOD_NAMES, type Method, type StreamLimits } from '../../protocol/internal.ts';
import { registerChannel } from './channel.ts';
import type { Host } from './host.ts';
import type { HandlerDeps, RequestHandler } from './request.ts';
import { registerHandler, registerNodeOnly, type HandlerSpec } from './stream.ts';

/** The methods a node serves on their own streams; the channel carries some of them. */
export type ServedMethod = Exclude<Method, 'channel'>;
export type MethodHandlers = Readonly<Record<ServedMethod, RequestHandler>>;

/** What the operator sets (node/options.ts, NetworkOptions). */
export interface MethodLimits {
  /** Time to receive one whole request (a channel: one frame), ms. */
  readonly readDeadlineMs: number;
  /** What the table's `option` stream limits stand for; also a channel's requests in flight. */
  readonly maxStreamsPerProtocol: number;
}

function streams(limit: StreamLimits[keyof StreamLimits], limits: MethodLimits): number {
  return limit === 'option' ? limits.maxStreamsPerProtocol : limit;
}

/** Registers every method of METHODS on `host`. */
export async function registerMethods(
  host: Host,
  handlers: MethodHandlers,
  limits: MethodLimits,
  deps: HandlerDeps,
): Promise<void> {
  for (const method of METHOD_NAMES) {
    if (method === 'channel') {
      const { carries, streams: channelStreams } = METHODS.channel;
      await registerChannel(
        host.libp2p,
        {
          readDeadlineMs: limits.readDeadlineMs,
          maxInFlight: limits.maxStreamsPerProtocol,
          maxInboundStreams: streams(channelStreams.inbound, limits),
          handlers: Object.fromEntries(carries.map((m) => [m, handlers[m]])),
        },
        deps,
      );
      continue;
    }
    const spec = METHODS[method];
    const handler: Omit<HandlerSpec, 'admit'> = {
      protocol: spec.protocol,
      maxFrameBytes: spec.maxRequestBytes,
      readDeadlineMs: limits.readDeadlineMs,
      maxInboundStreams: streams(spec.streams.inbound, limits),
      maxOutboundStreams: streams(spec.streams.outbound, limits),
      handle: handlers[method],
    };
    if (spec.audience === 'node-set') await registerNodeOnly(host, handler, deps);
    else await registerHandler(host.libp2p, handler, deps);
  }
}
