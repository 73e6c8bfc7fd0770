// Long file: one table-driven case per setting and per source (flag, variable,
// config key), plus precedence and typos; splitting it would split the table.
// The node's settings (./node-options.ts, ./node-settings.ts): every source,
// every refusal, and which refusals are usage errors (2) and which CONFIG_INVALID (3).
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../protocol/index.ts';
import {
  NODE_ENV_VARS,
  describeOptions,
  parseNodeOptions,
  resolvePassphrase,
  type ParsedNodeOptions,
} from './node-options.ts';
import { isLoopbackHost } from '../node/index.ts';

const CWD = '/srv/qkms';
const REQUIRED = ['--dir', 'data', '--nodeset', 'nodeset.json'];

function readerOf(files: Readonly<Record<string, string>>): (path: string) => string {
  return (path) => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };
}

/**
 * Every setting by its command-line name, one level deep, as the settings
 * table lists them: the grouped NodeOptions (node/options.ts) with the
 * passphrase source and config file beside it.
 */
function flat(parsed: ParsedNodeOptions) {
  const { options: o } = parsed;
  return {
    dir: o.dir,
    nodeSetFile: o.nodeSetFile,
    listen: o.network.listen,
    http: o.http.address,
    allowPublicHttp: o.http.allowPublic,
    logLevel: o.logLevel,
    passphrase: parsed.passphrase,
    readDeadlineMs: o.network.readDeadlineMs,
    maxConnections: o.network.maxConnections,
    maxConnectionsPerIp: o.network.maxConnectionsPerIp,
    maxInflight: o.admission.maxInflight,
    perPeerRate: o.admission.perPeerRate,
    perIpRate: o.admission.perIpRate,
    perWalletRate: o.admission.perWalletRate,
    maxStreamsPerProtocol: o.network.maxStreamsPerProtocol,
    replaySweepIntervalMs: o.store.replaySweepIntervalMs,
    revocation: o.revocation,
    test: o.test,
    configFile: parsed.configFile,
  };
}

function parse(
  argv: readonly string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
): ReturnType<typeof flat> {
  return flat(parseNodeOptions({ argv, env, readFile: readerOf(files), cwd: CWD }));
}

/** Expects CONFIG_INVALID whose message matches. */
function expectInvalid(f: () => unknown, message: RegExp | string): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a throw').toMatchObject({ code: ErrorCode.CONFIG_INVALID });
  expect((thrown as Error).message).toMatch(message);
}

/** Expects INVALID_ARGUMENT (a usage error, exit 2) whose message matches. */
function expectUsage(f: () => unknown, message: RegExp | string): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a throw').toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  expect((thrown as Error).message).toMatch(message);
}

function isDeepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen);
}

describe('defaults', () => {
  it('are the secure ones: HTTP and libp2p on 127.0.0.1, no test faults, no passphrase', () => {
    const o = parse(REQUIRED);
    expect(o).toEqual({
      dir: '/srv/qkms/data',
      nodeSetFile: '/srv/qkms/nodeset.json',
      listen: ['/ip4/127.0.0.1/tcp/7101'],
      http: { host: '127.0.0.1', port: 9101 },
      allowPublicHttp: false,
      logLevel: 'info',
      passphrase: { kind: 'none' },
      readDeadlineMs: 5_000,
      maxConnections: 256,
      maxConnectionsPerIp: 16,
      maxInflight: 64,
      perPeerRate: { perSecond: 20, burst: 40 },
      perIpRate: { perSecond: 50, burst: 100 },
      perWalletRate: { perSecond: 5, burst: 20 },
      maxStreamsPerProtocol: 32,
      replaySweepIntervalMs: 60_000,
      revocation: { syncIntervalMs: 5_000, maxLagMs: 60_000, refuseStale: false },
      test: { enabled: false, delayMs: 0, wrongShare: false },
      configFile: null,
    });
    expect(isLoopbackHost(o.http.host)).toBe(true);
  });

  it('the result is frozen all the way down', () => {
    const parsed = parseNodeOptions({ argv: REQUIRED, env: {}, readFile: readerOf({}), cwd: CWD });
    expect(isDeepFrozen(parsed)).toBe(true);
  });

  it.each([
    [['--nodeset', 'n.json'], /^dir: required; set --dir DIR, QKMS_DIR, or "dir"/],
    [['--dir', 'd'], /^nodeSet: required; set --nodeset FILE, QKMS_NODE_SET, or "nodeSet"/],
  ])('a missing required setting is a usage error naming it (%j)', (argv, message) => {
    expectUsage(() => parse(argv), message);
  });

  it('missing is a usage error from every source; malformed in the config file stays CONFIG_INVALID', () => {
    const files = { '/c.json': JSON.stringify({ nodeSet: '/n' }) };
    expectUsage(() => parse(['--config', '/c.json'], {}, files), /^dir: required/);
    expectUsage(() => parse([], { QKMS_NODE_SET: '/n' }), /^dir: required/);
    const bad = { '/c.json': JSON.stringify({ dir: 7, nodeSet: '/n' }) };
    expectInvalid(
      () => parse(['--config', '/c.json'], {}, bad),
      /^config file \/c\.json: "dir": expected a file path, got 7/,
    );
  });
});

