// fast-check: any well-formed message of any type, with arbitrary field
// values, encodes to bytes that decode back to the same message and the same
// bytes (docs/protocol.md §8).
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { PROTOCOL_VERSION } from '../constants.ts';
import { REJECTIONS, type RejectionCode } from '../rejection.ts';
import type { AccessPolicy } from '../manifest.ts';
import { decodeMessage, encodeMessage, type Message, type MessageType } from './registry.ts';

const bytes = (n: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: n, maxLength: n });
const time = fc.integer({ min: 0, max: 9_999_999_999_999 });
const text = (max: number): fc.Arbitrary<string> => fc.string({ maxLength: max, unit: 'grapheme' });
const delegation = fc.record({ message: text(200), signature: bytes(65) });
const sealed = fc.record({ enc: bytes(1120), ciphertext: bytes(80) });
const sortedAddresses = fc
  .uniqueArray(bytes(20), { minLength: 1, maxLength: 5, selector: (a) => toHex(a) })
  .map((list) => [...list].sort((a, b) => (toHex(a) < toHex(b) ? -1 : 1)));
const policy: fc.Arbitrary<AccessPolicy> = fc.oneof(
  fc.constant({ kind: 'open' } as const),
  fc.constant({ kind: 'publisher-only' } as const),
  sortedAddresses.map((addresses) => ({ kind: 'allowlist' as const, addresses })),
);
const manifest = fc
  .tuple(fc.integer({ min: 2, max: 9 }), fc.integer({ min: 0, max: 7 }))
  .chain(([n, tOffset]) =>
    fc.record({
      body: fc.record({
        version: fc.constant(PROTOCOL_VERSION),
        contentId: bytes(32),
        nodeSetId: bytes(32),
        threshold: fc.constant(2 + (tOffset % (n - 1))),
        shares: fc.constant(n),
        publisher: bytes(20),
        policy,
        salt: bytes(32),
        cekCommitment: bytes(32),
        commitments: fc.array(bytes(32), {
          minLength: 2 + (tOffset % (n - 1)),
          maxLength: 2 + (tOffset % (n - 1)),
        }),
        wrappedCek: bytes(32),
        issuedAt: time,
        sessionKey: bytes(32),
        delegationHash: bytes(32),
      }),
      signature: bytes(64),
      delegation,
    }),
  );

const message: fc.Arbitrary<Message> = fc.oneof(
  fc
    .record({
      body: fc.record({
        version: fc.constant(PROTOCOL_VERSION),
        nodeSetId: bytes(32),
        node: fc.integer({ min: 1, max: 255 }),
        contentId: bytes(32),
        nonce: bytes(16),
        issuedAt: time,
        sessionKey: bytes(32),
        recipientKey: bytes(1216),
        delegationHash: bytes(32),
      }),
      signature: bytes(64),
    })
    .chain((request) =>
      delegation.map((d) => ({ type: 'recover' as const, request, delegation: d })),
    ),
  sealed.map((s) => ({ type: 'share' as const, sealed: s })),
  fc
    .tuple(manifest, sealed)
    .map(([m, s]) => ({ type: 'publish' as const, manifest: m, sealed: s })),
  fc
    .record({
      body: fc.record({
        version: fc.constant(PROTOCOL_VERSION),
        nodeSetId: bytes(32),
        node: fc.integer({ min: 1, max: 255 }),
        contentId: bytes(32),
        manifestHash: bytes(32),
        status: fc.constantFrom('stored' as const, 'unchanged' as const),
        at: time,
      }),
      signature: bytes(64),
    })
    .map((receipt) => ({ type: 'receipt' as const, receipt })),
  fc.constant({ type: 'info' as const }),
  fc
    .record({
      nodeSetId: bytes(32),
      node: fc.integer({ min: 1, max: 255 }),
      versions: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 4 }),
      software: text(40),
    })
    .map((info) => ({ type: 'info-ok' as const, info })),
  fc
    .constantFrom(...(Object.keys(REJECTIONS) as RejectionCode[]))
    .map((code) => ({ type: 'reject' as const, code })),
);

const ALL: MessageType[] = ['recover', 'share', 'publish', 'receipt', 'info', 'info-ok', 'reject'];

it('every message with arbitrary field values round-trips, value and bytes', () => {
  fc.assert(
    fc.property(message, (m) => {
      const encoded = encodeMessage(m);
      const decoded = decodeMessage(encoded, 1 << 16, ALL);
      expect(decoded).toEqual(m);
      expect(toHex(encodeMessage(decoded))).toBe(toHex(encoded));
    }),
    { numRuns: 3000 },
  );
});
