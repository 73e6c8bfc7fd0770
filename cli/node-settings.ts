// Long file: one table of every node setting, so flags, variables, config keys and --help cannot drift apart.
// The node's settings, one row each in SETTINGS: its config key, flag,
// variable, unit, secure default and parser (./setting-parsers.ts); the
// variables and flags derived from it, and the --help text that documents
// them. ./node-options.ts reads the four sources against it.
import {
  ADMISSION_DEFAULTS,
  HTTP_DEFAULTS,
  LOG_LEVELS,
  LOG_LEVEL_DEFAULT,
  NETWORK_DEFAULTS,
  POLICY_DEFAULTS,
  REVOCATION_DEFAULTS,
  STORE_DEFAULTS,
  TEST_FAULT_DEFAULTS,
  type HttpAddress,
  type LogLevel,
} from '../node/index.ts';
import type { FlagKind, FlagSpecs } from './io.ts';
import { QUORUM_ENV } from './quorum-file.ts';
import {
  MAX_LISTEN_ADDRS,
  intParser,
  parseBoolean,
  parseHttp,
  parseListen,
  parseEvmRpc,
  parseLogLevel,
  parsePath,
  rateParser,
  type ParseContext,
} from './setting-parsers.ts';

export const ENV_PREFIX = 'QKMS_';
export const PASSPHRASE_ENV = 'QKMS_PASSPHRASE';
export const PASSPHRASE_FILE_ENV = 'QKMS_PASSPHRASE_FILE';
export const ENABLE_TEST_FAULTS_ENV = 'QKMS_ENABLE_TEST_FAULTS';
export const CONFIG_ENV = 'QKMS_CONFIG';

export interface Setting<T> {
  /** Key in the config file; a dot means a nested object (`test.delayMs` is "test": {"delayMs": …}). */
  readonly key: string;
  readonly flag: string;
  readonly env: string;
  readonly flagKind: FlagKind;
  /** Placeholder in --help (`--dir DIR`); empty for a boolean flag. */
  readonly arg: string;
  readonly help: string;
  /** Absent: required. */
  readonly default?: T;
  readonly defaultText?: string;
  readonly parse: (value: unknown, ctx: ParseContext) => T;
}

function setting<T>(s: Setting<T>): Setting<T> {
  return s;
}