describe('sources', () => {
  it('reads every setting from flags', () => {
    const o = parse(
      [
        ...REQUIRED,
        '--listen',
        '/ip4/0.0.0.0/tcp/7101',
        '--listen',
        '/ip6/::/tcp/7101',
        '--http',
        '[::1]:9200',
        '--log-level',
        'debug',
        '--passphrase-file',
        '/run/secrets/pass',
        '--read-deadline-ms',
        '2500',
        '--max-connections',
        '100',
        '--max-inflight',
        '8',
        '--per-peer-rate',
        '2.5',
        '--per-peer-burst',
        '5',
        '--per-wallet-rate',
        '0.5',
        '--per-wallet-burst',
        '3',
        '--max-streams-per-protocol',
        '4',
        '--replay-sweep-interval-ms',
        '1000',
      ],
      {},
    );
    expect(o).toMatchObject({
      listen: ['/ip4/0.0.0.0/tcp/7101', '/ip6/::/tcp/7101'],
      http: { host: '::1', port: 9200 },
      logLevel: 'debug',
      passphrase: { kind: 'file', path: '/run/secrets/pass', origin: '--passphrase-file' },
      readDeadlineMs: 2500,
      maxConnections: 100,
      maxInflight: 8,
      perPeerRate: { perSecond: 2.5, burst: 5 },
      perWalletRate: { perSecond: 0.5, burst: 3 },
      maxStreamsPerProtocol: 4,
      replaySweepIntervalMs: 1000,
    });
  });

  it('reads settings from QKMS_* variables (lists comma-separated, booleans 1/0)', () => {
    const o = parse([], {
      QKMS_DIR: '/var/lib/qkms',
      QKMS_NODE_SET: 'ns.json',
      QKMS_LISTEN: '/ip4/10.0.0.1/tcp/1, /dns4/node.example/tcp/2',
      QKMS_HTTP: '0.0.0.0:9101',
      QKMS_ALLOW_PUBLIC_HTTP: '1',
      QKMS_MAX_INFLIGHT: '12',
    });
    expect(o).toMatchObject({
      dir: '/var/lib/qkms',
      nodeSetFile: '/srv/qkms/ns.json',
      listen: ['/ip4/10.0.0.1/tcp/1', '/dns4/node.example/tcp/2'],
      http: { host: '0.0.0.0', port: 9101 },
      allowPublicHttp: true,
      maxInflight: 12,
    });
  });

  it('reads a config file; its relative paths are relative to the file', () => {
    const config = {
      dir: 'data',
      nodeSet: '/etc/qkms/nodeset.json',
      listen: ['/ip4/192.0.2.1/tcp/7101'],
      logLevel: 'warn',
      passphraseFile: 'pass.txt',
      perWalletRate: 1.5,
      allowPublicHttp: false,
      revocation: { syncIntervalMs: 1_000, maxLagMs: 30_000, refuseStale: true },
    };
    const o = parse(
      ['--config', 'conf/node.json'],
      {},
      {
        '/srv/qkms/conf/node.json': JSON.stringify(config),
      },
    );
    expect(o).toMatchObject({
      dir: '/srv/qkms/conf/data',
      nodeSetFile: '/etc/qkms/nodeset.json',
      listen: ['/ip4/192.0.2.1/tcp/7101'],
      logLevel: 'warn',
      passphrase: { kind: 'file', path: '/srv/qkms/conf/pass.txt' },
      perWalletRate: { perSecond: 1.5, burst: 20 },
      revocation: { syncIntervalMs: 1_000, maxLagMs: 30_000, refuseStale: true },
      configFile: '/srv/qkms/conf/node.json',
    });
  });

  it('QKMS_CONFIG names the config file when --config does not', () => {
    const files = {
      '/a.json': JSON.stringify({ dir: '/a', nodeSet: '/n' }),
      '/b.json': JSON.stringify({ dir: '/b', nodeSet: '/n' }),
    };
    expect(parse([], { QKMS_CONFIG: '/a.json' }, files).dir).toBe('/a');
    expect(parse(['--config', '/b.json'], { QKMS_CONFIG: '/a.json' }, files).dir).toBe('/b');
  });
});

