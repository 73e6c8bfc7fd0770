// The node's libp2p host (docs/protocol.md §1; DESIGN.md, "Admission
// control"): TCP and WebSockets (ws, or wss with the operator's
// certificate) + Noise + Yamux and nothing else — no discovery, no DHT, no
// identify (multistream-select negotiates each stream's protocol without
// it). Its identity is the node's Ed25519 key, so the PeerId clients pin
// from the node set is the one Noise proves.
//
// js-libp2p's connection defaults (10 pending inbound upgrades, 10 s upgrade
// timeout) let ten idle sockets lock every honest peer out; the limits below
// are set on purpose, each with its reason, and node-set peers' addresses are
// on libp2p's allow list so no limit ever refuses a quorum peer.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import type { Listener, PeerId, PrivateKey, Transport } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
import { webSockets } from '@libp2p/websockets';
import { CODE_IP4, CODE_IP6, multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import {
  ErrorCode,
  QkmsError,
  withCoalescedWrites,
  type NodeSet,
} from '../../protocol/internal.ts';
import { createConnectionGate } from './connection-gate.ts';
import type { NetLogger } from './net-logger.ts';
import { assertKnownKeys, positiveInt } from './validate.ts';
import type { WebRtcCertificate } from './webrtc-cert.ts';
import { guardWebRtcListener } from './webrtc-guard.ts';
import { guardWebSocketListener, WS_HTTP_OPTIONS } from './ws-guard.ts';

/** Open connections before libp2p prunes (never allow-listed ones); with the pending allowance below and LevelDB's files this stays under the common 1024 open-file limit. */
export const MAX_CONNECTIONS = 512;
/** Inbound sockets still upgrading (Noise, Yamux). libp2p's 10 lets ten idle sockets lock everyone out; at the per-IP rate and upgrade timeout below, filling 256 takes at least 18 source addresses. */
export const MAX_INCOMING_PENDING_CONNECTIONS = 256;
/** An inbound upgrade is about four round trips (multistream, Noise XX, multistream), so 3 s fits a 500 ms link, and an idle socket gives its pending slot back after it (libp2p: 10 s). */
export const INBOUND_UPGRADE_TIMEOUT_MS = 3_000;
/** New inbound connections per source IP per second (libp2p's default, kept on purpose): it caps one address at 15 pending upgrades, and a pooling client opens one connection per node. */
export const INBOUND_CONNECTIONS_PER_IP_PER_SECOND = 5;
/** A new stream names its protocol in one round trip; one still negotiating after 3 s is reset (libp2p: 10 s). */
export const INBOUND_STREAM_NEGOTIATION_TIMEOUT_MS = 3_000;
/** Open inbound streams per connection, still-negotiating ones included: above the sum of the per-protocol limits, far below yamux's 1 000. */
export const MAX_INBOUND_STREAMS_PER_CONNECTION = 256;
/** Inbound connections one source /32 (IPv4) or /64 (IPv6) may hold at once, node-set peers not counted: a pooling client holds one per node, so 16 lets a few clients share a NAT while one host holds at most 1/16 of MAX_CONNECTIONS however many PeerIds it makes. */
export const MAX_CONNECTIONS_PER_IP = 16;

export interface HostLimits {
  readonly maxConnections: number;
  readonly maxIncomingPendingConnections: number;
  readonly inboundUpgradeTimeoutMs: number;
  readonly inboundConnectionsPerIpPerSecond: number;
  readonly inboundStreamNegotiationTimeoutMs: number;
  readonly maxInboundStreamsPerConnection: number;
  readonly maxConnectionsPerIp: number;
}

export const DEFAULT_HOST_LIMITS: HostLimits = {
  maxConnections: MAX_CONNECTIONS,
  maxIncomingPendingConnections: MAX_INCOMING_PENDING_CONNECTIONS,
  inboundUpgradeTimeoutMs: INBOUND_UPGRADE_TIMEOUT_MS,
  inboundConnectionsPerIpPerSecond: INBOUND_CONNECTIONS_PER_IP_PER_SECOND,
  inboundStreamNegotiationTimeoutMs: INBOUND_STREAM_NEGOTIATION_TIMEOUT_MS,
  maxInboundStreamsPerConnection: MAX_INBOUND_STREAMS_PER_CONNECTION,
  maxConnectionsPerIp: MAX_CONNECTIONS_PER_IP,
};

export interface HostOptions {
  /** The node's libp2p identity: an Ed25519 key (its PeerId is in the node set). */
  readonly privateKey: PrivateKey;
  /** Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/7101`; none for a dial-only host. */
  readonly listen: readonly string[];
  /** PeerIds of the node set: the only peers node-to-node protocols serve. */
  readonly nodeSetPeers: readonly PeerId[];
  /**
   * Multiaddrs (or `/ipN/…/ipcidr/…` ranges) whose connections no limit
   * refuses or prunes: the node-set peers' addresses. libp2p matches them by
   * source IP, so only IP multiaddrs count; DNS ones are skipped with a warning.
   */
  readonly allow: readonly string[];
  /** Overrides of DEFAULT_HOST_LIMITS (tests, unusual deployments). */
  readonly limits?: Partial<HostLimits>;
  /** TEST ONLY: peers to refuse connections with, both ways (a network partition). */
  readonly blocked?: (peer: PeerId) => boolean;
  /** PEM certificate chain and key for `/tls/ws` (wss) listen addresses. */
  readonly wsTls?: WsTls;
  /** The certificate of `/udp/P/webrtc-direct` listen addresses (webrtc-cert.ts); required with one. */
  readonly webrtcCertificate?: WebRtcCertificate;
}

/** The WebSocket listener's TLS certificate chain and private key, PEM. */
export interface WsTls {
  readonly cert: string;
  readonly key: string;
}

export interface HostDeps {
  readonly log: NetLogger;
}

export interface Host {
  readonly libp2p: Libp2p;
  readonly peerId: PeerId;
  readonly limits: HostLimits;
  /** True for a PeerId of the node set (never for a client). */
  isNodeSetPeer(peer: PeerId): boolean;
  /** Stops libp2p: listeners, connections, streams. Idempotent. */
  close(): Promise<void>;
}

const OPTION_KEYS = [
  'privateKey',
  'listen',
  'nodeSetPeers',
  'allow',
  'limits',
  'blocked',
  'wsTls',
  'webrtcCertificate',
] as const;
const LIMIT_KEYS = Object.keys(DEFAULT_HOST_LIMITS);

function resolveLimits(overrides: Partial<HostLimits> | undefined): HostLimits {
  if (overrides === undefined) return DEFAULT_HOST_LIMITS;
  assertKnownKeys(overrides, LIMIT_KEYS, 'host limits');
  const limits = { ...DEFAULT_HOST_LIMITS, ...overrides };
  for (const [key, value] of Object.entries(limits)) positiveInt(value, `host limits: ${key}`);
  return limits;
}

/** The IP entries of `allow`, as libp2p's connection manager takes them. */
function allowList(allow: readonly string[], log: NetLogger): string[] {
  const out: string[] = [];
  for (const text of allow) {
    let first: number | undefined;
    try {
      first = multiaddr(text).getComponents()[0]?.code;
    } catch (e) {
      throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'host allow: not a multiaddr', { cause: e });
    }
    if (first === CODE_IP4 || first === CODE_IP6) out.push(text);
    else log.warn('allow entry skipped: not an IP multiaddr', { addr: text });
  }
  return out;
}

