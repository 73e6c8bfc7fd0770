// The daemon's typed options, grouped per subsystem, each group with its
// defaults. This is the library half: `startDaemon(resolveNodeOptions({ dir,
// nodeSetFile }))` runs a node with every default. Reading flags, QKMS_*
// variables and a config file into these options is the command line's job
// (cli/node-options.ts), which takes its defaults from here.
import { isIP } from 'node:net';
import { ErrorCode, QkmsError } from '../protocol/index.ts';
import type { LogLevel } from './log.ts';

/** A token bucket: `perSecond` tokens refill each second, up to `burst` held. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export interface HttpAddress {
  readonly host: string;
  readonly port: number;
}

/** The files of a secure WebSocket listener's certificate: the key must be mode 0600. */
export interface WsTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** libp2p: where the node listens and what one connection may hold. */
export interface NetworkOptions {
  /** libp2p listen multiaddrs: TCP (`/tcp/P`), WebSocket (`/tcp/P/ws`) and secure WebSocket (`/tcp/P/tls/ws`, needs wsTls). */
  readonly listen: readonly string[];
  /** PEM certificate chain and private key files of `/tls/ws` listeners; null when there are none. */
  readonly wsTls: WsTlsFiles | null;
  /** Time to receive one whole request, milliseconds (slow-loris bound). */
  readonly readDeadlineMs: number;
  readonly maxConnections: number;
  /** Inbound connections one source IPv4 address or IPv6 /64 may hold at once; node-set peers not counted. */
  readonly maxConnectionsPerIp: number;
  /** Concurrent inbound streams per connection and protocol. */
  readonly maxStreamsPerProtocol: number;
}

/** Which requests the node starts work on: concurrency and rate limits. */
export interface AdmissionOptions {
  /** Requests being worked on at once; beyond it the node answers "busy" at once. */
  readonly maxInflight: number;
  readonly perPeerRate: RateLimit;
  /** Requests from one source IPv4 address or IPv6 /64, all its PeerIds together; node-set peers exempt. */
  readonly perIpRate: RateLimit;
  readonly perWalletRate: RateLimit;
}

/** The metrics and health HTTP server. */
export interface HttpOptions {
  readonly address: HttpAddress;
  /** Allow a non-loopback address: /metrics describes the node's load and peers. */
  readonly allowPublic: boolean;
}

/** The node's database and its replay-nonce table. */
export interface StoreOptions {
  /** How often expired replay nonces are swept, milliseconds. */
  readonly replaySweepIntervalMs: number;
}

export interface RevocationOptions {
  /** Milliseconds between anti-entropy rounds with every peer. */
  readonly syncIntervalMs: number;
  /** Not in sync with a majority of the node set for longer than this: not ready. */
  readonly maxLagMs: number;
  /** When not fresh, also refuse recovers (NOT_READY) instead of only reporting it. */
  readonly refuseStale: boolean;
}

/** One EVM JSON-RPC endpoint of a chain that access policies read (`--evm-rpc CHAIN_ID=URL`). */
export interface EvmEndpoint {
  readonly chainId: number;
  /** http(s) URL; may hold an API key, so it is never logged. */
  readonly url: string;
}

/** Access policies on chain state (decision 0015). */
export interface PolicyOptions {
  /** The endpoints, several per chain allowed; a chain with none cannot be named by a policy. */
  readonly evmRpc: readonly EvmEndpoint[];
  /** Endpoints of a chain that must agree on a head, a block hash and each value (k). */
  readonly evmQuorum: number;
  /** A recover never uses chain state confirmed longer ago than this, milliseconds. */
  readonly freshnessMs: number;
  /** How often each chain's head is polled, milliseconds. */
  readonly pollMs: number;
  /** Deadline of one RPC call, milliseconds (a cold read on a recover waits at most this). */
  readonly rpcDeadlineMs: number;
  /** Follow the head minus this many blocks: 0 follows the latest block (decision 0015). */
  readonly confirmations: number;
  /**
   * The followed block's own timestamp may be at most this old, milliseconds;
   * 0 does not check (a chain that mines only on demand, like a dev chain).
   * Catches an endpoint stuck on an old block that still answers.
   */
  readonly maxBlockAgeMs: number;
  /** Chain reads kept fresh at most, all chains together. */
  readonly maxCachedReads: number;
}

/** Test-only fault injection; the command line enables it only with QKMS_ENABLE_TEST_FAULTS=1. */
export interface TestFaultOptions {
  readonly enabled: boolean;
  /** Delay before answering each request, milliseconds. */
  readonly delayMs: number;
  /** Answer recover requests with a corrupted share (to test client detection). */
  readonly wrongShare: boolean;
}

export interface NodeOptions {
  /** Absolute path of the node's data directory (keystore.json, database). */
  readonly dir: string;
  /** Absolute path of the signed node-set file. */
  readonly nodeSetFile: string;
  readonly logLevel: LogLevel;
  readonly network: NetworkOptions;
  readonly admission: AdmissionOptions;
  readonly http: HttpOptions;
  readonly store: StoreOptions;
  readonly revocation: RevocationOptions;
  readonly policy: PolicyOptions;
  readonly test: TestFaultOptions;
}

export const NETWORK_DEFAULTS: NetworkOptions = Object.freeze({
  listen: Object.freeze(['/ip4/127.0.0.1/tcp/7101']),
  wsTls: null,
  readDeadlineMs: 5_000,
  maxConnections: 256,
  maxConnectionsPerIp: 16,
  maxStreamsPerProtocol: 32,
});

export const ADMISSION_DEFAULTS: AdmissionOptions = Object.freeze({
  maxInflight: 64,
  perPeerRate: Object.freeze({ perSecond: 20, burst: 40 }),
  perIpRate: Object.freeze({ perSecond: 50, burst: 100 }),
  perWalletRate: Object.freeze({ perSecond: 5, burst: 20 }),
});