describe('precedence: defaults < config file < environment < flags', () => {
  const files = {
    '/c.json': JSON.stringify({
      dir: '/d',
      nodeSet: '/n',
      logLevel: 'warn',
      maxInflight: 10,
      listen: ['/ip4/127.0.0.1/tcp/1'],
    }),
  };

  it('config beats default', () => {
    expect(parse(['--config', '/c.json'], {}, files)).toMatchObject({
      logLevel: 'warn',
      maxInflight: 10,
      maxConnections: 256,
    });
  });

  it('environment beats config', () => {
    const o = parse(
      ['--config', '/c.json'],
      { QKMS_LOG_LEVEL: 'error', QKMS_LISTEN: '/ip4/127.0.0.1/tcp/2' },
      files,
    );
    expect(o).toMatchObject({ logLevel: 'error', maxInflight: 10 });
    expect(o.listen).toEqual(['/ip4/127.0.0.1/tcp/2']);
  });

  it('flags beat environment and config; a list flag replaces, never appends', () => {
    const o = parse(
      ['--config', '/c.json', '--log-level', 'debug', '--listen', '/ip4/127.0.0.1/tcp/3'],
      { QKMS_LOG_LEVEL: 'error', QKMS_LISTEN: '/ip4/127.0.0.1/tcp/2' },
      files,
    );
    expect(o).toMatchObject({ logLevel: 'debug', maxInflight: 10 });
    expect(o.listen).toEqual(['/ip4/127.0.0.1/tcp/3']);
  });

  it('only the winning value is validated: a bad value overridden by a flag is not read', () => {
    const f = { '/c.json': JSON.stringify({ dir: '/d', nodeSet: '/n', logLevel: 'loud' }) };
    expect(parse(['--config', '/c.json', '--log-level', 'info'], {}, f).logLevel).toBe('info');
  });
});

// Each setting: its flag, variable, config key, a bad text value and a bad JSON value.
const SETTINGS: [flag: string, env: string, key: string, badText: string, badJson: unknown][] = [
  ['dir', 'QKMS_DIR', 'dir', '', 5],
  ['nodeset', 'QKMS_NODE_SET', 'nodeSet', '', true],
  ['listen', 'QKMS_LISTEN', 'listen', 'abc', ['/ip4/1.2.3.4/udp/1']],
  ['http', 'QKMS_HTTP', 'http', 'abc', 9101],
  ['log-level', 'QKMS_LOG_LEVEL', 'logLevel', 'loud', 'INFO'],
  ['passphrase-file', 'QKMS_PASSPHRASE_FILE', 'passphraseFile', '', 1],
  ['ws-tls-cert', 'QKMS_WS_TLS_CERT', 'wsTlsCert', '', 1],
  ['ws-tls-key', 'QKMS_WS_TLS_KEY', 'wsTlsKey', '', false],
  ['read-deadline-ms', 'QKMS_READ_DEADLINE_MS', 'readDeadlineMs', '50', 120_001],
  ['max-connections', 'QKMS_MAX_CONNECTIONS', 'maxConnections', '0', 1.5],
  ['max-inflight', 'QKMS_MAX_INFLIGHT', 'maxInflight', '1e3', '64'],
  ['per-peer-rate', 'QKMS_PER_PEER_RATE', 'perPeerRate', '0', -1],
  ['per-peer-burst', 'QKMS_PER_PEER_BURST', 'perPeerBurst', '2.5', 0],
  ['max-connections-per-ip', 'QKMS_MAX_CONNECTIONS_PER_IP', 'maxConnectionsPerIp', '0', 1.5],
  ['per-ip-rate', 'QKMS_PER_IP_RATE', 'perIpRate', '0', -1],
  ['per-ip-burst', 'QKMS_PER_IP_BURST', 'perIpBurst', '2.5', 0],
  ['per-wallet-rate', 'QKMS_PER_WALLET_RATE', 'perWalletRate', 'fast', null],
  ['per-wallet-burst', 'QKMS_PER_WALLET_BURST', 'perWalletBurst', '-1', 100_001],
  [
    'max-streams-per-protocol',
    'QKMS_MAX_STREAMS_PER_PROTOCOL',
    'maxStreamsPerProtocol',
    '01',
    2000,
  ],
  [
    'replay-sweep-interval-ms',
    'QKMS_REPLAY_SWEEP_INTERVAL_MS',
    'replaySweepIntervalMs',
    '999',
    'x',
  ],
];

