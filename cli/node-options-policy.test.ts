// The access-policy settings (issue 16): --evm-rpc CHAIN_ID=URL (repeatable),
// --evm-rpc-quorum, the freshness bound, the poll and the deadline, from every
// source; and the errors, which never show an RPC URL's path or query (where
// providers put API keys).
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../protocol/index.ts';
import { parseNodeOptions } from './node-options.ts';

const CWD = '/srv/qkms';
const BASE = ['--dir', '/d', '--nodeset', '/n.json'];
const SECRET = 'sk_live_0123456789abcdef';

function policyOf(argv: readonly string[], env: Record<string, string> = {}, config?: unknown) {
  const files: Record<string, string> =
    config === undefined ? {} : { '/c.json': JSON.stringify(config) };
  return parseNodeOptions({
    argv: [...BASE, ...argv, ...(config === undefined ? [] : ['--config', '/c.json'])],
    env,
    cwd: CWD,
    readFile: (p) => {
      const text = files[p];
      if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return text;
    },
  }).options.policy;
}

function thrown(f: () => unknown): { code?: unknown; message: string } {
  try {
    f();
  } catch (e) {
    return e as { code?: unknown; message: string };
  }
  throw new Error('expected a throw');
}

describe('policy settings', () => {
  it('default: no chain, one endpoint must agree, a 5 s bound over a 1 s poll', () => {
    expect(policyOf([])).toEqual({
      evmRpc: [],
      evmQuorum: 1,
      freshnessMs: 5_000,
      pollMs: 1_000,
      rpcDeadlineMs: 2_000,
      confirmations: 0,
      maxBlockAgeMs: 0,
      maxCachedReads: 50_000,
    });
  });

  it('reads endpoints from repeated flags, the variable and the config file', () => {
    const flags = policyOf([
      '--evm-rpc',
      '1=https://a.example/v1',
      '--evm-rpc',
      '1=https://b.example/v1',
      '--evm-rpc',
      '31337=http://127.0.0.1:8545',
      '--policy-freshness-ms',
      '3000',
      '--evm-poll-ms',
      '250',
      '--evm-confirmations',
      '2',
    ]);
    expect(flags).toMatchObject({
      evmRpc: [
        { chainId: 1, url: 'https://a.example/v1' },
        { chainId: 1, url: 'https://b.example/v1' },
        { chainId: 31337, url: 'http://127.0.0.1:8545' },
      ],
      freshnessMs: 3_000,
      pollMs: 250,
      confirmations: 2,
    });
  });

  it('k must not exceed the endpoints of any chain', () => {
    const e = thrown(() => policyOf(['--evm-rpc', '1=https://a.example', '--evm-rpc-quorum', '2']));
    expect(e.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(e.message).toMatch(/2 endpoints must agree, but chain 1 has 1/);
  });

  it('the variable takes a comma-separated list; the config file an array under "policy"', () => {
    expect(
      policyOf([], {
        QKMS_EVM_RPC: '1=https://a.example,1=https://b.example',
        QKMS_EVM_RPC_QUORUM: '2',
      }).evmRpc,
    ).toHaveLength(2);
    const config = policyOf(
      [],
      {},
      {
        policy: { evmRpc: ['137=https://polygon.example'], freshnessMs: 10_000, pollMs: 2_000 },
      },
    );
    expect(config).toMatchObject({
      evmRpc: [{ chainId: 137, url: 'https://polygon.example' }],
      freshnessMs: 10_000,
      pollMs: 2_000,
    });
  });

  it('the freshness bound must exceed the poll interval', () => {
    const e = thrown(() => policyOf(['--policy-freshness-ms', '500', '--evm-poll-ms', '1000']));
    expect(e.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(e.message).toMatch(/freshnessMs \(500\) must exceed policy.pollMs \(1000\)/);
  });

  it('refuses a bad entry, naming the chain but never the URL past its host', () => {
    for (const [value, message] of [
      ['https://a.example', /expected CHAIN_ID=URL/],
      ['0=https://a.example', /expected CHAIN_ID=URL/],
      ['1=not a url', /chain 1: expected an http\(s\) URL/],
      [
        `1=ftp://a.example/${SECRET}`,
        /chain 1: expected an http or https URL, got ftp:\/\/a\.example\/…/,
      ],
    ] as const) {
      const e = thrown(() => policyOf(['--evm-rpc', value]));
      expect(e.code, value).toBe(ErrorCode.CONFIG_INVALID);
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain(SECRET);
    }
    const twice = thrown(() =>
      policyOf([
        '--evm-rpc',
        `1=https://a.example/${SECRET}`,
        '--evm-rpc',
        `1=https://a.example/${SECRET}`,
      ]),
    );
    expect(twice.message).toMatch(/chain 1: https:\/\/a\.example\/… given twice/);
    expect(twice.message).not.toContain(SECRET);
  });
});