export const HTTP_DEFAULTS: HttpOptions = Object.freeze({
  address: Object.freeze({ host: '127.0.0.1', port: 9101 }),
  allowPublic: false,
});

export const STORE_DEFAULTS: StoreOptions = Object.freeze({ replaySweepIntervalMs: 60_000 });

export const REVOCATION_DEFAULTS: RevocationOptions = Object.freeze({
  syncIntervalMs: 5_000,
  maxLagMs: 60_000,
  refuseStale: false,
});

export const POLICY_DEFAULTS: PolicyOptions = Object.freeze({
  evmRpc: Object.freeze([]),
  evmQuorum: 1,
  freshnessMs: 5_000,
  pollMs: 1_000,
  rpcDeadlineMs: 2_000,
  confirmations: 0,
  maxBlockAgeMs: 0,
  maxCachedReads: 50_000,
});

export const TEST_FAULT_DEFAULTS: TestFaultOptions = Object.freeze({
  enabled: false,
  delayMs: 0,
  wrongShare: false,
});

export const LOG_LEVEL_DEFAULT: LogLevel = 'info';

/** What a library caller gives: the two paths, and any subsystem settings to override. */
export interface NodeOptionsInput {
  readonly dir: string;
  readonly nodeSetFile: string;
  readonly logLevel?: LogLevel;
  readonly network?: Partial<NetworkOptions>;
  readonly admission?: Partial<AdmissionOptions>;
  readonly http?: Partial<HttpOptions>;
  readonly store?: Partial<StoreOptions>;
  readonly revocation?: Partial<RevocationOptions>;
  readonly policy?: Partial<PolicyOptions>;
  readonly test?: Partial<TestFaultOptions>;
}

function invalid(message: string): QkmsError {
  return new QkmsError(ErrorCode.CONFIG_INVALID, `node options: ${message}`);
}

/** 127.0.0.0/8, ::1 and "localhost": reachable from this host only. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function checkPositive(group: string, values: object): void {
  for (const [key, value] of Object.entries(values)) {
    if (typeof value !== 'number') continue;
    if (!Number.isFinite(value) || value < 0) {
      throw invalid(`${group}.${key}: expected a finite number >= 0, got ${String(value)}`);
    }
  }
}

function checkPolicy(policy: PolicyOptions): void {
  checkPositive('policy', policy);
  const perChain = new Map<number, number>();
  for (const { chainId, url } of policy.evmRpc) {
    if (!Number.isSafeInteger(chainId) || chainId < 1)
      throw invalid(`policy.evmRpc: chain id ${String(chainId)} is not a positive integer`);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid(`policy.evmRpc: chain ${chainId}: not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw invalid(`policy.evmRpc: chain ${chainId}: expected an http or https URL`);
    perChain.set(chainId, (perChain.get(chainId) ?? 0) + 1);
  }
  if (!Number.isInteger(policy.evmQuorum) || policy.evmQuorum < 1)
    throw invalid('policy.evmQuorum: expected an integer >= 1');
  for (const [chainId, n] of perChain) {
    if (n < policy.evmQuorum)
      throw invalid(
        `policy.evmQuorum: ${policy.evmQuorum} endpoints must agree, but chain ${chainId} has ${n}`,
      );
  }
  if (policy.pollMs <= 0 || policy.freshnessMs <= policy.pollMs)
    throw invalid(
      `policy.freshnessMs (${policy.freshnessMs}) must exceed policy.pollMs (${policy.pollMs}) > 0`,
    );
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Fills every subsystem's defaults into `input` and checks what holds across
 * settings: a public HTTP address needs `http.allowPublic`. Throws
 * CONFIG_INVALID. The result is frozen.
 */
export function resolveNodeOptions(input: NodeOptionsInput): NodeOptions {
  if (input.dir === '') throw invalid('dir: required');
  if (input.nodeSetFile === '') throw invalid('nodeSetFile: required');
  const options: NodeOptions = {
    dir: input.dir,
    nodeSetFile: input.nodeSetFile,
    logLevel: input.logLevel ?? LOG_LEVEL_DEFAULT,
    network: { ...NETWORK_DEFAULTS, ...input.network },
    admission: { ...ADMISSION_DEFAULTS, ...input.admission },
    http: { ...HTTP_DEFAULTS, ...input.http },
    store: { ...STORE_DEFAULTS, ...input.store },
    revocation: { ...REVOCATION_DEFAULTS, ...input.revocation },
    policy: { ...POLICY_DEFAULTS, ...input.policy },
    test: { ...TEST_FAULT_DEFAULTS, ...input.test },
  };
  if (options.network.listen.length === 0) throw invalid('network.listen: at least one address');
  const secure = options.network.listen.find((a) => a.endsWith('/tls/ws'));
  if (secure !== undefined && options.network.wsTls === null)
    throw invalid(
      `network.listen: ${secure} serves wss and needs network.wsTls (certificate and key files)`,
    );
  checkPositive('network', options.network);
  checkPositive('admission', options.admission);
  for (const rate of ['perPeerRate', 'perIpRate', 'perWalletRate'] as const)
    checkPositive(`admission.${rate}`, options.admission[rate]);
  checkPositive('store', options.store);
  checkPositive('revocation', options.revocation);
  checkPositive('test', options.test);
  checkPolicy(options.policy);
  if (!options.http.allowPublic && !isLoopbackHost(options.http.address.host)) {
    throw invalid(
      `http: host ${options.http.address.host} is reachable from other hosts; bind to 127.0.0.1, or set allowPublic`,
    );
  }
  return deepFreeze(structuredClone(options));
}
