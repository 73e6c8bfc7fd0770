// Long file: every kind of record and every way a record must be refused, against one signing fixture.
// Revocation records: every kind round-trips byte for byte; the id names the
// statement, not its signers; a record is taken only if it names this node
// set and at least admins.threshold distinct admins of it signed exactly it;
// anything else — unsigned, under-signed, forged, tampered, foreign,
// non-canonical, malformed — is BAD_REVOCATION, never an accepted record.
import { encode, rfc8949EncodeOptions } from 'cborg';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  ErrorCode,
  MAX_REVOCATION_BYTES,
  encodeCanonical,
  isQkmsError,
  nobleSuite,
  requireNativeSuite,
  toHex,
  utf8,
  type CborValue,
  type CryptoSuite,
} from '../protocol/internal.ts';
import { FIXTURE_TIME } from '../test/support/protocol-fixture.ts';
import {
  NON_ADMIN_SEED,
  adminsFixture,
  bodyCbor,
  encodeRecord,
  revocationBody,
} from '../test/support/revocation-fixture.ts';
import {
  MAX_REASON_BYTES,
  REVOCATION_KINDS,
  TARGET_BYTES,
  createRevocationBody,
  decodeRevocation,
  readRevocation,
  revocationId,
  revocationSignedMessage,
  signRevocation,
  verifyRevocation,
  type RevocationBody,
  type RevocationRecord,
} from './record.ts';

const suite = requireNativeSuite();
/** Three admins, two needed: the smallest set where "under-signed" and "one vote per admin" mean something. */
const world = adminsFixture(suite, { admins: 3, threshold: 2 });
const { nodeSet, adminSeeds } = world;
const seed = (i: number): Uint8Array => adminSeeds[i]!;
/** The same nodes and admins under another epoch: another node set. */
const otherNodeSet = adminsFixture(suite, { admins: 3, threshold: 2, epoch: 2 }).nodeSet;

/** The QkmsError code `f` throws, 'no error', or 'not a QkmsError'. */
function thrownCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return isQkmsError(e) ? e.code : 'not a QkmsError';
  }
  return 'no error';
}

/** A suite whose hybrid.verify is a spy around the real one. */
function spiedSuite(): { suite: CryptoSuite; verify: ReturnType<typeof vi.fn> } {
  const verify = vi.fn((signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) =>
    suite.hybrid.verify(signature, message, publicKey),
  );
  return { suite: { ...suite, hybrid: { ...suite.hybrid, verify } }, verify };
}

const sign = (body: RevocationBody, admins: readonly number[]): RevocationRecord =>
  signRevocation(suite, nodeSet, body, admins.map(seed));

/** admin `signer`'s signature over `body`'s id, to place at any position. */
function signatureOf(signerSeed: Uint8Array, body: RevocationBody): Uint8Array {
  return suite.hybrid.sign(revocationSignedMessage(revocationId(suite, body)), signerSeed);
}

/** A copy of `bytes` with byte `at` XORed with `mask`. */
function flipped(bytes: Uint8Array, at: number, mask: number): Uint8Array {
  const out = bytes.slice();
  out[at] = (out[at] ?? 0) ^ mask;
  return out;
}

/** Byte offset of `needle` in `haystack` (the test's own fields are unique in a record). */
function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const at = Buffer.from(haystack).indexOf(Buffer.from(needle));
  if (at < 0) throw new Error('test: needle not found');
  return at;
}