export const SETTINGS = {
  dir: setting({
    key: 'dir',
    flag: 'dir',
    env: 'QKMS_DIR',
    flagKind: 'string',
    arg: 'DIR',
    help: 'Node data directory: keystore.json and the database. Required.',
    parse: parsePath,
  }),
  nodeSetFile: setting({
    key: 'nodeSet',
    flag: 'nodeset',
    env: 'QKMS_NODE_SET',
    flagKind: 'string',
    arg: 'FILE',
    help: 'The signed node-set document (JSON) of the quorum this node serves. Required.',
    parse: parsePath,
  }),
  listen: setting<readonly string[]>({
    key: 'listen',
    flag: 'listen',
    env: 'QKMS_LISTEN',
    flagKind: 'list',
    arg: 'MULTIADDR',
    help: `libp2p listen address: /ip4/HOST/tcp/PORT (TCP), …/tcp/PORT/ws (WebSocket, for browsers), …/tcp/PORT/tls/ws (wss, with --ws-tls-cert and --ws-tls-key) or /ip4/IP/udp/PORT/webrtc-direct (for browsers); repeat the flag, or comma-separate in the variable (at most ${MAX_LISTEN_ADDRS}). Use a public address to serve a quorum.`,
    default: NETWORK_DEFAULTS.listen,
    defaultText: NETWORK_DEFAULTS.listen.join(','),
    parse: parseListen,
  }),
  wsTlsCert: setting<string | null>({
    key: 'wsTlsCert',
    flag: 'ws-tls-cert',
    env: 'QKMS_WS_TLS_CERT',
    flagKind: 'string',
    arg: 'FILE',
    help: 'PEM certificate chain of the /tcp/PORT/tls/ws (wss) listen addresses. Needs --ws-tls-key.',
    default: null,
    defaultText: 'none',
    parse: parsePath,
  }),
  wsTlsKey: setting<string | null>({
    key: 'wsTlsKey',
    flag: 'ws-tls-key',
    env: 'QKMS_WS_TLS_KEY',
    flagKind: 'string',
    arg: 'FILE',
    help: 'PEM private key of that certificate, a file of mode 0600. Needs --ws-tls-cert.',
    default: null,
    defaultText: 'none',
    parse: parsePath,
  }),
  http: setting<HttpAddress>({
    key: 'http',
    flag: 'http',
    env: 'QKMS_HTTP',
    flagKind: 'string',
    arg: 'HOST:PORT',
    help: 'Address of /metrics, /healthz and /readyz. A non-loopback host needs --allow-public-http.',
    default: HTTP_DEFAULTS.address,
    defaultText: `${HTTP_DEFAULTS.address.host}:${HTTP_DEFAULTS.address.port}`,
    parse: parseHttp,
  }),
  allowPublicHttp: setting({
    key: 'allowPublicHttp',
    flag: 'allow-public-http',
    env: 'QKMS_ALLOW_PUBLIC_HTTP',
    flagKind: 'boolean',
    arg: '',
    help: 'Allow the HTTP address to be reachable from other hosts (put a firewall in front).',
    default: HTTP_DEFAULTS.allowPublic,
    defaultText: String(HTTP_DEFAULTS.allowPublic),
    parse: parseBoolean,
  }),
  logLevel: setting<LogLevel>({
    key: 'logLevel',
    flag: 'log-level',
    env: 'QKMS_LOG_LEVEL',
    flagKind: 'string',
    arg: 'LEVEL',
    help: `Lowest level logged (${LOG_LEVELS.join(', ')}). Logs are JSON lines on stderr.`,
    default: LOG_LEVEL_DEFAULT,
    defaultText: LOG_LEVEL_DEFAULT,
    parse: parseLogLevel,
  }),
  passphraseFile: setting<string | null>({
    key: 'passphraseFile',
    flag: 'passphrase-file',
    env: PASSPHRASE_FILE_ENV,
    flagKind: 'string',
    arg: 'FILE',
    help: `File holding the keystore passphrase (one trailing newline is ignored). Or set ${PASSPHRASE_ENV}; never on the command line.`,
    default: null,
    defaultText: 'none (unencrypted keystore)',
    parse: parsePath,
  }),
  readDeadlineMs: setting({
    key: 'readDeadlineMs',
    flag: 'read-deadline-ms',
    env: 'QKMS_READ_DEADLINE_MS',
    flagKind: 'string',
    arg: 'MS',
    help: 'Milliseconds to receive one whole request; a slower sender is cut off (slow-loris). A request is one small frame, so 5 s covers slow links.',
    default: NETWORK_DEFAULTS.readDeadlineMs,
    defaultText: String(NETWORK_DEFAULTS.readDeadlineMs),
    parse: intParser(100, 120_000, 'milliseconds'),
  }),
  maxConnections: setting({
    key: 'maxConnections',
    flag: 'max-connections',
    env: 'QKMS_MAX_CONNECTIONS',
    flagKind: 'string',
    arg: 'N',
    help: 'Open libp2p connections, all peers together; quorum peers are always allowed.',
    default: NETWORK_DEFAULTS.maxConnections,
    defaultText: String(NETWORK_DEFAULTS.maxConnections),
    parse: intParser(1, 65_536, 'connections'),
  }),
  maxConnectionsPerIp: setting({
    key: 'maxConnectionsPerIp',
    flag: 'max-connections-per-ip',
    env: 'QKMS_MAX_CONNECTIONS_PER_IP',
    flagKind: 'string',
    arg: 'N',
    help: 'Inbound libp2p connections one IPv4 address or IPv6 /64 may hold at once, whatever PeerIds it uses; node-set peers are not counted. Raise it when many clients share a NAT.',
    default: NETWORK_DEFAULTS.maxConnectionsPerIp,
    defaultText: String(NETWORK_DEFAULTS.maxConnectionsPerIp),
    parse: intParser(1, 65_536, 'connections'),
  }),
  maxInflight: setting({
    key: 'maxInflight',
    flag: 'max-inflight',
    env: 'QKMS_MAX_INFLIGHT',
    flagKind: 'string',
    arg: 'N',
    help: 'Requests in progress at once (the work queue bound); beyond it a request is answered "busy" at once.',
    default: ADMISSION_DEFAULTS.maxInflight,
    defaultText: String(ADMISSION_DEFAULTS.maxInflight),
    parse: intParser(1, 10_000, 'requests'),
  }),
  perPeerRate: setting({
    key: 'perPeerRate',
    flag: 'per-peer-rate',
    env: 'QKMS_PER_PEER_RATE',
    flagKind: 'string',
    arg: 'PER_S',
    help: 'Requests per second one PeerId may sustain (token bucket refill).',
    default: ADMISSION_DEFAULTS.perPeerRate.perSecond,
    defaultText: String(ADMISSION_DEFAULTS.perPeerRate.perSecond),
    parse: rateParser(100_000, 'requests per second'),
  }),
  perPeerBurst: setting({
    key: 'perPeerBurst',
    flag: 'per-peer-burst',
    env: 'QKMS_PER_PEER_BURST',
    flagKind: 'string',
    arg: 'N',
    help: 'Requests one PeerId may send at once (token bucket size).',
    default: ADMISSION_DEFAULTS.perPeerRate.burst,
    defaultText: String(ADMISSION_DEFAULTS.perPeerRate.burst),
    parse: intParser(1, 100_000, 'requests'),
  }),
  perIpRate: setting({
    key: 'perIpRate',
    flag: 'per-ip-rate',
    env: 'QKMS_PER_IP_RATE',
    flagKind: 'string',
    arg: 'PER_S',
    help: 'Requests per second one IPv4 address or IPv6 /64 may sustain, over all its PeerIds (fresh PeerIds cost nothing, so they share this); node-set peers are exempt.',
    default: ADMISSION_DEFAULTS.perIpRate.perSecond,
    defaultText: String(ADMISSION_DEFAULTS.perIpRate.perSecond),
    parse: rateParser(100_000, 'requests per second'),
  }),
  perIpBurst: setting({
    key: 'perIpBurst',
    flag: 'per-ip-burst',
    env: 'QKMS_PER_IP_BURST',
    flagKind: 'string',
    arg: 'N',
    help: 'Requests one IPv4 address or IPv6 /64 may send at once, over all its PeerIds.',
    default: ADMISSION_DEFAULTS.perIpRate.burst,
    defaultText: String(ADMISSION_DEFAULTS.perIpRate.burst),
    parse: intParser(1, 100_000, 'requests'),
  }),
  perWalletRate: setting({
    key: 'perWalletRate',
    flag: 'per-wallet-rate',
    env: 'QKMS_PER_WALLET_RATE',
    flagKind: 'string',
    arg: 'PER_S',
    help: 'Requests per second one wallet may sustain, over all its sessions.',
    default: ADMISSION_DEFAULTS.perWalletRate.perSecond,
    defaultText: String(ADMISSION_DEFAULTS.perWalletRate.perSecond),
    parse: rateParser(100_000, 'requests per second'),
  }),
  perWalletBurst: setting({
    key: 'perWalletBurst',
    flag: 'per-wallet-burst',
    env: 'QKMS_PER_WALLET_BURST',
    flagKind: 'string',
    arg: 'N',
    help: 'Requests one wallet may send at once.',
    default: ADMISSION_DEFAULTS.perWalletRate.burst,
    defaultText: String(ADMISSION_DEFAULTS.perWalletRate.burst),
    parse: intParser(1, 100_000, 'requests'),
  }),
  maxStreamsPerProtocol: setting({
    key: 'maxStreamsPerProtocol',
    flag: 'max-streams-per-protocol',
    env: 'QKMS_MAX_STREAMS_PER_PROTOCOL',
    flagKind: 'string',
    arg: 'N',
    help: "Concurrent inbound streams per connection and protocol. Twice the client pool's 16, so streams still closing on this side never make a client's next request look like a reset.",
    default: NETWORK_DEFAULTS.maxStreamsPerProtocol,
    defaultText: String(NETWORK_DEFAULTS.maxStreamsPerProtocol),
    parse: intParser(1, 1_024, 'streams'),
  }),
  replaySweepIntervalMs: setting({
    key: 'replaySweepIntervalMs',
    flag: 'replay-sweep-interval-ms',
    env: 'QKMS_REPLAY_SWEEP_INTERVAL_MS',
    flagKind: 'string',
    arg: 'MS',
    help: 'Milliseconds between sweeps of expired replay nonces.',
    default: STORE_DEFAULTS.replaySweepIntervalMs,
    defaultText: String(STORE_DEFAULTS.replaySweepIntervalMs),
    parse: intParser(1_000, 3_600_000, 'milliseconds'),
  }),
  revocationSyncIntervalMs: setting({
    key: 'revocation.syncIntervalMs',
    flag: 'revocation-sync-interval-ms',
    env: 'QKMS_REVOCATION_SYNC_INTERVAL_MS',
    flagKind: 'string',
    arg: 'MS',
    help: 'Milliseconds between anti-entropy rounds with each peer: how soon a node that missed a revocation push catches up.',
    default: REVOCATION_DEFAULTS.syncIntervalMs,
    defaultText: String(REVOCATION_DEFAULTS.syncIntervalMs),
    parse: intParser(50, 600_000, 'milliseconds'),
  }),
  revocationMaxLagMs: setting({
    key: 'revocation.maxLagMs',
    flag: 'revocation-max-lag-ms',
    env: 'QKMS_REVOCATION_MAX_LAG_MS',
    flagKind: 'string',
    arg: 'MS',
    help: 'A node that has not synced revocations with a majority of the node set for longer than this reports not ready.',
    default: REVOCATION_DEFAULTS.maxLagMs,
    defaultText: String(REVOCATION_DEFAULTS.maxLagMs),
    parse: intParser(100, 86_400_000, 'milliseconds'),
  }),
  revocationRefuseStale: setting({
    key: 'revocation.refuseStale',
    flag: 'revocation-refuse-stale',
    env: 'QKMS_REVOCATION_REFUSE_STALE',
    flagKind: 'boolean',
    arg: '',
    help: 'While revocations are not fresh, also refuse recovers (NOT_READY), not only report it.',
    default: REVOCATION_DEFAULTS.refuseStale,
    defaultText: String(REVOCATION_DEFAULTS.refuseStale),
    parse: parseBoolean,
  }),
  evmRpc: setting<readonly { chainId: number; url: string }[]>({
    key: 'policy.evmRpc',
    flag: 'evm-rpc',
    env: 'QKMS_EVM_RPC',
    flagKind: 'list',
    arg: 'CHAIN_ID=URL',
    help: 'An EVM JSON-RPC endpoint that access policies on chain CHAIN_ID are read from; repeat the flag (comma-separate in the variable) for several chains or several endpoints of one chain. The URL may hold an API key: it is never logged.',
    default: POLICY_DEFAULTS.evmRpc,
    defaultText: 'none (policies on chain state are refused POLICY_UNSUPPORTED)',
    parse: parseEvmRpc,
  }),
  evmQuorum: setting({
    key: 'policy.evmQuorum',
    flag: 'evm-rpc-quorum',
    env: 'QKMS_EVM_RPC_QUORUM',
    flagKind: 'string',
    arg: 'K',
    help: 'Endpoints of a chain that must agree on its head, block hashes and every value read; each chain needs at least K endpoints. With K >= 2 one lying endpoint cannot grant access.',
    default: POLICY_DEFAULTS.evmQuorum,
    defaultText: String(POLICY_DEFAULTS.evmQuorum),
    parse: intParser(1, 16, 'endpoints'),
  }),
  policyFreshnessMs: setting({
    key: 'policy.freshnessMs',
    flag: 'policy-freshness-ms',
    env: 'QKMS_POLICY_FRESHNESS_MS',
    flagKind: 'string',
    arg: 'MS',
    help: 'A recover never uses chain state confirmed longer ago than this: past it, chain policies are refused POLICY_UNAVAILABLE until the state is read again. Must exceed --evm-poll-ms.',
    default: POLICY_DEFAULTS.freshnessMs,
    defaultText: String(POLICY_DEFAULTS.freshnessMs),
    parse: intParser(100, 3_600_000, 'milliseconds'),
  }),
  evmPollMs: setting({
    key: 'policy.pollMs',
    flag: 'evm-poll-ms',
    env: 'QKMS_EVM_POLL_MS',
    flagKind: 'string',
    arg: 'MS',
    help: 'How often each chain head is polled; a change on chain is seen within about this.',
    default: POLICY_DEFAULTS.pollMs,
    defaultText: String(POLICY_DEFAULTS.pollMs),
    parse: intParser(50, 600_000, 'milliseconds'),
  }),
  evmRpcDeadlineMs: setting({
    key: 'policy.rpcDeadlineMs',
    flag: 'evm-rpc-deadline-ms',
    env: 'QKMS_EVM_RPC_DEADLINE_MS',
    flagKind: 'string',
    arg: 'MS',
    help: 'Deadline of one RPC call; a recover that needs a value not yet cached waits at most this.',
    default: POLICY_DEFAULTS.rpcDeadlineMs,
    defaultText: String(POLICY_DEFAULTS.rpcDeadlineMs),
    parse: intParser(50, 60_000, 'milliseconds'),
  }),
  evmConfirmations: setting({
    key: 'policy.confirmations',
    flag: 'evm-confirmations',
    env: 'QKMS_EVM_CONFIRMATIONS',
    flagKind: 'string',
    arg: 'BLOCKS',
    help: 'Follow the agreed head minus this many blocks (0: the latest block). More blocks make a reorg less likely to matter and access slower to change.',
    default: POLICY_DEFAULTS.confirmations,
    defaultText: String(POLICY_DEFAULTS.confirmations),
    parse: intParser(0, 1_000, 'blocks'),
  }),
  evmMaxBlockAgeMs: setting({
    key: 'policy.maxBlockAgeMs',
    flag: 'evm-max-block-age-ms',
    env: 'QKMS_EVM_MAX_BLOCK_AGE_MS',
    flagKind: 'string',
    arg: 'MS',
    help: "Refuse chain policies while the followed block's own timestamp is older than this, which catches an endpoint stuck on an old block; 0 does not check (for chains that mine only on demand). On a chain with regular blocks, set it to a few block times (60000 on Ethereum).",
    default: POLICY_DEFAULTS.maxBlockAgeMs,
    defaultText: String(POLICY_DEFAULTS.maxBlockAgeMs),
    parse: intParser(0, 86_400_000, 'milliseconds'),
  }),
  testDelayMs: setting({
    key: 'test.delayMs',
    flag: 'test-delay-ms',
    env: 'QKMS_TEST_DELAY_MS',
    flagKind: 'string',
    arg: 'MS',
    help: `TEST ONLY (needs ${ENABLE_TEST_FAULTS_ENV}=1): delay every answer by this many milliseconds.`,
    default: TEST_FAULT_DEFAULTS.delayMs,
    defaultText: String(TEST_FAULT_DEFAULTS.delayMs),
    parse: intParser(0, 60_000, 'milliseconds'),
  }),
  testWrongShare: setting({
    key: 'test.wrongShare',
    flag: 'test-wrong-share',
    env: 'QKMS_TEST_WRONG_SHARE',
    flagKind: 'boolean',
    arg: '',
    help: `TEST ONLY (needs ${ENABLE_TEST_FAULTS_ENV}=1): answer recover requests with a corrupted share.`,
    default: TEST_FAULT_DEFAULTS.wrongShare,
    defaultText: String(TEST_FAULT_DEFAULTS.wrongShare),
    parse: parseBoolean,
  }),
} as const;