describe('every invalid setting is CONFIG_INVALID naming it and its source', () => {
  it.each(SETTINGS)('--%s', (flag, _env, _key, badText) => {
    // The required flags are replaced, not given twice (that is a usage error).
    const base =
      flag === 'dir' ? ['--nodeset', 'n.json'] : flag === 'nodeset' ? ['--dir', 'd'] : REQUIRED;
    expectInvalid(() => parse([...base, `--${flag}`, badText]), new RegExp(`^--${flag}: `));
  });

  it.each(SETTINGS)('%s via %s', (_flag, env, _key, badText) => {
    const base = { QKMS_DIR: '/d', QKMS_NODE_SET: '/n' };
    expectInvalid(() => parse([], { ...base, [env]: badText }), new RegExp(`^${env}: expected `));
  });

  it.each(SETTINGS)('%s via config key %s', (_flag, _env, key, _badText, badJson) => {
    const files = { '/c.json': JSON.stringify({ dir: '/d', nodeSet: '/n', [key]: badJson }) };
    expectInvalid(
      () => parse(['--config', '/c.json'], {}, files),
      `config file /c.json: "${key}": expected `,
    );
  });

  it.each([
    [
      'QKMS_ALLOW_PUBLIC_HTTP',
      'yes',
      /^QKMS_ALLOW_PUBLIC_HTTP: expected 1, 0, true or false, got "yes"/,
    ],
    ['QKMS_ENABLE_TEST_FAULTS', 'true', /^QKMS_ENABLE_TEST_FAULTS: expected 1 or 0, got "true"/],
  ])('boolean variable %s=%s', (env, value, message) => {
    expectInvalid(() => parse(REQUIRED, { [env]: value }), message);
  });

  it('a boolean in the config file must be a JSON boolean', () => {
    const files = { '/c.json': JSON.stringify({ dir: '/d', nodeSet: '/n', allowPublicHttp: 1 }) };
    expectInvalid(
      () => parse(['--config', '/c.json'], {}, files),
      'config file /c.json: "allowPublicHttp": expected true or false, got 1',
    );
  });

  it('a boolean flag takes no value (a usage error)', () => {
    expectUsage(
      () => parse([...REQUIRED, '--allow-public-http=yes']),
      /^--allow-public-http: takes no value/,
    );
  });

  it('messages show the offending value, quoted and clipped', () => {
    expectInvalid(
      () => parse([...REQUIRED, '--http', 'abc']),
      '--http: expected HOST:PORT (e.g. 127.0.0.1:9101, [::1]:9101), got "abc"',
    );
    expectInvalid(() => parse([...REQUIRED, '--http', 'x'.repeat(500)]), /got "x{64}…"$/);
  });

  it.each([
    ['1.2.3.4', /expected HOST:PORT/],
    ['127.0.0.1:65536', /expected HOST:PORT/],
    ['127.0.0.1:', /expected HOST:PORT/],
    ['999.0.0.1:80', /valid IPv4/],
    ['[fe80::zz]:80', /expected HOST:PORT/],
    ['[1.2.3.4]:80', /valid IPv6/],
    ['user@host:80', /expected HOST:PORT/],
  ])('--http %s is refused', (value, message) => {
    expectInvalid(() => parse([...REQUIRED, '--http', value, '--allow-public-http']), message);
  });

  it.each([
    ['/ip4/999.0.0.1/tcp/1', /valid multiaddr.*Invalid IPv4/],
    ['/ip4/1.2.3.4/tcp/70000', /valid multiaddr/],
    ['/ip4/1.2.3.4/tcp/1/p2p/x', /a TCP, WebSocket or WebRTC-direct multiaddr/],
    ['/ip4/1.2.3.4/udp/1', /a TCP, WebSocket or WebRTC-direct multiaddr/],
    ['/ip4/1.2.3.4/tcp/1/wss', /a TCP, WebSocket or WebRTC-direct multiaddr/],
    ['/dns4/a.example/udp/1/webrtc-direct', /a TCP, WebSocket or WebRTC-direct multiaddr/],
    [
      '/ip4/1.2.3.4/udp/1/webrtc-direct/certhash/uEiA',
      /a TCP, WebSocket or WebRTC-direct multiaddr/,
    ],
  ])('--listen %s is refused', (value, message) => {
    expectInvalid(() => parse([...REQUIRED, '--listen', value]), message);
  });

  it('--listen refuses duplicates and more than 8 addresses', () => {
    const a = '/ip4/127.0.0.1/tcp/1';
    expectInvalid(() => parse([...REQUIRED, '--listen', a, '--listen', a]), /distinct multiaddrs/);
    const many = Array.from({ length: 9 }, (_, i) => `/ip4/127.0.0.1/tcp/${i + 1}`).join(',');
    expectInvalid(
      () => parse(REQUIRED, { QKMS_LISTEN: many }),
      /^QKMS_LISTEN: expected 1 to 8 multiaddrs, got 9/,
    );
  });
});

