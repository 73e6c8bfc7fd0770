// Public entry of the network layer: the libp2p host, the stream-handler
// template every protocol uses, and one-shot requests.
export {
  DEFAULT_HOST_LIMITS,
  INBOUND_CONNECTIONS_PER_IP_PER_SECOND,
  INBOUND_STREAM_NEGOTIATION_TIMEOUT_MS,
  INBOUND_UPGRADE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_IP,
  MAX_INBOUND_STREAMS_PER_CONNECTION,
  MAX_INCOMING_PENDING_CONNECTIONS,
  createHost,
  createNodeHost,
  type Host,
  type HostDeps,
  type HostLimits,
  type HostOptions,
  type NodeHostOptions,
} from './host.ts';
export {
  REPLY_DEADLINE_MS,
  encodeReject,
  registerHandler,
  registerNodeOnly,
  type HandlerDeps,
  type HandlerSpec,
  type RequestContext,
  type RequestOutcome,
} from './stream.ts';
export { requestOnce, type RequestOptions } from './dial.ts';
export { addressBlock } from './address-block.ts';
export { registerChannel, type ChannelSpec } from './channel.ts';
export {
  registerMethods,
  type MethodHandlers,
  type MethodLimits,
  type ServedMethod,
} from './register.ts';
export type { RequestHandler } from './request.ts';
export { MAX_FRAME_CAP_BYTES, readFrame, writeFrame } from './frame.ts';
export type { LogContext, NetLogger } from './net-logger.ts';