/** The IP addresses in `allow` (node-set peers), as Node's sockets print them. */
function allowedIps(allow: readonly string[]): Set<string> {
  const ips = new Set<string>();
  for (const text of allow) {
    try {
      const first = multiaddr(text).getComponents()[0];
      if ((first?.code === CODE_IP4 || first?.code === CODE_IP6) && first.value !== undefined) {
        ips.add(first.value);
        if (first.code === CODE_IP4) ips.add(`::ffff:${first.value}`);
      }
    } catch {
      // allowList() has already refused a malformed entry.
    }
  }
  return ips;
}

/** What the pre-upgrade guards need (ws-guard.ts, webrtc-guard.ts). */
interface GuardContext {
  readonly limits: HostLimits;
  readonly isAllowed: (address: string) => boolean;
  readonly onDrop: (reason: string, block: string) => void;
}

type TransportFactory<C> = (components: C) => Transport;

/**
 * The transport `factory` makes, each of its listeners guarded by `guard`
 * as it is created, before it listens: no connection is ever accepted
 * unguarded. A listener that cannot be guarded stops the start: the node
 * does not serve a transport it cannot bound.
 */
function guarded<C>(
  factory: TransportFactory<C>,
  what: string,
  guard: (listener: Listener) => boolean,
): TransportFactory<C> {
  return (components) => {
    const transport = factory(components);
    const createListener = transport.createListener.bind(transport);
    transport.createListener = (listenerOptions) => {
      const listener = createListener(listenerOptions);
      if (!guard(listener))
        throw new QkmsError(ErrorCode.INTERNAL, `${what} listener: its limits cannot be attached`);
      return listener;
    };
    return transport;
  };
}