describe('WebSocket listen addresses', () => {
  const ws = '/ip4/0.0.0.0/tcp/8101/ws';
  const wss = '/ip4/0.0.0.0/tcp/443/tls/ws';
  const tlsFlags = ['--ws-tls-cert', '/etc/qkms/cert.pem', '--ws-tls-key', '/etc/qkms/key.pem'];

  it('takes TCP, ws and wss addresses together; wss with its certificate files', () => {
    const o = parseNodeOptions({
      argv: [
        ...REQUIRED,
        '--listen',
        '/ip4/0.0.0.0/tcp/7101',
        '--listen',
        ws,
        '--listen',
        wss,
        ...tlsFlags,
      ],
      env: {},
      readFile: readerOf({}),
      cwd: CWD,
    }).options;
    expect(o.network.listen).toEqual(['/ip4/0.0.0.0/tcp/7101', ws, wss]);
    expect(o.network.wsTls).toEqual({
      certFile: '/etc/qkms/cert.pem',
      keyFile: '/etc/qkms/key.pem',
    });
  });

  it('a plain ws address needs no certificate, nor does webrtc-direct (the node makes its own)', () => {
    const rtc = '/ip4/0.0.0.0/udp/8101/webrtc-direct';
    expect(parse([...REQUIRED, '--listen', ws, '--listen', rtc]).listen).toEqual([ws, rtc]);
  });

  it('refuses wss without a certificate, naming the address and the way out', () => {
    expectInvalid(
      () => parse([...REQUIRED, '--listen', wss]),
      /^--listen: \/ip4\/0\.0\.0\.0\/tcp\/443\/tls\/ws serves wss and needs --ws-tls-cert and --ws-tls-key .*reverse proxy/,
    );
  });

  it('refuses a certificate without its key, and one no address uses', () => {
    expectInvalid(
      () => parse([...REQUIRED, '--listen', wss, '--ws-tls-cert', '/c.pem']),
      /^--ws-tls-cert: give both --ws-tls-cert and --ws-tls-key, or neither/,
    );
    expectInvalid(
      () => parse([...REQUIRED, '--listen', ws, ...tlsFlags]),
      /^--ws-tls-cert: no \/tls\/ws listen address would use the certificate/,
    );
  });

  it('takes the files from the environment too', () => {
    const o = parseNodeOptions({
      argv: [...REQUIRED, '--listen', wss],
      env: { QKMS_WS_TLS_CERT: '/c.pem', QKMS_WS_TLS_KEY: '/k.pem' },
      readFile: readerOf({}),
      cwd: CWD,
    }).options;
    expect(o.network.wsTls).toEqual({ certFile: '/c.pem', keyFile: '/k.pem' });
  });
});

describe('the HTTP port stays on this host unless allowed', () => {
  it.each(['127.0.0.1:1', '127.1.2.3:9101', 'localhost:9101', '[::1]:9101', '127.0.0.1:0'])(
    '%s is accepted',
    (http) => {
      expect(parse([...REQUIRED, '--http', http]).http.port).toBeGreaterThanOrEqual(0);
    },
  );

  it.each(['0.0.0.0:9101', '192.0.2.7:9101', '[::]:9101', 'metrics.example:9101'])(
    '%s is refused without allowPublicHttp, naming the source',
    (http) => {
      expectInvalid(
        () => parse(REQUIRED, { QKMS_HTTP: http }),
        /^QKMS_HTTP: host .* is reachable from other hosts; .*--allow-public-http/,
      );
      expect(parse([...REQUIRED, '--allow-public-http'], { QKMS_HTTP: http }).allowPublicHttp).toBe(
        true,
      );
    },
  );
});

