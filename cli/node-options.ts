// The node's settings, validated once at start-up. Four sources, in
// increasing precedence:
//   defaults  <  config file (JSON; --config FILE or QKMS_CONFIG)  <  QKMS_* environment  <  flags
// Every setting has one row in SETTINGS (./node-settings.ts): its config key,
// flag, variable, unit, secure default and parser. A typo is an error, not a
// silent default: unknown config keys, unknown QKMS_* variables and unknown
// flags are refused. Two kinds of error, as every command has (cli/exit.ts):
// - the command line itself is wrong (an unknown or repeated flag, an
//   argument, --passphrase) or a required setting is given by no source:
//   QkmsError INVALID_ARGUMENT, a usage error (exit 2);
// - a value is wrong, wherever it came from: CONFIG_INVALID (exit 3), whose
//   message starts with that source (`--listen: …`, `QKMS_HTTP: …`,
//   `config file ./x.json: "http": …`).
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
import { dirname } from 'node:path';
import { isLoopbackHost, resolveNodeOptions, type NodeOptions } from '../node/index.ts';
import { parseArgs } from './args.ts';
import { configError, usageError } from './io.ts';
import {
  CONFIG_ENV,
  ENABLE_TEST_FAULTS_ENV,
  ENV_PREFIX,
  FLAG_SPECS,
  NAMES,
  NODE_ENV_VARS,
  PASSPHRASE_ENV,
  SETTINGS,
  TEST_SETTINGS,
  type Setting,
  type SettingName,
  type Values,
} from './node-settings.ts';
import { Expected, parsePath, show, type ParseContext } from './setting-parsers.ts';

export {
  CONFIG_ENV,
  ENABLE_TEST_FAULTS_ENV,
  ENV_PREFIX,
  NODE_ENV_VARS,
  PASSPHRASE_ENV,
  PASSPHRASE_FILE_ENV,
  describeOptions,
} from './node-settings.ts';
export { MAX_LISTEN_ADDRS } from './setting-parsers.ts';

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

/** A config file larger than this is a mistake (it holds a dozen settings). */
export const MAX_CONFIG_FILE_CHARS = 64 * 1024;
/** A passphrase file larger than this is not a passphrase. */
export const MAX_PASSPHRASE_FILE_CHARS = 4096;

// ---------------------------------------------------------------------------
// Parsing

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
  // The groups nested keys live in: "revocation", "policy", "test".
  const groups = new Set(
    NAMES.map((n) => SETTINGS[n].key)
      .filter((k) => k.includes('.'))
      .map((k) => k.slice(0, k.indexOf('.'))),
  );
  const ctx: ParseContext = { text: false, baseDir: dirname(path) };
  const out = new Map<SettingName, Raw>();
  const visit = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, value] of Object.entries(obj)) {
      const key = `${prefix}${k}`;
      // Nested keys are written nested ("revocation": {"maxLagMs": 5000}), never as "revocation.maxLagMs".
      const name = k.includes('.') ? undefined : byKey.get(key);
      if (name !== undefined) {
        out.set(name, { value, origin: `config file ${shown}: "${key}"`, ctx });
      } else if (prefix === '' && groups.has(key) && isObject(value)) {
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
 * INVALID_ARGUMENT for a wrong command line or a required setting given
 * nowhere, CONFIG_INVALID naming a bad value and its source. The result is
 * frozen.
 */
export function parseNodeOptions(input: ParseNodeOptionsInput): ParsedNodeOptions {
  const { argv, env, readFile } = input;
  const cwd = input.cwd ?? process.cwd();

  // Flags: a wrong command line is a usage error.
  const { flags, positionals } = parseArgs(argv, FLAG_SPECS);
  if (positionals.length > 0) throw usageError(`${show(positionals[0])}: unexpected argument`);
  if (flags.passphrase !== undefined) {
    throw usageError(
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
        // Missing, not malformed: a usage error, as a missing required flag is everywhere.
        throw usageError(
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

  if ((v.wsTlsCert === null) !== (v.wsTlsKey === null)) {
    const given = v.wsTlsCert === null ? 'wsTlsKey' : 'wsTlsCert';
    const origin = raws.get(given)?.origin ?? given;
    throw configError(`${origin}: give both --ws-tls-cert and --ws-tls-key, or neither`);
  }
  const secureListen = v.listen.find((a) => a.endsWith('/tls/ws'));
  if (secureListen !== undefined && v.wsTlsCert === null) {
    const origin = raws.get('listen')?.origin ?? 'listen';
    throw configError(
      `${origin}: ${secureListen} serves wss and needs --ws-tls-cert and --ws-tls-key (or put a TLS reverse proxy in front of a plain /ws address)`,
    );
  }
  if (secureListen === undefined && v.wsTlsCert !== null) {
    const origin = raws.get('wsTlsCert')?.origin ?? 'wsTlsCert';
    throw configError(`${origin}: no /tls/ws listen address would use the certificate`);
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
      wsTls:
        v.wsTlsCert === null || v.wsTlsKey === null
          ? null
          : { certFile: v.wsTlsCert, keyFile: v.wsTlsKey },
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
    policy: {
      evmRpc: v.evmRpc.map((e) => ({ ...e })),
      evmQuorum: v.evmQuorum,
      freshnessMs: v.policyFreshnessMs,
      pollMs: v.evmPollMs,
      rpcDeadlineMs: v.evmRpcDeadlineMs,
      confirmations: v.evmConfirmations,
      maxBlockAgeMs: v.evmMaxBlockAgeMs,
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