function webSocketTransport(
  options: HostOptions,
  context: GuardContext,
): ReturnType<typeof webSockets> {
  const factory = webSockets({
    http: WS_HTTP_OPTIONS,
    ...(options.wsTls === undefined ? {} : { https: { ...WS_HTTP_OPTIONS, ...options.wsTls } }),
  });
  return guarded(factory, 'WebSocket', (listener) =>
    guardWebSocketListener(listener, {
      upgradeTimeoutMs: context.limits.inboundUpgradeTimeoutMs,
      maxSocketsPerBlock: context.limits.maxConnectionsPerIp,
      isAllowed: context.isAllowed,
      onDrop: context.onDrop,
    }),
  );
}

type WebRtcTransport = ReturnType<typeof import('@libp2p/webrtc').webRTCDirect>;

/**
 * WebRTC-direct, only for a node that listens on it: @libp2p/webrtc loads
 * node-datachannel's native library, which a TCP-only node need not pay for.
 */
async function webRtcDirectTransport(
  options: HostOptions,
  context: GuardContext,
): Promise<WebRtcTransport[]> {
  if (!options.listen.some((addr) => addr.includes('/webrtc-direct'))) return [];
  if (options.webrtcCertificate === undefined)
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      'host options: a webrtc-direct listen address needs webrtcCertificate',
    );
  const { webRTCDirect } = await import('@libp2p/webrtc');
  webRtcLoaded = true;
  const factory = webRTCDirect({
    certificate: { ...options.webrtcCertificate },
    // No STUN servers: a node is dialled at the address the node set lists.
    rtcConfiguration: { iceServers: [] },
  });
  return [
    guarded(factory, 'WebRTC-direct', (listener) =>
      guardWebRtcListener(listener, {
        maxPendingPerBlock: context.limits.maxConnectionsPerIp,
        isAllowed: context.isAllowed,
        onDrop: context.onDrop,
      }),
    ),
  ];
}