describe('revocation records round-trip', () => {
  it.each(REVOCATION_KINDS)('a %s record decodes to its body, id and exact bytes', (kind) => {
    const body = revocationBody(nodeSet, kind, 7);
    const record = sign(body, [0, 1]);
    const back = decodeRevocation(suite, record.bytes);
    expect(back.body).toEqual(body);
    expect(back.body.before).toBe(kind === 'wallet-sessions-before' ? FIXTURE_TIME - 7 : undefined);
    expect(toHex(back.id)).toBe(toHex(revocationId(suite, body)));
    expect(back.signatures).toEqual(record.signatures);
    expect(toHex(back.bytes)).toBe(toHex(record.bytes));
    // The hand encoder (the spec's layout) gives the library's bytes exactly.
    expect(toHex(encodeRecord(bodyCbor(body), record.signatures))).toBe(toHex(record.bytes));
    expect(toHex(readRevocation(suite, nodeSet, record.bytes).id)).toBe(toHex(record.id));
  });

  it('any valid body signs, decodes and verifies to itself (property)', () => {
    const body = fc
      .record({
        kind: fc.constantFrom(...REVOCATION_KINDS),
        seed: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        before: fc.nat({ max: 2 ** 45 }),
        issuedAt: fc.nat({ max: 2 ** 45 }),
        reason: fc.string({ unit: 'grapheme', maxLength: 60 }),
      })
      .map(({ kind, seed: bytes, before, issuedAt, reason }): RevocationBody => ({
        nodeSetId: nodeSet.id,
        kind,
        target: bytes.slice(0, TARGET_BYTES[kind]),
        ...(kind === 'wallet-sessions-before' ? { before } : {}),
        issuedAt,
        reason,
      }))
      .filter((b) => utf8(b.reason).length <= MAX_REASON_BYTES);
    fc.assert(
      fc.property(body, (b) => {
        const record = sign(b, [2, 0]);
        const back = readRevocation(suite, nodeSet, record.bytes);
        expect(back.body).toEqual(b);
        expect(toHex(back.bytes)).toBe(toHex(record.bytes));
      }),
      { numRuns: 40 },
    );
  });

  it('the id names the statement: whichever admins sign it, the id is the same', () => {
    const body = revocationBody(nodeSet, 'session', 3);
    const records = [sign(body, [0, 1]), sign(body, [1, 2]), sign(body, [0, 1, 2])];
    const ids = new Set(records.map((r) => toHex(r.id)));
    expect(ids.size).toBe(1);
    expect(new Set(records.map((r) => toHex(r.bytes))).size).toBe(3);
    for (const r of records) expect(() => verifyRevocation(suite, nodeSet, r)).not.toThrow();
    // ...and another statement is another id.
    const other = sign({ ...body, reason: `${body.reason}!` }, [0, 1]);
    expect(toHex(other.id)).not.toBe(toHex(records[0]!.id));
  });

  it('a record signed with the native suite is read by the noble suite', () => {
    const record = sign(revocationBody(nodeSet, 'content', 4), [0, 2]);
    const back = readRevocation(nobleSuite, nodeSet, record.bytes);
    expect(toHex(back.id)).toBe(toHex(record.id));
  });
});

