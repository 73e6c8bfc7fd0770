// The registry: every wire message round-trips byte for byte; mutated,
// truncated or foreign bytes are refused with a typed error, never an uncaught
// exception. Each protocol's own field rules are tested beside its file.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  contentFixture,
  FIXTURE_TIME,
  quorumFixture,
  sessionFixture,
} from '../../test/support/protocol-fixture.ts';
import { toHex } from '../bytes.ts';
import { encodeCanonical } from '../codec/cbor.ts';
import { ID_BYTES, MAX_FRAME_BYTES, PROTOCOL_VERSION, SUPPORTED_VERSIONS } from '../constants.ts';
import { ErrorCode, QkmsError } from '../errors.ts';
import { signRecoverRequest } from '../grant/request.ts';
import { manifestHash } from '../manifest.ts';
import { requireNativeSuite } from '../suite/native.ts';
import { signAuditHead } from './audit-head.ts';
import { signReceipt } from './receipt.ts';
import {
  MESSAGE_TYPES,
  decodeMessage,
  encodeMessage,
  type Message,
  type MessageType,
} from './registry.ts';
import { DIGEST_CHILDREN_BYTES } from './revsync.ts';

const suite = requireNativeSuite();
const quorum = quorumFixture(suite);
const { nodeSet } = quorum;
const player = await sessionFixture(suite, nodeSet);
const content = contentFixture(suite, nodeSet, player);
const code = (c: string): unknown => expect.objectContaining({ code: c });

const request = signRecoverRequest(suite, player.session, {
  nodeSetId: nodeSet.id,
  node: 2,
  contentId: content.contentId,
  issuedAt: FIXTURE_TIME,
  recipientKey: player.kemPublicKey,
  delegationHash: new Uint8Array(32).fill(3),
  nonce: new Uint8Array(16).fill(9),
});
const sealed = { enc: new Uint8Array(1120).fill(1), ciphertext: new Uint8Array(80).fill(2) };
const receipt = signReceipt(quorum.nodes[1]!.identity, {
  version: PROTOCOL_VERSION,
  nodeSetId: nodeSet.id,
  node: 2,
  contentId: content.contentId,
  manifestHash: manifestHash(suite, content.manifest),
  status: 'stored',
  at: FIXTURE_TIME,
});

const auditHead = signAuditHead(quorum.nodes[1]!.identity, {
  nodeSetId: nodeSet.id,
  node: 2,
  seq: 41,
  hash: new Uint8Array(32).fill(0x41),
  at: FIXTURE_TIME,
});
const witnessedHead = signAuditHead(quorum.nodes[0]!.identity, {
  nodeSetId: nodeSet.id,
  node: 1,
  seq: 0,
  hash: new Uint8Array(32),
  at: FIXTURE_TIME,
});

function idBytes(fill: number): Uint8Array {
  return new Uint8Array(ID_BYTES).fill(fill);
}
const revocationBytes = new Uint8Array(3_500).fill(0x5a);

const envelope = {
  ticket: {
    body: { from: idBytes(11), to: idBytes(12), notAfter: FIXTURE_TIME + 3_600_000 },
    admin: 0,
    signature: new Uint8Array(64 + 3309).fill(0x33),
  },
  from: new TextEncoder().encode(quorum.nodeSetFile),
  to: new TextEncoder().encode(quorum.nodeSetFile.replace('7101', '7201')),
};
const dealing = {
  dealer: 2,
  items: [
    {
      contentId: idBytes(13),
      status: 'ok' as const,
      manifestHash: idBytes(14),
      commitments: [idBytes(15), idBytes(16)],
    },
    {
      contentId: idBytes(17),
      status: 'ok' as const,
      manifestHash: idBytes(18),
      recordHash: idBytes(19),
      commitments: [idBytes(20), idBytes(21)],
    },
    { contentId: idBytes(22), status: 'absent' as const },
    { contentId: idBytes(23), status: 'failed' as const },
  ],
  sealDigests: [idBytes(24), idBytes(25), idBytes(26)],
  signature: new Uint8Array(64).fill(0x27),
};
const batchSeal = { enc: new Uint8Array(1120).fill(3), ciphertext: new Uint8Array(144).fill(4) };
const source = { contentId: idBytes(13), manifest: new Uint8Array(300).fill(5) };