describe('typos are errors', () => {
  it('an unknown config key', () => {
    const files = { '/c.json': JSON.stringify({ dir: '/d', nodeSet: '/n', maxInflights: 3 }) };
    expectInvalid(
      () => parse(['--config', '/c.json'], {}, files),
      'config file /c.json: key "maxInflights" is not a setting',
    );
  });

  it('an unknown key under "test", and a dotted key at the top level', () => {
    const env = { QKMS_ENABLE_TEST_FAULTS: '1' };
    const nested = { '/c.json': JSON.stringify({ dir: '/d', nodeSet: '/n', test: { delay: 3 } }) };
    expectInvalid(
      () => parse(['--config', '/c.json'], env, nested),
      'key "test.delay" is not a setting',
    );
    const dotted = { '/c.json': JSON.stringify({ dir: '/d', nodeSet: '/n', 'test.delayMs': 3 }) };
    expectInvalid(
      () => parse(['--config', '/c.json'], env, dotted),
      'key "test.delayMs" is not a setting',
    );
  });

  it('an unknown QKMS_* variable; other variables are ignored', () => {
    expectInvalid(
      () => parse(REQUIRED, { QKMS_LISTEN_ADDR: 'x' }),
      /^QKMS_LISTEN_ADDR: not a qkms node setting/,
    );
    expect(() => parse(REQUIRED, { HOME: '/root', QKMSX: '1' })).not.toThrow();
  });

  it('an unknown flag, a flag twice, a positional argument: usage errors', () => {
    expectUsage(() => parse([...REQUIRED, '--max-inflght', '3']), /^--max-inflght: unknown option/);
    expectUsage(() => parse([...REQUIRED, '--dir', 'x']), /^--dir: given more than once/);
    expectUsage(() => parse([...REQUIRED, 'start']), /^"start": unexpected argument/);
  });

  it('every known variable is listed in NODE_ENV_VARS and accepted', () => {
    for (const [, env] of SETTINGS) expect(NODE_ENV_VARS).toContain(env);
    expect(NODE_ENV_VARS).toEqual(
      expect.arrayContaining(['QKMS_CONFIG', 'QKMS_PASSPHRASE', 'QKMS_ENABLE_TEST_FAULTS']),
    );
  });

  it.each([
    ['unreadable', {}, /^config file \/c\.json: cannot read \(ENOENT\)/],
    ['not JSON', { '/c.json': '{dir:' }, /^config file \/c\.json: not valid JSON/],
    ['an array', { '/c.json': '[]' }, /^config file \/c\.json: expected a JSON object/],
    [
      'too large',
      { '/c.json': ' '.repeat(70_000) },
      /^config file \/c\.json: expected at most 65536 characters/,
    ],
  ])('a config file that is %s', (_, files, message) => {
    expectInvalid(() => parse(['--config', '/c.json'], {}, files), message);
  });
});