describe('signRevocation', () => {
  it('refuses a seed that is not one of the admins with INVALID_ARGUMENT', () => {
    const body = revocationBody(nodeSet, 'wallet');
    expect(thrownCode(() => signRevocation(suite, nodeSet, body, [NON_ADMIN_SEED]))).toBe(
      ErrorCode.INVALID_ARGUMENT,
    );
    expect(thrownCode(() => signRevocation(suite, nodeSet, body, [seed(0), NON_ADMIN_SEED]))).toBe(
      ErrorCode.INVALID_ARGUMENT,
    );
  });

  it('refuses a body naming another node set, or breaking the body rules, with INVALID_ARGUMENT', () => {
    expect(
      thrownCode(() =>
        signRevocation(suite, nodeSet, revocationBody(otherNodeSet, 'wallet'), [seed(0)]),
      ),
    ).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(
      thrownCode(() =>
        signRevocation(suite, nodeSet, revocationBody(nodeSet, 'wallet', 1, { before: 5 }), [
          seed(0),
        ]),
      ),
    ).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('merges signatures into `previous`: two admins signing apart make a record that verifies', () => {
    const body = revocationBody(nodeSet, 'delegation', 5);
    const first = sign(body, [2]);
    expect(thrownCode(() => verifyRevocation(suite, nodeSet, first))).toBe(
      ErrorCode.BAD_REVOCATION,
    );
    const merged = signRevocation(suite, nodeSet, body, [seed(0)], first);
    expect(merged.signatures.map((s) => s.admin)).toEqual([0, 2]);
    // The earlier admin's signature is carried over as it was.
    expect(toHex(merged.signatures[1]!.signature)).toBe(toHex(first.signatures[0]!.signature));
    expect(toHex(merged.id)).toBe(toHex(first.id));
    expect(() => readRevocation(suite, nodeSet, merged.bytes)).not.toThrow();
    // Signing again with an admin already present keeps one signature per admin.
    const again = signRevocation(suite, nodeSet, body, [seed(0), seed(2)], merged);
    expect(again.signatures.map((s) => s.admin)).toEqual([0, 2]);
    expect(() => decodeRevocation(suite, again.bytes)).not.toThrow();
  });

  it('refuses to merge the signatures of another record', () => {
    const a = sign(revocationBody(nodeSet, 'wallet', 1), [0]);
    expect(
      thrownCode(() =>
        signRevocation(suite, nodeSet, revocationBody(nodeSet, 'wallet', 2), [seed(1)], a),
      ),
    ).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('sorts signatures by admin position whatever order the seeds come in', () => {
    const record = sign(revocationBody(nodeSet, 'content', 9), [2, 0, 1]);
    expect(record.signatures.map((s) => s.admin)).toEqual([0, 1, 2]);
    expect(toHex(decodeRevocation(suite, record.bytes).bytes)).toBe(toHex(record.bytes));
  });
});

describe('createRevocationBody', () => {
  it('returns a valid body of each kind unchanged, and a 256-byte reason is allowed', () => {
    for (const kind of REVOCATION_KINDS) {
      const body = revocationBody(nodeSet, kind);
      expect(createRevocationBody(body)).toEqual(body);
    }
    const full = revocationBody(nodeSet, 'wallet', 1, { reason: '€'.repeat(85) + 'x' });
    expect(utf8(full.reason).length).toBe(MAX_REASON_BYTES);
    expect(createRevocationBody(full)).toEqual(full);
  });

  const wallet = revocationBody(nodeSet, 'wallet');
  const wsb = revocationBody(nodeSet, 'wallet-sessions-before');
  it.each([
    ['`before` on a wallet revocation', { ...wallet, before: 1 }],
    ['wallet-sessions-before without `before`', { ...wsb, before: undefined }],
    ['a 19-byte wallet target', { ...wallet, target: new Uint8Array(19) }],
    [
      'a 33-byte content target',
      { ...revocationBody(nodeSet, 'content'), target: new Uint8Array(33) },
    ],
    ['a 31-byte node set id', { ...wallet, nodeSetId: new Uint8Array(31) }],
    ['an unknown kind', { ...wallet, kind: 'device' }],
    ['a reason of 257 bytes', { ...wallet, reason: '€'.repeat(86) }],
    ['a negative issuedAt', { ...wallet, issuedAt: -1 }],
    ['a fractional issuedAt', { ...wallet, issuedAt: 1.5 }],
    ['a negative before', { ...wsb, before: -5 }],
  ])('refuses %s with INVALID_ARGUMENT', (_name, body) => {
    expect(thrownCode(() => createRevocationBody(body as RevocationBody))).toBe(
      ErrorCode.INVALID_ARGUMENT,
    );
  });
});

describe('records refused with BAD_REVOCATION', () => {
  const body = revocationBody(nodeSet, 'wallet', 11);
  const valid = sign(body, [0, 1]);
  const sig = (admin: number): { admin: number; signature: Uint8Array } => ({
    admin,
    signature: signatureOf(seed(admin), body),
  });
  const garbage = (admin: number): { admin: number; signature: Uint8Array } => ({
    admin,
    signature: suite.randomBytes(suite.hybrid.lengths.signature),
  });
  const withBody = (edit: (fields: Record<string, CborValue>) => void): Uint8Array =>
    encodeRecord(bodyCbor(body, edit), [sig(0), sig(1)]);
  const reversedKeys = encode(
    {
      body: bodyCbor(body),
      sigs: [sig(0), sig(1)].map((s) => ({ admin: s.admin, sig: s.signature })),
    },
    {
      ...rfc8949EncodeOptions,
      mapSorter: (a, b) => -(rfc8949EncodeOptions.mapSorter?.(a, b) ?? 0),
    },
  );

  const cases: [string, () => Uint8Array][] = [
    ['unsigned (no signatures)', () => encodeRecord(bodyCbor(body), [])],
    [
      'under-signed (one admin of a threshold of two)',
      () => encodeRecord(bodyCbor(body), [sig(0)]),
    ],
    [
      'forged: random signature bytes',
      () => encodeRecord(bodyCbor(body), [garbage(0), garbage(1)]),
    ],
    [
      'forged: one good signature and one random',
      () => encodeRecord(bodyCbor(body), [sig(0), garbage(1)]),
    ],
    [
      'forged: a non-admin key signed, placed at an admin position',
      () =>
        encodeRecord(bodyCbor(body), [
          sig(0),
          { admin: 1, signature: signatureOf(NON_ADMIN_SEED, body) },
        ]),
    ],
    [
      "one admin voting twice: admin 0's signature also at position 1",
      () => encodeRecord(bodyCbor(body), [sig(0), { admin: 1, signature: sig(0).signature }]),
    ],
    [
      'signatures over another record',
      () => {
        const other = revocationBody(nodeSet, 'wallet', 12);
        return encodeRecord(bodyCbor(body), [
          { admin: 0, signature: signatureOf(seed(0), other) },
          { admin: 1, signature: signatureOf(seed(1), other) },
        ]);
      },
    ],
    [
      'a valid signature at a position past the admin list',
      () => encodeRecord(bodyCbor(body), [sig(0), { admin: 5, signature: sig(1).signature }]),
    ],
    [
      'a tampered reason (still valid text)',
      () => flipped(valid.bytes, indexOf(valid.bytes, utf8(body.reason)), 0x01),
    ],
    [
      'a tampered reason (no longer UTF-8)',
      () => flipped(valid.bytes, indexOf(valid.bytes, utf8(body.reason)), 0x80),
    ],
    ['a tampered target', () => flipped(valid.bytes, indexOf(valid.bytes, body.target) + 5, 0x40)],
    ['a tampered signature', () => flipped(valid.bytes, valid.bytes.length - 100, 0x01)],
    ['duplicate admin positions', () => encodeRecord(bodyCbor(body), [sig(0), sig(0)])],
    ['unsorted admin positions', () => encodeRecord(bodyCbor(body), [sig(1), sig(0)])],
    ['non-canonical: map keys out of order', () => reversedKeys],
    ['non-canonical: a trailing byte', () => Uint8Array.of(...valid.bytes, 0x00)],
    ['`before` on a wallet revocation', () => withBody((f) => (f['before'] = 1))],
    [
      'wallet-sessions-before without `before`',
      () => {
        const wsb = revocationBody(nodeSet, 'wallet-sessions-before', 13);
        return encodeRecord(
          bodyCbor(wsb, (f) => delete f['before']),
          [0, 1].map((a) => ({ admin: a, signature: signatureOf(seed(a), wsb) })),
        );
      },
    ],
    ['a 19-byte wallet target', () => withBody((f) => (f['target'] = new Uint8Array(19)))],
    [
      'a 33-byte content target',
      () => withBody((f) => ((f['kind'] = 'content'), (f['target'] = new Uint8Array(33)))),
    ],
    ['an unknown kind', () => withBody((f) => (f['kind'] = 'device'))],
    ['an unknown body field', () => withBody((f) => (f['note'] = 'x'))],
    ['an unknown version', () => withBody((f) => (f['v'] = 2))],
    ['a 257-byte reason', () => withBody((f) => (f['reason'] = 'x'.repeat(257)))],
    [
      'a signature of the wrong length',
      () => encodeRecord(bodyCbor(body), [sig(0), { admin: 1, signature: new Uint8Array(64) }]),
    ],
    [
      'an admin position of 16 (past any node set)',
      () => encodeRecord(bodyCbor(body), [sig(0), { ...sig(1), admin: 16 }]),
    ],
    [
      'seventeen signatures',
      () =>
        encodeRecord(
          bodyCbor(body),
          Array.from({ length: 17 }, (_, i) => ({ admin: i, signature: sig(0).signature })),
        ),
    ],
    [
      'an over-size record',
      () =>
        encodeRecord(bodyCbor(body), [
          { admin: 0, signature: new Uint8Array(MAX_REVOCATION_BYTES) },
        ]),
    ],
    [
      'an extra record field',
      () =>
        encodeCanonical({
          body: bodyCbor(body),
          sigs: [sig(0), sig(1)].map((s) => ({ admin: s.admin, sig: s.signature })),
          note: 'x',
        }),
    ],
    ['empty bytes', () => new Uint8Array(0)],
    ['not CBOR', () => Uint8Array.of(0xff, 0x00, 0x01)],
  ];

  it.each(cases)('%s', (_name, make) => {
    expect(thrownCode(() => readRevocation(suite, nodeSet, make()))).toBe(ErrorCode.BAD_REVOCATION);
  });

  it('the hand-built reference record is valid (the cases above differ from it in one thing)', () => {
    expect(() =>
      readRevocation(suite, nodeSet, encodeRecord(bodyCbor(body), [sig(0), sig(1)])),
    ).not.toThrow();
  });

  it('a tampered reason that still decodes names another statement: its id changes, so no signature fits', () => {
    const bytes = flipped(valid.bytes, indexOf(valid.bytes, utf8(body.reason)), 0x01);
    const decoded = decodeRevocation(suite, bytes);
    expect(toHex(decoded.id)).not.toBe(toHex(valid.id));
    expect(thrownCode(() => verifyRevocation(suite, nodeSet, decoded))).toBe(
      ErrorCode.BAD_REVOCATION,
    );
  });

  it('the out-of-order encoding holds the same values as a valid record', () => {
    expect(toHex(reversedKeys)).not.toBe(toHex(valid.bytes));
    expect(reversedKeys.length).toBe(valid.bytes.length);
  });

  it('a record for another node set, validly signed by the same admin keys', () => {
    const foreign = signRevocation(suite, otherNodeSet, revocationBody(otherNodeSet, 'wallet'), [
      seed(0),
      seed(1),
    ]);
    expect(() => readRevocation(suite, otherNodeSet, foreign.bytes)).not.toThrow();
    expect(thrownCode(() => readRevocation(suite, nodeSet, foreign.bytes))).toBe(
      ErrorCode.BAD_REVOCATION,
    );
  });

  it('no single-byte change of a record yields one that is taken (property)', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bytes = flipped(valid.bytes, at % valid.bytes.length, x);
        expect(thrownCode(() => readRevocation(suite, nodeSet, bytes))).toBe(
          ErrorCode.BAD_REVOCATION,
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('verifyRevocation does cheap checks first and stops early', () => {
  const body = revocationBody(nodeSet, 'session', 21);
  const good = (admin: number): { admin: number; signature: Uint8Array } => ({
    admin,
    signature: signatureOf(seed(admin), body),
  });
  const junk = (admin: number): { admin: number; signature: Uint8Array } => ({
    admin,
    signature: suite.randomBytes(suite.hybrid.lengths.signature),
  });

  it('threshold-many valid signatures suffice: later garbage is never checked', () => {
    const spied = spiedSuite();
    const record = decodeRevocation(
      suite,
      encodeRecord(bodyCbor(body), [good(0), good(1), junk(2)]),
    );
    expect(() => verifyRevocation(spied.suite, nodeSet, record)).not.toThrow();
    expect(spied.verify).toHaveBeenCalledTimes(2);
  });

  it('stops as soon as the threshold can no longer be met', () => {
    const spied = spiedSuite();
    const record = decodeRevocation(
      suite,
      encodeRecord(bodyCbor(body), [junk(0), junk(1), good(2)]),
    );
    expect(thrownCode(() => verifyRevocation(spied.suite, nodeSet, record))).toBe(
      ErrorCode.BAD_REVOCATION,
    );
    expect(spied.verify).toHaveBeenCalledTimes(2);
  });

  it('verifies no signature of an under-signed record or one naming another node set', () => {
    const spied = spiedSuite();
    const under = decodeRevocation(suite, encodeRecord(bodyCbor(body), [good(0)]));
    expect(thrownCode(() => verifyRevocation(spied.suite, nodeSet, under))).toBe(
      ErrorCode.BAD_REVOCATION,
    );
    const full = decodeRevocation(suite, encodeRecord(bodyCbor(body), [good(0), good(1)]));
    expect(thrownCode(() => verifyRevocation(spied.suite, otherNodeSet, full))).toBe(
      ErrorCode.BAD_REVOCATION,
    );
    expect(spied.verify).not.toHaveBeenCalled();
  });
});