export type SettingName = keyof typeof SETTINGS;
export type Values = {
  [N in SettingName]: (typeof SETTINGS)[N] extends Setting<infer T> ? T : never;
};
export const NAMES = Object.keys(SETTINGS) as SettingName[];
export const TEST_SETTINGS: readonly SettingName[] = ['testDelayMs', 'testWrongShare'];

/**
 * Every QKMS_* variable `node start` accepts: those it reads, and the client
 * commands' QKMS_QUORUM, which it ignores (an operator's shell may set both).
 * Any other QKMS_* variable is refused as a typo.
 */
export const NODE_ENV_VARS: readonly string[] = Object.freeze([
  ...NAMES.map((n) => SETTINGS[n].env),
  CONFIG_ENV,
  PASSPHRASE_ENV,
  ENABLE_TEST_FAULTS_ENV,
  QUORUM_ENV,
]);

/** The flags of `qkms node start`: one per setting, --config, and --passphrase (refused with the reason). */
export const FLAG_SPECS: FlagSpecs = Object.freeze({
  ...Object.fromEntries(NAMES.map((n) => [SETTINGS[n].flag, SETTINGS[n].flagKind])),
  config: 'string',
  // Recognized only to refuse it with the reason (see parseNodeOptions).
  passphrase: 'string',
});

/** The settings, their flags, variables, config keys and defaults, for --help. */
export function describeOptions(): string {
  const lines = [
    'Settings, in increasing precedence: defaults < config file (--config FILE or',
    `${CONFIG_ENV}; JSON with the keys below) < ${ENV_PREFIX}* environment variables < flags.`,
    'Unknown keys, variables and flags are errors.',
    '',
  ];
  for (const name of NAMES) {
    const s: Setting<unknown> = SETTINGS[name];
    const flag = s.arg === '' ? `--${s.flag}` : `--${s.flag} ${s.arg}`;
    const dflt = 'default' in s ? `default ${s.defaultText ?? ''}` : 'required';
    lines.push(`  ${flag}`, `      ${s.env} | config "${s.key}" | ${dflt}`, `      ${s.help}`);
  }
  lines.push(
    '',
    `  ${PASSPHRASE_ENV}`,
    '      The keystore passphrase (or --passphrase-file). Never a flag: the command line is public.',
    `  ${ENABLE_TEST_FAULTS_ENV}=1`,
    '      Allows the test.* settings. Never set it on a production node.',
  );
  return lines.join('\n');
}
