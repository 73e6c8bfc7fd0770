// The node's settings, validated once at start-up. Four sources, in
// increasing precedence:
//   defaults  <  config file (JSON; --config FILE or QKMS_CONFIG)  <  QKMS_* environment  <  flags
// Every setting has one row in SETTINGS: its config key, flag, variable, unit,
// secure default and parser. Anything wrong is QkmsError CONFIG_INVALID whose
// message starts with where the value came from (`--listen: …`,
// `QKMS_HTTP: …`, `config file ./x.json: "http": …`). A typo is an error, not
// a silent default: unknown config keys, unknown QKMS_* variables and unknown
// flags are refused.
//
// Decisions (docs/ to follow):
// - The HTTP port (metrics, health) binds to 127.0.0.1 by default and a
//   non-loopback host is refused unless allowPublicHttp is set: /metrics
//   describes the node's load and peers, which is for the operator's scraper.
// - The keystore passphrase is never a setting value: it comes from the
//   QKMS_PASSPHRASE variable or a file (--passphrase-file); `--passphrase` is
//   refused because the command line is visible to every user in `ps`.
//   NodeOptions names the source only; resolvePassphrase() reads it.
// - Paths in a config file are relative to that file's directory; paths in
//   flags and variables are relative to the working directory.
// - Test-only fault injection (`test.*`) is refused unless
//   QKMS_ENABLE_TEST_FAULTS=1, so a stray flag cannot make a production node lie.
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { ErrorCode, QkmsError, isQkmsError } from '../protocol/index.ts';
import {
  ADMISSION_DEFAULTS,
  HTTP_DEFAULTS,
  LOG_LEVELS,
  LOG_LEVEL_DEFAULT,
  NETWORK_DEFAULTS,
  REVOCATION_DEFAULTS,
  STORE_DEFAULTS,
  TEST_FAULT_DEFAULTS,
  isLogLevel,
  isLoopbackHost,
  resolveNodeOptions,
  type HttpAddress,
  type LogLevel,
  type NodeOptions,
} from '../node/index.ts';
import { parseArgs, type FlagKind } from './args.ts';

export type PassphraseSource =
  | { readonly kind: 'none' }
  | { readonly kind: 'env'; readonly variable: typeof PASSPHRASE_ENV }
  | { readonly kind: 'file'; readonly path: string; readonly origin: string };

/** What `qkms node start` runs with: the daemon's options and what only the command line knows. */
export interface ParsedNodeOptions {
  readonly options: NodeOptions;
  readonly passphrase: PassphraseSource;
  /** Absolute path of the config file read, or null. */
  readonly configFile: string | null;
}

export interface ParseNodeOptionsInput {
  /** Arguments after the command (`qkms node start …`). */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a whole UTF-8 file (the config file; injected so parsing stays pure). */
  readonly readFile: (path: string) => string;
  /** Base of relative paths in flags and variables. Default process.cwd(). */
  readonly cwd?: string;
}

export const ENV_PREFIX = 'QKMS_';
export const PASSPHRASE_ENV = 'QKMS_PASSPHRASE';
export const PASSPHRASE_FILE_ENV = 'QKMS_PASSPHRASE_FILE';
export const ENABLE_TEST_FAULTS_ENV = 'QKMS_ENABLE_TEST_FAULTS';
export const CONFIG_ENV = 'QKMS_CONFIG';
/** A config file larger than this is a mistake (it holds a dozen settings). */
export const MAX_CONFIG_FILE_CHARS = 64 * 1024;
/** A passphrase file larger than this is not a passphrase. */
export const MAX_PASSPHRASE_FILE_CHARS = 4096;
/** Listen addresses: a few transports over IPv4 and IPv6 (the node-set limit too). */
export const MAX_LISTEN_ADDRS = 8;

// ---------------------------------------------------------------------------
// Parsers. Each throws Expected("…") which the caller prefixes with the origin.

class Expected extends Error {}