describe('test faults', () => {
  const FAULTS: [string, string[], Record<string, string>, string | null][] = [
    ['--test-delay-ms', ['--test-delay-ms', '100'], {}, null],
    ['--test-wrong-share', ['--test-wrong-share'], {}, null],
    ['QKMS_TEST_DELAY_MS', [], { QKMS_TEST_DELAY_MS: '100' }, null],
    ['QKMS_TEST_WRONG_SHARE', [], { QKMS_TEST_WRONG_SHARE: '1' }, null],
    [
      'config file /c.json: "test.delayMs"',
      ['--config', '/c.json'],
      {},
      JSON.stringify({ dir: '/d', nodeSet: '/n', test: { delayMs: 100 } }),
    ],
  ];

  it.each(FAULTS)('%s is refused unless QKMS_ENABLE_TEST_FAULTS=1', (origin, argv, env, config) => {
    const files = config === null ? {} : { '/c.json': config };
    const message = `${origin}: test faults are refused unless QKMS_ENABLE_TEST_FAULTS=1`;
    expectInvalid(
      () => parse([...REQUIRED.slice(config === null ? 0 : 4), ...argv], env, files),
      message,
    );
    expectInvalid(
      () =>
        parse(
          [...REQUIRED.slice(config === null ? 0 : 4), ...argv],
          { ...env, QKMS_ENABLE_TEST_FAULTS: '0' },
          files,
        ),
      message,
    );
    const o = parse(
      [...REQUIRED.slice(config === null ? 0 : 4), ...argv],
      { ...env, QKMS_ENABLE_TEST_FAULTS: '1' },
      files,
    );
    expect(o.test.enabled).toBe(true);
    expect(o.test.delayMs > 0 || o.test.wrongShare).toBe(true);
  });

  it('even a harmless value (0) is refused without the switch: a stray fault flag is a mistake', () => {
    expectInvalid(
      () => parse([...REQUIRED, '--test-delay-ms', '0']),
      /^--test-delay-ms: test faults are refused/,
    );
  });

  it('the switch alone enables nothing', () => {
    expect(parse(REQUIRED, { QKMS_ENABLE_TEST_FAULTS: '1' }).test).toEqual({
      enabled: true,
      delayMs: 0,
      wrongShare: false,
    });
  });
});

describe('the passphrase', () => {
  it('is never a flag value (a usage error)', () => {
    expectUsage(
      () => parse([...REQUIRED, '--passphrase', 'hunter22']),
      /^--passphrase: a passphrase on the command line is visible to other users/,
    );
  });

  it('from QKMS_PASSPHRASE: the options name the source, not the value', () => {
    const o = parse(REQUIRED, { QKMS_PASSPHRASE: 'hunter2hunter2' });
    expect(o.passphrase).toEqual({ kind: 'env', variable: 'QKMS_PASSPHRASE' });
    expect(JSON.stringify(o)).not.toContain('hunter2');
  });

  it('both sources at once, or an empty variable, are refused', () => {
    expectInvalid(
      () => parse([...REQUIRED, '--passphrase-file', 'p'], { QKMS_PASSPHRASE: 'x' }),
      /^--passphrase-file: QKMS_PASSPHRASE is also set/,
    );
    expectInvalid(
      () => parse(REQUIRED, { QKMS_PASSPHRASE: '' }),
      /^QKMS_PASSPHRASE: is set but empty/,
    );
  });

  it('resolvePassphrase reads the file, dropping one trailing newline', () => {
    const source = parse([...REQUIRED, '--passphrase-file', 'pass']).passphrase;
    const read = (text: string) =>
      resolvePassphrase(source, { env: {}, readFile: readerOf({ '/srv/qkms/pass': text }) });
    expect(read('s3cret words\n')).toBe('s3cret words');
    expect(read('s3cret words\r\n')).toBe('s3cret words');
    expect(read('s3cret words\n\n')).toBe('s3cret words\n');
    expectInvalid(() => read('\n'), /^--passphrase-file \/srv\/qkms\/pass: is empty/);
    expectInvalid(() => read('x'.repeat(5000)), /at most 4096 characters/);
    expectInvalid(
      () => resolvePassphrase(source, { env: {}, readFile: readerOf({}) }),
      /^--passphrase-file \/srv\/qkms\/pass: cannot read \(ENOENT\)/,
    );
  });

  it('resolvePassphrase reads the variable, or gives undefined for none', () => {
    expect(
      resolvePassphrase(
        { kind: 'env', variable: 'QKMS_PASSPHRASE' },
        { env: { QKMS_PASSPHRASE: 'abc' }, readFile: readerOf({}) },
      ),
    ).toBe('abc');
    expect(
      resolvePassphrase(
        { kind: 'none' },
        { env: { QKMS_PASSPHRASE: 'abc' }, readFile: readerOf({}) },
      ),
    ).toBeUndefined();
  });
});

describe('describeOptions', () => {
  it('documents every flag, variable and config key with its default', () => {
    const text = describeOptions();
    for (const [flag, env, key] of SETTINGS) {
      expect(text).toContain(`--${flag}`);
      expect(text).toContain(env);
      expect(text).toContain(`config "${key}"`);
    }
    expect(text).toContain('default 127.0.0.1:9101');
    expect(text).toContain('default /ip4/127.0.0.1/tcp/7101');
    expect(text).toContain('QKMS_ENABLE_TEST_FAULTS=1');
    expect(text).toMatch(/defaults < config file .* < QKMS_\* environment variables < flags/s);
  });
});
