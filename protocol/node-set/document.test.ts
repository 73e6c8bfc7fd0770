// The `document` object: a negative table over every rule, each naming its
// field, the edges of every range accepted, and createNodeSetDocument's own
// refusals.
import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import {
  createNodeSetDocument,
  nodeSetId,
  parseNodeSetDocument,
  parseSignedNodeSet,
  type NodeSetDocumentInput,
} from './index.ts';
import {
  ID,
  SIGS,
  edit,
  expectInvalid,
  fx,
  native,
  type Doc,
} from '../../test/support/node-set-fixture.ts';

describe('document refusals: INVALID_NODE_SET naming the field', () => {
  const manyAddrs = (count: number): string[] =>
    Array.from({ length: count }, (_, i) => `/ip4/10.0.0.${i + 1}/tcp/7101`);
  // Each returns a value, so a table row can be a one-line arrow.
  const extra = (target: object): object => Object.assign(target, { extra: 1 });
  const set = (target: object, key: string, value: unknown): object =>
    Object.assign(target, { [key]: value });
  const drop = (target: object, key: string): boolean => Reflect.deleteProperty(target, key);
  const p = 'document.params';

  const table: readonly (readonly [string, (d: Doc) => void, string])[] = [
    ['nodes that are not an array', (d) => set(d, 'nodes', null), 'document.nodes'],
    ['an unknown top-level key', (d) => extra(d), 'document'],
    ['an unknown node key', (d) => extra(d.nodes[1]!), 'document.nodes[1]'],
    ['an unknown params key', (d) => extra(d.params), p],
    ['an unknown admins key', (d) => extra(d.admins), 'document.admins'],
    ['a missing epoch', (d) => drop(d, 'epoch'), 'document.epoch'],
    ['a missing chainId', (d) => drop(d.params, 'chainId'), `${p}.chainId`],
    [
      'a missing KEM key',
      (d) => drop(d.nodes[0]!, 'kemPublicKey'),
      'document.nodes[0].kemPublicKey',
    ],
    ['another format version', (d) => set(d, 'qkmsNodeSet', 2), 'document.qkmsNodeSet'],
    [
      'a newer version with new keys names the version',
      (d) => {
        set(d, 'qkmsNodeSet', 2);
        extra(d);
      },
      'document.qkmsNodeSet',
    ],
    ['epoch 0', (d) => (d.epoch = 0), 'document.epoch'],
    ['a predecessor at epoch 1', (d) => (d.predecessor = toHex(ID)), 'document.predecessor'],
    ['epoch 2 without a predecessor', (d) => (d.epoch = 2), 'document.predecessor'],
    [
      'a 31-byte predecessor',
      (d) => set(set(d, 'epoch', 2), 'predecessor', toHex(ID).slice(2)),
      'document.predecessor',
    ],
    [
      'an upper-case predecessor',
      (d) => set(set(d, 'epoch', 2), 'predecessor', toHex(ID).toUpperCase()),
      'document.predecessor',
    ],
    [
      'a predecessor as bytes, not hex',
      (d) => set(set(d, 'epoch', 2), 'predecessor', [...ID]),
      'document.predecessor',
    ],
    ['a fractional epoch', (d) => (d.epoch = 1.5), 'document.epoch'],
    ['an epoch as text', (d) => set(d, 'epoch', '1'), 'document.epoch'],
    ['t > n', (d) => (d.threshold = 6), 'document.threshold'],
    ['t < 2', (d) => (d.threshold = 1), 'document.threshold'],
    ['one node', (d) => (d.nodes = d.nodes.slice(0, 1)), 'document.nodes'],
    [
      '256 nodes',
      (d) => (d.nodes = Array.from({ length: 256 }, () => d.nodes[0]!)),
      'document.nodes',
    ],
    ['a duplicate index', (d) => (d.nodes[3]!.index = 1), 'document.nodes[3].index'],
    ['an index gap', (d) => (d.nodes[4]!.index = 6), 'document.nodes[4].index'],
    ['index 0', (d) => (d.nodes[0]!.index = 0), 'document.nodes[0].index'],
    [
      'a duplicate PeerId',
      (d) => (d.nodes[2]!.peerId = d.nodes[0]!.peerId),
      'document.nodes[2].peerId',
    ],
    [
      'a SHA-256 PeerId',
      (d) => (d.nodes[1]!.peerId = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'),
      'document.nodes[1].peerId',
    ],
    [
      'a PeerId with a non-base58 character',
      (d) => (d.nodes[1]!.peerId = `${d.nodes[1]!.peerId.slice(0, -1)}0`),
      'document.nodes[1].peerId',
    ],
    ['a PeerId as bytes', (d) => set(d.nodes[1]!, 'peerId', [1, 2]), 'document.nodes[1].peerId'],
    [
      'a short KEM key',
      (d) => (d.nodes[2]!.kemPublicKey = d.nodes[2]!.kemPublicKey.slice(2)),
      'document.nodes[2].kemPublicKey',
    ],
    [
      'a KEM key that is not hex',
      (d) => (d.nodes[2]!.kemPublicKey = `zz${d.nodes[2]!.kemPublicKey.slice(2)}`),
      'document.nodes[2].kemPublicKey',
    ],
    [
      'an upper-case hex KEM key',
      (d) => (d.nodes[2]!.kemPublicKey = `AB${d.nodes[2]!.kemPublicKey.slice(2)}`),
      'document.nodes[2].kemPublicKey',
    ],
    [
      'a duplicate KEM key',
      (d) => (d.nodes[3]!.kemPublicKey = d.nodes[1]!.kemPublicKey),
      'document.nodes[3].kemPublicKey',
    ],
    ['no multiaddrs', (d) => (d.nodes[0]!.multiaddrs = []), 'document.nodes[0].multiaddrs'],
    [
      '9 multiaddrs',
      (d) => (d.nodes[0]!.multiaddrs = manyAddrs(9)),
      'document.nodes[0].multiaddrs',
    ],
    [
      'a multiaddr without a leading /',
      (d) => (d.nodes[0]!.multiaddrs[1] = 'ip4/1.2.3.4/tcp/1'),
      'document.nodes[0].multiaddrs[1]',
    ],
    [
      'a 257-char multiaddr',
      (d) => (d.nodes[0]!.multiaddrs[0] = `/dns/${'a'.repeat(252)}`),
      'document.nodes[0].multiaddrs[0]',
    ],
    [
      'a multiaddr with a space',
      (d) => (d.nodes[0]!.multiaddrs[0] = '/dns/a b/tcp/1'),
      'document.nodes[0].multiaddrs[0]',
    ],
    [
      'a multiaddr with a non-ASCII character',
      (d) => (d.nodes[0]!.multiaddrs[0] = '/dns/ex\u0430mple.com/tcp/1'),
      'document.nodes[0].multiaddrs[0]',
    ],
    [
      'a multiaddr listed twice for one node',
      (d) => (d.nodes[0]!.multiaddrs[1] = d.nodes[0]!.multiaddrs[0]!),
      'document.nodes[0].multiaddrs[1]',
    ],
    ['admin threshold 0', (d) => (d.admins.threshold = 0), 'document.admins.threshold'],
    ['admin threshold > m', (d) => (d.admins.threshold = 3), 'document.admins.threshold'],
    ['no admin keys', (d) => (d.admins.keys = []), 'document.admins.keys'],
    [
      '17 admin keys',
      (d) => (d.admins.keys = Array.from({ length: 17 }, () => d.admins.keys[0]!)),
      'document.admins.keys',
    ],
    [
      'a short admin key',
      (d) => (d.admins.keys[1] = d.admins.keys[1]!.slice(2)),
      'document.admins.keys[1]',
    ],
    [
      'a duplicate admin key',
      (d) => (d.admins.keys[1] = d.admins.keys[0]!),
      'document.admins.keys[1]',
    ],
    [
      'admins sharing the Ed25519 half',
      (d) => (d.admins.keys[1] = d.admins.keys[0]!.slice(0, 64) + d.admins.keys[1]!.slice(64)),
      'document.admins.keys[1]',
    ],
    [
      'admins sharing the ML-DSA half',
      (d) => (d.admins.keys[1] = d.admins.keys[1]!.slice(0, 64) + d.admins.keys[0]!.slice(64)),
      'document.admins.keys[1]',
    ],
    ['maxGrantAgeMs below 1 s', (d) => (d.params.maxGrantAgeMs = 999), `${p}.maxGrantAgeMs`],
    ['maxGrantAgeMs above 1 h', (d) => (d.params.maxGrantAgeMs = 3_600_001), `${p}.maxGrantAgeMs`],
    ['negative maxClockSkewMs', (d) => (d.params.maxClockSkewMs = -1), `${p}.maxClockSkewMs`],
    [
      'maxClockSkewMs above 5 min',
      (d) => (d.params.maxClockSkewMs = 300_001),
      `${p}.maxClockSkewMs`,
    ],
    [
      'maxDelegationLifetimeMs below 1 min',
      (d) => (d.params.maxDelegationLifetimeMs = 59_999),
      `${p}.maxDelegationLifetimeMs`,
    ],
    [
      'maxDelegationLifetimeMs above 30 days',
      (d) => (d.params.maxDelegationLifetimeMs = 2_592_000_001),
      `${p}.maxDelegationLifetimeMs`,
    ],
    ['chainId 0', (d) => (d.params.chainId = 0), `${p}.chainId`],
    ['chainId beyond safe integers', (d) => (d.params.chainId = 2 ** 53), `${p}.chainId`],
    ['an empty siweDomain', (d) => (d.params.siweDomain = ''), `${p}.siweDomain`],
    ['an upper-case siweDomain', (d) => (d.params.siweDomain = 'QKMS.local'), `${p}.siweDomain`],
    [
      'a siweDomain with userinfo',
      (d) => (d.params.siweDomain = 'admin@qkms.local'),
      `${p}.siweDomain`,
    ],
    ['a siweDomain with a path', (d) => (d.params.siweDomain = 'qkms.local/x'), `${p}.siweDomain`],
    [
      'a siweDomain with a scheme',
      (d) => (d.params.siweDomain = 'https://qkms.local'),
      `${p}.siweDomain`,
    ],
    ['a siweDomain with port 0', (d) => (d.params.siweDomain = 'qkms.local:0'), `${p}.siweDomain`],
    [
      'a siweDomain with port 65536',
      (d) => (d.params.siweDomain = 'qkms.local:65536'),
      `${p}.siweDomain`,
    ],
    [
      'a 254-char siweDomain',
      (d) => (d.params.siweDomain = `${'a.'.repeat(126)}ab`),
      `${p}.siweDomain`,
    ],
    [
      'a 64-char siweDomain label',
      (d) => (d.params.siweDomain = `${'a'.repeat(64)}.local`),
      `${p}.siweDomain`,
    ],
  ];

  for (const [name, change, field] of table) {
    it(`refuses ${name} (${field})`, () => {
      const d = edit(change);
      expectInvalid(() => parseNodeSetDocument(native, d), field);
      expectInvalid(() => parseSignedNodeSet(native, { document: d, signatures: SIGS }), field);
      expectInvalid(() => nodeSetId(native, d), field);
    });
  }

  it('accepts the edges of every range and the authority forms it allows', () => {
    const edges: readonly ((d: Doc) => void)[] = [
      (d) => (d.threshold = 5),
      (d) => (d.threshold = 2),
      (d) => (d.nodes[0]!.multiaddrs = manyAddrs(8)),
      (d) => (d.nodes[0]!.multiaddrs = [`/dns/${'a'.repeat(251)}`]),
      (d) => (d.admins.threshold = 1),
      (d) => (d.params.maxGrantAgeMs = 1_000),
      (d) => (d.params.maxGrantAgeMs = 3_600_000),
      (d) => (d.params.maxClockSkewMs = 0),
      (d) => (d.params.maxClockSkewMs = 300_000),
      (d) => (d.params.maxDelegationLifetimeMs = 60_000),
      (d) => (d.params.maxDelegationLifetimeMs = 2_592_000_000),
      (d) => (d.params.chainId = Number.MAX_SAFE_INTEGER),
      (d) => (d.params.siweDomain = 'localhost:8080'),
      (d) => (d.params.siweDomain = '127.0.0.1:65535'),
      (d) => (d.params.siweDomain = '[::1]:443'),
      (d) => (d.params.siweDomain = 'a-b.example.com'),
      (d) => (d.params.siweDomain = `${'a.'.repeat(125)}abc`),
      (d) => {
        d.epoch = Number.MAX_SAFE_INTEGER;
        d.predecessor = toHex(ID);
      },
    ];
    for (const change of edges) {
      expect(parseNodeSetDocument(native, edit(change)).id).toHaveLength(32);
    }
  });

  it('-0 in a field that allows 0 is read as 0 (JSON can spell it)', () => {
    const zero = parseNodeSetDocument(
      native,
      edit((d) => (d.params.maxClockSkewMs = 0)),
    );
    const negativeZero = parseNodeSetDocument(
      native,
      JSON.parse(
        JSON.stringify(edit((d) => (d.params.maxClockSkewMs = 0))).replace(
          '"maxClockSkewMs":0',
          '"maxClockSkewMs":-0',
        ),
      ),
    );
    expect(Object.is(negativeZero.params.maxClockSkewMs, 0)).toBe(true);
    expect(toHex(negativeZero.id)).toBe(toHex(zero.id));
  });

  it('refuses a document that is not an object, and a file that is not one', () => {
    for (const value of [null, 1, 'x', [], new Uint8Array(2)]) {
      expectInvalid(() => parseNodeSetDocument(native, value), 'document');
      expectInvalid(() => parseSignedNodeSet(native, value), 'nodeSet');
    }
  });
});

describe('createNodeSetDocument refusals', () => {
  it('createNodeSetDocument refuses unknown keys, non-byte keys and invalid values', () => {
    const input = fx.input;
    expectInvalid(
      () => createNodeSetDocument({ ...input, extra: 1 } as NodeSetDocumentInput),
      'document',
    );
    expectInvalid(
      () =>
        createNodeSetDocument({
          ...input,
          nodes: input.nodes.map((n, i) =>
            i === 1 ? { ...n, kemPublicKey: toHex(n.kemPublicKey) as unknown as Uint8Array } : n,
          ),
        }),
      'document.nodes[1].kemPublicKey',
    );
    expectInvalid(
      () =>
        createNodeSetDocument({
          ...input,
          admins: { threshold: 1, keys: [input.admins.keys[0]!, [1, 2] as unknown as Uint8Array] },
        }),
      'document.admins.keys[1]',
    );
    expectInvalid(() => createNodeSetDocument({ ...input, threshold: 6 }), 'document.threshold');
    expectInvalid(
      () =>
        createNodeSetDocument({
          ...input,
          epoch: 2,
          predecessor: toHex(ID) as unknown as Uint8Array,
        }),
      'document.predecessor',
    );
    expectInvalid(
      () => createNodeSetDocument({ ...input, predecessor: ID }),
      'document.predecessor',
    );
    expectInvalid(() => createNodeSetDocument({ ...input, epoch: 2 }), 'document.predecessor');
    expectInvalid(
      () => createNodeSetDocument({ ...input, params: { ...input.params, siweDomain: 'Q' } }),
      'document.params.siweDomain',
    );
  });
});
