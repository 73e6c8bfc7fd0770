// Every wire message round-trips byte for byte; mutated, truncated or foreign
// bytes are refused with a typed error, never an uncaught exception.
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
import { MAX_FRAME_BYTES, SUPPORTED_VERSIONS } from '../constants.ts';
import { ErrorCode, QkmsError } from '../errors.ts';
import { signRecoverRequest } from '../grant/request.ts';
import { manifestHash } from '../manifest.ts';
import { requireNativeSuite } from '../suite/native.ts';
import { decodeMessage, encodeMessage, type Message, type MessageType } from './messages.ts';
import { signReceipt, verifyReceipt } from './receipt.ts';

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
const sealed = { enc: new Uint8Array(1120).fill(1), ciphertext: new Uint8Array(48).fill(2) };
const receipt = signReceipt(quorum.nodes[1]!.identity, {
  version: 1,
  nodeSetId: nodeSet.id,
  node: 2,
  contentId: content.contentId,
  manifestHash: manifestHash(suite, content.manifest),
  status: 'stored',
  at: FIXTURE_TIME,
});

const samples: Message[] = [
  { type: 'recover', request, delegation: player.delegation },
  { type: 'share', sealed },
  { type: 'publish', manifest: content.manifest, sealed },
  { type: 'receipt', receipt },
  { type: 'info' },
  {
    type: 'info-ok',
    info: { nodeSetId: nodeSet.id, node: 2, versions: [1], software: 'qkms/0.1.0' },
  },
  { type: 'reject', code: 'REPLAYED' },
  { type: 'reject', code: 'UNSUPPORTED_VERSION', versions: [...SUPPORTED_VERSIONS] },
];
const ALL: MessageType[] = ['recover', 'share', 'publish', 'receipt', 'info', 'info-ok', 'reject'];

describe('messages', () => {
  it('every message type round-trips to identical bytes', () => {
    for (const m of samples) {
      const bytes = encodeMessage(m);
      const back = decodeMessage(bytes, MAX_FRAME_BYTES.publish, [m.type]);
      expect(back.type).toBe(m.type);
      expect(toHex(encodeMessage(back))).toBe(toHex(bytes));
    }
  });

  it('a receipt verifies under its node key only', () => {
    expect(verifyReceipt(suite, receipt, quorum.nodes[1]!.identity.publicKey)).toBe(true);
    expect(verifyReceipt(suite, receipt, quorum.nodes[0]!.identity.publicKey)).toBe(false);
    expect(
      verifyReceipt(
        suite,
        { ...receipt, body: { ...receipt.body, status: 'unchanged' } },
        quorum.nodes[1]!.identity.publicKey,
      ),
    ).toBe(false);
  });

  it('refuses a message type not expected on this protocol', () => {
    const bytes = encodeMessage({ type: 'info' });
    expect(() => decodeMessage(bytes, MAX_FRAME_BYTES.info, ['recover'])).toThrow(
      code(ErrorCode.MALFORMED),
    );
  });

  it('answers an unknown version with UNSUPPORTED_VERSION, before reading its fields', () => {
    const bytes = encodeCanonical({ v: 2, t: 'recover', whatever: 'future fields' });
    expect(() => decodeMessage(bytes, MAX_FRAME_BYTES.recover, ['recover'])).toThrow(
      code(ErrorCode.UNSUPPORTED_VERSION),
    );
  });

  it('refuses unknown and missing fields', () => {
    expect(() =>
      decodeMessage(encodeCanonical({ v: 1, t: 'info', extra: 1 }), 4096, ['info']),
    ).toThrow(code(ErrorCode.MALFORMED));
    expect(() =>
      decodeMessage(encodeCanonical({ v: 1, t: 'share', enc: sealed.enc }), 4096, ['share']),
    ).toThrow(code(ErrorCode.MALFORMED));
    expect(() =>
      decodeMessage(encodeCanonical({ v: 1, t: 'reject', code: 'NOT_A_CODE' }), 4096, ['reject']),
    ).toThrow(code(ErrorCode.MALFORMED));
  });

  it('refuses a frame over its protocol cap before decoding', () => {
    const bytes = encodeMessage(samples[2]!);
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
});