interface ParseContext {
  /** The value came from a flag or variable (text), not from JSON. */
  readonly text: boolean;
  /** Base of relative paths. */
  readonly baseDir: string;
}

function show(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

function expected(what: string, got: unknown): Expected {
  return new Expected(`expected ${what}, got ${show(got)}`);
}

function parsePath(value: unknown, ctx: ParseContext): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw expected('a file path', value);
  }
  return isAbsolute(value) ? value : resolve(ctx.baseDir, value);
}

const DECIMAL_INT = /^(?:0|[1-9][0-9]{0,15})$/;
const DECIMAL = /^(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,6})?$/;

function parseNumber(value: unknown, ctx: ParseContext, integer: boolean): number | undefined {
  if (ctx.text) {
    return typeof value === 'string' && (integer ? DECIMAL_INT : DECIMAL).test(value)
      ? Number(value)
      : undefined;
  }
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function intParser(min: number, max: number, unit: string) {
  return (value: unknown, ctx: ParseContext): number => {
    const n = parseNumber(value, ctx, true);
    if (n === undefined || !Number.isSafeInteger(n) || n < min || n > max) {
      throw expected(`an integer ${unit} in [${min}, ${max}]`, value);
    }
    return n;
  };
}

function rateParser(max: number, unit: string) {
  return (value: unknown, ctx: ParseContext): number => {
    const n = parseNumber(value, ctx, false);
    if (n === undefined || n <= 0 || n > max) throw expected(`${unit} in (0, ${max}]`, value);
    return n;
  };
}

function parseBoolean(value: unknown, ctx: ParseContext): boolean {
  if (value === true || value === false) return value; // a flag, or JSON
  if (ctx.text && (value === '1' || value === 'true')) return true;
  if (ctx.text && (value === '0' || value === 'false')) return false;
  throw expected(ctx.text ? '1, 0, true or false' : 'true or false', value);
}

function parseLogLevel(value: unknown): LogLevel {
  if (!isLogLevel(value)) throw expected(`one of ${LOG_LEVELS.join(', ')}`, value);
  return value;
}

/** A TCP listen address: /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT, valid to the multiaddr parser. */
const LISTEN_ADDR = /^\/(?:ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/[0-9]+$/;

function parseListen(value: unknown, ctx: ParseContext): readonly string[] {
  let list: readonly unknown[];
  if (typeof value === 'string' && ctx.text) list = value.split(',').map((s) => s.trim());
  else if (Array.isArray(value)) list = value as readonly unknown[];
  else throw expected(ctx.text ? 'comma-separated multiaddrs' : 'an array of multiaddrs', value);
  if (list.length < 1 || list.length > MAX_LISTEN_ADDRS) {
    throw new Expected(`expected 1 to ${MAX_LISTEN_ADDRS} multiaddrs, got ${list.length}`);
  }
  const out: string[] = [];
  for (const addr of list) {
    if (typeof addr !== 'string' || !LISTEN_ADDR.test(addr)) {
      throw expected('a TCP multiaddr like /ip4/127.0.0.1/tcp/7101', addr);
    }
    try {
      multiaddr(addr);
    } catch (e) {
      throw new Expected(
        `expected a valid multiaddr, got ${show(addr)} (${e instanceof Error ? e.message : 'invalid'})`,
      );
    }
    if (out.includes(addr))
      throw new Expected(`expected distinct multiaddrs, got ${show(addr)} twice`);
    out.push(addr);
  }
  return out;
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/;

function parseHttp(value: unknown): HttpAddress {
  const what = 'HOST:PORT (e.g. 127.0.0.1:9101, [::1]:9101)';
  if (typeof value !== 'string') throw expected(what, value);
  const m = HOST_PORT.exec(value);
  const ipv6 = m?.[1];
  const host = ipv6 ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !(port >= 0 && port <= 65_535)) throw expected(what, value);
  if (ipv6 !== undefined && isIP(ipv6) !== 6) throw expected(`${what} with a valid IPv6`, value);
  if (ipv6 === undefined && /^[0-9.]+$/.test(host) && isIP(host) !== 4) {
    throw expected(`${what} with a valid IPv4`, value);
  }
  return { host, port };
}

// ---------------------------------------------------------------------------
// The settings table

interface Setting<T> {
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

const SETTINGS = {
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
    help: `libp2p TCP listen address; repeat the flag, or comma-separate in the variable (at most ${MAX_LISTEN_ADDRS}). Use a public address to serve a quorum.`,
    default: NETWORK_DEFAULTS.listen,
    defaultText: NETWORK_DEFAULTS.listen.join(','),
    parse: parseListen,
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

type SettingName = keyof typeof SETTINGS;
type Values = {
  [N in SettingName]: (typeof SETTINGS)[N] extends Setting<infer T> ? T : never;
};
const NAMES = Object.keys(SETTINGS) as SettingName[];
const TEST_SETTINGS: readonly SettingName[] = ['testDelayMs', 'testWrongShare'];

/** Every QKMS_* variable the node reads. Any other QKMS_* variable is refused as a typo. */
export const NODE_ENV_VARS: readonly string[] = Object.freeze([
  ...NAMES.map((n) => SETTINGS[n].env),
  CONFIG_ENV,
  PASSPHRASE_ENV,
  ENABLE_TEST_FAULTS_ENV,
]);

const FLAG_SPECS: Readonly<Record<string, FlagKind>> = Object.freeze({
  ...Object.fromEntries(NAMES.map((n) => [SETTINGS[n].flag, SETTINGS[n].flagKind])),
  config: 'string',
  // Recognized only to refuse it with the reason (see parseNodeOptions).
  passphrase: 'string',
});

// ---------------------------------------------------------------------------
// Parsing

function configError(message: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.CONFIG_INVALID, message, { cause });
}

interface Raw {
  readonly value: unknown;
  /** How messages name the source: `--http`, `QKMS_HTTP`, `config file x.json: "http"`. */
  readonly origin: string;
  readonly ctx: ParseContext;
}

function readConfigFile(
  shown: string,
  path: string,
  readFile: (path: string) => string,
): Map<SettingName, Raw> {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    throw configError(
      `config file ${shown}: cannot read (${typeof code === 'string' ? code : 'error'})`,
      e,
    );
  }
  if (text.length > MAX_CONFIG_FILE_CHARS) {
    throw configError(
      `config file ${shown}: expected at most ${MAX_CONFIG_FILE_CHARS} characters, got ${text.length}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw configError(
      `config file ${shown}: not valid JSON (${e instanceof Error ? e.message : 'parse error'})`,
    );
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(json)) throw configError(`config file ${shown}: expected a JSON object`);
  const byKey = new Map(NAMES.map((n) => [SETTINGS[n].key, n]));
  const ctx: ParseContext = { text: false, baseDir: dirname(path) };
  const out = new Map<SettingName, Raw>();
  const visit = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, value] of Object.entries(obj)) {
      const key = `${prefix}${k}`;
      // Nested keys are written nested ("revocation": {"maxLagMs": 5000}), never as "revocation.maxLagMs".
      const name = k.includes('.') ? undefined : byKey.get(key);
      if (name !== undefined) {
        out.set(name, { value, origin: `config file ${shown}: "${key}"`, ctx });
      } else if ((key === 'test' || key === 'revocation') && isObject(value)) {
        visit(value, `${key}.`);
      } else {
        throw configError(`config file ${shown}: key "${key}" is not a setting`);
      }
    }
  };
  visit(json, '');
  return out;
}

/**
 * Parses and validates the node's settings from all four sources. Pure: files
 * are read through `readFile`, the environment is passed in. Throws
 * CONFIG_INVALID naming the bad setting and its source. The result is frozen.
 */
export function parseNodeOptions(input: ParseNodeOptionsInput): ParsedNodeOptions {
  const { argv, env, readFile } = input;
  const cwd = input.cwd ?? process.cwd();

  // Flags
  let parsed;
  try {
    parsed = parseArgs(argv, FLAG_SPECS);
  } catch (e) {
    if (isQkmsError(e, ErrorCode.INVALID_ARGUMENT)) throw configError(e.message, e);
    throw e;
  }
  const { flags, positionals } = parsed;
  if (positionals.length > 0) throw configError(`${show(positionals[0])}: unexpected argument`);
  if (flags.passphrase !== undefined) {
    throw configError(
      `--passphrase: a passphrase on the command line is visible to other users (ps); use ${PASSPHRASE_ENV} or --passphrase-file FILE`,
    );
  }

  // Environment: every QKMS_* variable must be known.
  for (const name of Object.keys(env)) {
    if (name.startsWith(ENV_PREFIX) && !NODE_ENV_VARS.includes(name)) {
      throw configError(`${name}: not a qkms node setting (see qkms node start --help)`);
    }
  }
  const faults = env[ENABLE_TEST_FAULTS_ENV];
  if (faults !== undefined && faults !== '0' && faults !== '1') {
    throw configError(`${ENABLE_TEST_FAULTS_ENV}: expected 1 or 0, got ${show(faults)}`);
  }
  const testFaultsEnabled = faults === '1';

  // Config file (flag beats variable).
  const configFlag = typeof flags.config === 'string' ? flags.config : undefined;
  const configEnv = env[CONFIG_ENV];
  let configFile: string | null = null;
  let fromConfig = new Map<SettingName, Raw>();
  const configGiven =
    configFlag !== undefined
      ? { value: configFlag, origin: '--config' }
      : configEnv !== undefined
        ? { value: configEnv, origin: CONFIG_ENV }
        : undefined;
  if (configGiven !== undefined) {
    try {
      configFile = parsePath(configGiven.value, { text: true, baseDir: cwd });
    } catch (e) {
      if (e instanceof Expected) throw configError(`${configGiven.origin}: ${e.message}`);
      throw e;
    }
    fromConfig = readConfigFile(configGiven.value, configFile, readFile);
  }

  // Highest-precedence raw value of each setting.
  const textCtx: ParseContext = { text: true, baseDir: cwd };
  const raws = new Map<SettingName, Raw>();
  for (const name of NAMES) {
    const s = SETTINGS[name];
    const flag: unknown = (flags as Record<string, unknown>)[s.flag];
    const envValue = env[s.env];
    if (flag !== undefined) {
      raws.set(name, { value: flag, origin: `--${s.flag}`, ctx: textCtx });
    } else if (envValue !== undefined) {
      raws.set(name, { value: envValue, origin: s.env, ctx: textCtx });
    } else {
      const c = fromConfig.get(name);
      if (c !== undefined) raws.set(name, c);
    }
  }
  // A list flag arrives as an array; its values are still text.
  const listFlag = raws.get('listen');
  if (listFlag !== undefined && Array.isArray(listFlag.value) && listFlag.ctx.text) {
    raws.set('listen', { ...listFlag, ctx: { ...listFlag.ctx, text: false } });
  }

  for (const name of TEST_SETTINGS) {
    const raw = raws.get(name);
    if (raw !== undefined && !testFaultsEnabled) {
      throw configError(
        `${raw.origin}: test faults are refused unless ${ENABLE_TEST_FAULTS_ENV}=1 (never on a production node)`,
      );
    }
  }

  const values = {} as Record<SettingName, unknown>;
  for (const name of NAMES) {
    const s: Setting<unknown> = SETTINGS[name];
    const raw = raws.get(name);
    if (raw === undefined) {
      if (!('default' in s)) {
        throw configError(
          `${s.key}: required; set --${s.flag} ${s.arg}, ${s.env}, or "${s.key}" in the config file`,
        );
      }
      values[name] = s.default;
      continue;
    }
    try {
      values[name] = s.parse(raw.value, raw.ctx);
    } catch (e) {
      if (e instanceof Expected) throw configError(`${raw.origin}: ${e.message}`);
      throw e;
    }
  }
  const v = values as Values;

  if (!v.allowPublicHttp && !isLoopbackHost(v.http.host)) {
    const origin = raws.get('http')?.origin ?? 'http';
    throw configError(
      `${origin}: host ${v.http.host} is reachable from other hosts; bind to 127.0.0.1, or set --allow-public-http to expose metrics and health`,
    );
  }

  const envPassphrase = env[PASSPHRASE_ENV];
  if (envPassphrase === '') throw configError(`${PASSPHRASE_ENV}: is set but empty`);
  let passphrase: PassphraseSource;
  if (v.passphraseFile !== null) {
    const origin = raws.get('passphraseFile')?.origin ?? 'passphraseFile';
    if (envPassphrase !== undefined) {
      throw configError(`${origin}: ${PASSPHRASE_ENV} is also set; give the passphrase one way`);
    }
    passphrase = { kind: 'file', path: v.passphraseFile, origin };
  } else if (envPassphrase !== undefined) {
    passphrase = { kind: 'env', variable: PASSPHRASE_ENV };
  } else {
    passphrase = { kind: 'none' };
  }

  const options = resolveNodeOptions({
    dir: v.dir,
    nodeSetFile: v.nodeSetFile,
    logLevel: v.logLevel,
    network: {
      listen: [...v.listen],
      readDeadlineMs: v.readDeadlineMs,
      maxConnections: v.maxConnections,
      maxConnectionsPerIp: v.maxConnectionsPerIp,
      maxStreamsPerProtocol: v.maxStreamsPerProtocol,
    },
    admission: {
      maxInflight: v.maxInflight,
      perPeerRate: { perSecond: v.perPeerRate, burst: v.perPeerBurst },
      perIpRate: { perSecond: v.perIpRate, burst: v.perIpBurst },
      perWalletRate: { perSecond: v.perWalletRate, burst: v.perWalletBurst },
    },
    http: { address: { ...v.http }, allowPublic: v.allowPublicHttp },
    store: { replaySweepIntervalMs: v.replaySweepIntervalMs },
    revocation: {
      syncIntervalMs: v.revocationSyncIntervalMs,
      maxLagMs: v.revocationMaxLagMs,
      refuseStale: v.revocationRefuseStale,
    },
    test: { enabled: testFaultsEnabled, delayMs: v.testDelayMs, wrongShare: v.testWrongShare },
  });
  return Object.freeze({ options, passphrase: Object.freeze(passphrase), configFile });
}

/**
 * The keystore passphrase from its source: QKMS_PASSPHRASE, or the file with
 * one trailing newline removed; undefined when none is configured. Throws
 * CONFIG_INVALID when the file cannot be read or is empty. The caller hands it
 * to the keystore and drops it; a JS string cannot be wiped.
 */
export function resolvePassphrase(
  source: PassphraseSource,
  io: {
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly readFile: (path: string) => string;
  },
): string | undefined {
  switch (source.kind) {
    case 'none':
      return undefined;
    case 'env': {
      const value = io.env[source.variable];
      if (value === undefined || value === '') {
        throw configError(`${source.variable}: is not set or empty`);
      }
      return value;
    }
    case 'file': {
      let text: string;
      try {
        text = io.readFile(source.path);
      } catch (e) {
        const code = (e as { code?: unknown } | null)?.code;
        throw configError(
          `${source.origin} ${source.path}: cannot read (${typeof code === 'string' ? code : 'error'})`,
          e,
        );
      }
      if (text.length > MAX_PASSPHRASE_FILE_CHARS) {
        throw configError(
          `${source.origin} ${source.path}: expected at most ${MAX_PASSPHRASE_FILE_CHARS} characters`,
        );
      }
      const passphrase = text.replace(/\r?\n$/, '');
      if (passphrase === '') throw configError(`${source.origin} ${source.path}: is empty`);
      return passphrase;
    }
  }
}

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