/** Builds and starts the host. */
export async function createHost(options: HostOptions, deps: HostDeps): Promise<Host> {
  assertKnownKeys(options, OPTION_KEYS, 'host options');
  if (options.privateKey.type !== 'Ed25519')
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      `host options: privateKey must be Ed25519, got ${options.privateKey.type}`,
    );
  const limits = resolveLimits(options.limits);
  const nodeSet = new Set(options.nodeSetPeers.map((p) => p.toString()));
  const isNodeSetPeer = (peer: PeerId): boolean => nodeSet.has(peer.toString());
  const gate = createConnectionGate({
    maxPerBlock: limits.maxConnectionsPerIp,
    isNodeSetPeer,
    ...(options.blocked === undefined ? {} : { blocked: options.blocked }),
    onRefused: (block) => {
      deps.log.debug('connection refused: too many from its address block', { block });
    },
  });

  const allowed = allowedIps(options.allow);
  const guards: GuardContext = {
    limits,
    isAllowed: (address) => allowed.has(address),
    onDrop: (reason, block) => {
      deps.log.debug('connection refused before its upgrade', { reason, block });
    },
  };
  const libp2p = await createLibp2p({
    privateKey: options.privateKey,
    addresses: { listen: [...options.listen] },
    transports: [
      // One socket write per turn (protocol/codec/coalesce-writes.ts).
      (components: Parameters<ReturnType<typeof tcp>>[0]) => withCoalescedWrites(tcp()(components)),
      webSocketTransport(options, guards),
      ...(await webRtcDirectTransport(options, guards)),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [
      yamux({
        maxInboundStreams: limits.maxInboundStreamsPerConnection,
        // Streams that arrive before libp2p has wrapped the new connection are
        // queued, not fatal: past yamux's 10, its muxer aborts, sends GoAway and
        // leaves the socket open with a dead muxer (issue 12 item 5).
        maxEarlyStreams: limits.maxInboundStreamsPerConnection,
      }),
    ],
    connectionManager: {
      maxConnections: limits.maxConnections,
      maxIncomingPendingConnections: limits.maxIncomingPendingConnections,
      inboundUpgradeTimeout: limits.inboundUpgradeTimeoutMs,
      inboundConnectionThreshold: limits.inboundConnectionsPerIpPerSecond,
      inboundStreamProtocolNegotiationTimeout: limits.inboundStreamNegotiationTimeoutMs,
      allow: allowList(options.allow, deps.log),
    },
    connectionGater: gate.gater,
  });

  let closing: Promise<void> | undefined;
  return {
    libp2p,
    peerId: libp2p.peerId,
    limits,
    isNodeSetPeer,
    close: () => (closing ??= Promise.resolve(libp2p.stop()).then(releaseWebRtc)),
  };
}

/**
 * Releases node-datachannel's native threads once libp2p has stopped, if this
 * process loaded it. Left to process exit, their teardown sometimes aborts the
 * process (a glibc assertion in __pthread_tpp_change_priority: seen in 1 of 6
 * stops), so a clean stop would exit with SIGABRT.
 */
async function releaseWebRtc(): Promise<void> {
  if (!webRtcLoaded) return;
  const { cleanup } = await import('node-datachannel');
  cleanup();
}

/** Whether this process has loaded @libp2p/webrtc (and so node-datachannel). */
let webRtcLoaded = false;

export interface NodeHostOptions {
  /** The node's Ed25519 identity seed (its keystore's). */
  readonly identitySeed: Uint8Array;
  /** The node set it serves: its peers are exempt from per-address limits, their addresses allowed. */
  readonly nodeSet: NodeSet;
  readonly listen: readonly string[];
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** Test faults only: refuse connections with these PeerIds both ways (a partition). */
  readonly blocked?: (peerId: string) => boolean;
  readonly wsTls?: WsTls;
  readonly webrtcCertificate?: WebRtcCertificate;
}

/** createHost for a node of `options.nodeSet`. */
export async function createNodeHost(options: NodeHostOptions, deps: HostDeps): Promise<Host> {
  const { nodeSet, blocked, wsTls, webrtcCertificate } = options;
  return createHost(
    {
      privateKey: await generateKeyPairFromSeed('Ed25519', options.identitySeed),
      listen: options.listen,
      nodeSetPeers: nodeSet.nodes.map((n) => peerIdFromString(n.peerId)),
      allow: nodeSet.nodes.flatMap((n) => n.multiaddrs),
      limits: {
        maxConnections: options.maxConnections,
        maxConnectionsPerIp: options.maxConnectionsPerIp,
      },
      ...(blocked === undefined ? {} : { blocked: (peer: PeerId) => blocked(peer.toString()) }),
      ...(wsTls === undefined ? {} : { wsTls }),
      ...(webrtcCertificate === undefined ? {} : { webrtcCertificate }),
    },
    deps,
  );
}