const samples: Message[] = [
  { type: 'recover', request, delegation: player.delegation },
  { type: 'share', sealed },
  {
    type: 'share',
    sealed,
    sharing: {
      body: {
        contentId: idBytes(40),
        nodeSetId: idBytes(41),
        threshold: 2,
        commitments: [idBytes(42), idBytes(43)],
        dealers: [1, 3],
        previousNodeSetId: idBytes(44),
      },
      attestations: [
        { node: 1, signature: new Uint8Array(64).fill(1) },
        { node: 2, signature: new Uint8Array(64).fill(2) },
      ],
    },
  },
  { type: 'publish', manifest: content.manifest, sealed },
  { type: 'receipt', receipt },
  { type: 'info' },
  {
    type: 'info-ok',
    info: { nodeSetId: nodeSet.id, node: 2, versions: [1], software: 'qkms/0.1.0' },
  },
  { type: 'reject', code: 'REPLAYED' },
  { type: 'reject', code: 'UNSUPPORTED_VERSION', versions: [...SUPPORTED_VERSIONS] },
  { type: 'reject', code: 'BAD_REVOCATION' },
  // Revocation records travel as opaque bytes here (revocation/ parses them).
  { type: 'revoke', record: revocationBytes },
  { type: 'revoke-ok', id: idBytes(1), status: 'stored' },
  { type: 'revoke-ok', id: idBytes(2), status: 'unchanged' },
  { type: 'revocations', after: new Uint8Array(0) },
  { type: 'revocations', after: idBytes(3) },
  { type: 'revocations-ok', records: [revocationBytes, revocationBytes.subarray(1)], more: true },
  { type: 'revocations-ok', records: [], more: false },
  { type: 'revsync-digest', prefix: new Uint8Array(0), count: 0, xor: new Uint8Array(ID_BYTES) },
  {
    type: 'revsync-digest',
    prefix: Uint8Array.of(0x12, 0xff),
    count: 0xffff_ffff,
    xor: idBytes(4),
  },
  {
    type: 'revsync-digest-ok',
    count: 3,
    xor: idBytes(5),
    children: new Uint8Array(DIGEST_CHILDREN_BYTES).fill(6),
    ids: [],
  },
  {
    type: 'revsync-digest-ok',
    count: 2,
    xor: idBytes(7),
    children: new Uint8Array(0),
    ids: [idBytes(8), idBytes(9)],
  },
  { type: 'revsync-fetch', ids: [idBytes(10)] },
  { type: 'revsync-records', records: [revocationBytes] },
  { type: 'revsync-push', records: [revocationBytes, revocationBytes] },
  { type: 'revsync-push-ok', stored: 1, unchanged: 1 },
  { type: 'audit-witness', node: 255 },
  { type: 'audit-witness-ok' },
  { type: 'audit-witness-ok', witnessed: witnessedHead },
  { type: 'audit-head', head: auditHead },
  { type: 'audit-head-ok', head: auditHead },
  { type: 'audit-head-ok', head: auditHead, witnessed: witnessedHead },
  { type: 'reshare-list', ...envelope, after: new Uint8Array(0) },
  { type: 'reshare-list', ...envelope, after: idBytes(28) },
  { type: 'reshare-list-ok', contents: [idBytes(29), idBytes(30)], more: true },
  { type: 'reshare-deal', ...envelope, contents: [idBytes(13), idBytes(17)] },
  {
    type: 'reshare-dealt',
    dealing,
    sealed: [batchSeal, batchSeal, batchSeal],
    sources: [source, { ...source, contentId: idBytes(17), record: new Uint8Array(90).fill(6) }],
  },
  {
    type: 'reshare-commit',
    ...envelope,
    dealings: [{ ...dealing, sealed: batchSeal }],
    sources: [source],
    choose: [{ contentId: idBytes(13), dealers: [1, 2] }],
  },
  {
    type: 'reshare-committed',
    node: 3,
    results: [
      { contentId: idBytes(13), status: 'ok', signature: new Uint8Array(64).fill(7) },
      { contentId: idBytes(17), status: 'blame', blamed: [{ dealer: 2, reason: 'bad-sub-share' }] },
      { contentId: idBytes(22), status: 'failed' },
    ],
  },
  { type: 'reshare-record', ...envelope, records: [new Uint8Array(200).fill(8)] },
  {
    type: 'reshare-record-ok',
    results: [
      { contentId: idBytes(13), status: 'held' },
      { contentId: idBytes(17), status: 'missing' },
      { contentId: idBytes(22), status: 'mismatch' },
    ],
  },
  { type: 'reshare-status', ...envelope, contents: [idBytes(13)] },
  { type: 'reshare-status-ok', held: [idBytes(31), new Uint8Array(0)] },
  {
    type: 'reshare-cutover',
    record: new Uint8Array(300).fill(4),
    from: new Uint8Array(120).fill(5),
    to: new Uint8Array(130).fill(6),
    ancestors: [new Uint8Array(110).fill(7)],
  },
  { type: 'reshare-cutover-ok', state: 'retired' },
  { type: 'node-set' },
  { type: 'node-set-ok', files: [new Uint8Array(90).fill(8), new Uint8Array(95).fill(9)] },
  { type: 'reject', code: 'RESHARE_DENIED' },
];
const ALL: readonly MessageType[] = MESSAGE_TYPES;

describe('messages', () => {
  it('every message type round-trips to identical bytes', () => {
    for (const m of samples) {
      const bytes = encodeMessage(m);
      const back = decodeMessage(bytes, MAX_FRAME_BYTES.publish, [m.type]);
      expect(back.type).toBe(m.type);
      expect(toHex(encodeMessage(back))).toBe(toHex(bytes));
    }
  });

  it('refuses a message type not expected on this protocol', () => {
    const bytes = encodeMessage({ type: 'info' });
    expect(() => decodeMessage(bytes, MAX_FRAME_BYTES.info, ['recover'])).toThrow(
      code(ErrorCode.MALFORMED),
    );
  });

  it('answers an unknown version (v1, before decision 0016, or a future one) with UNSUPPORTED_VERSION, before reading its fields', () => {
    for (const v of [1, PROTOCOL_VERSION + 1]) {
      const bytes = encodeCanonical({ v, t: 'recover', whatever: 'other fields' });
      expect(() => decodeMessage(bytes, MAX_FRAME_BYTES.recover, ['recover'])).toThrow(
        code(ErrorCode.UNSUPPORTED_VERSION),
      );
    }
  });

  it('refuses unknown and missing fields', () => {
    expect(() =>
      decodeMessage(encodeCanonical({ v: PROTOCOL_VERSION, t: 'info', extra: 1 }), 4096, ['info']),
    ).toThrow(code(ErrorCode.MALFORMED));
    expect(() =>
      decodeMessage(encodeCanonical({ v: PROTOCOL_VERSION, t: 'share', enc: sealed.enc }), 4096, [
        'share',
      ]),
    ).toThrow(code(ErrorCode.MALFORMED));
    expect(() =>
      decodeMessage(
        encodeCanonical({ v: PROTOCOL_VERSION, t: 'reject', code: 'NOT_A_CODE' }),
        4096,
        ['reject'],
      ),
    ).toThrow(code(ErrorCode.MALFORMED));
  });

  it('refuses a frame over its protocol cap before decoding', () => {
    const bytes = encodeMessage(samples.find((m) => m.type === 'publish')!);
    expect(bytes.length).toBeGreaterThan(1024);
    expect(() => decodeMessage(bytes, 1024, ['publish'])).toThrow(code(ErrorCode.TOO_LARGE));
  });

  it('mutated and truncated messages are refused with a QkmsError, never anything else', () => {
    const encoded = samples.map((m) => encodeMessage(m));
    const input = fc.oneof(
      fc
        .tuple(fc.nat(encoded.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }))
        .map(([which, at, x]) => {
          const bytes = encoded[which]!.slice();
          const i = at % bytes.length;
          bytes[i] = (bytes[i] ?? 0) ^ x;
          return bytes;
        }),
      fc
        .tuple(fc.nat(encoded.length - 1), fc.nat())
        .map(([which, at]) => encoded[which]!.subarray(0, at % encoded[which]!.length)),
      fc.uint8Array({ maxLength: 200 }),
    );
    let refused = 0;
    fc.assert(
      fc.property(input, (bytes) => {
        try {
          const m = decodeMessage(bytes, MAX_FRAME_BYTES.publish, ALL);
          // A flip inside a byte string can still be a well-formed message: it must re-encode exactly.
          expect(toHex(encodeMessage(m))).toBe(toHex(bytes));
        } catch (e) {
          expect(e).toBeInstanceOf(QkmsError);
          refused++;
        }
      }),
      { numRuns: 10_000 },
    );
    expect(refused).toBeGreaterThan(5000);
  });

  it('the samples cover every message type', () => {
    expect(new Set(samples.map((m) => m.type))).toEqual(new Set(ALL));
  });

  it('registers each message type once', () => {
    expect(new Set(MESSAGE_TYPES).size).toBe(MESSAGE_TYPES.length);
  });
});
