// The cutover record (decision 0017): only k of m of the old set's admins can
// move a quorum, and only to the successor the record names.
import { describe, expect, it } from 'vitest';
import { encodeCanonical } from '../codec/cbor.ts';
import { ErrorCode } from '../errors.ts';
import { fx, native as suite, seed } from '../../test/support/node-set-fixture.ts';
import {
  decodeCutoverRecord,
  encodeCutoverRecord,
  signCutover,
  verifyCutover,
  type CutoverBody,
} from './cutover.ts';

const admins = fx.input.admins; // 2 of 2
const adminSeeds = [seed(80, 64), seed(81, 64)];
const body: CutoverBody = { from: seed(1), to: seed(2), at: 1_700_000_000_000 };
const handover = { from: body.from, to: body.to, admins };

function expectDenied(run: () => unknown, message: RegExp): void {
  expect(run).toThrow(
    expect.objectContaining({
      code: ErrorCode.RESHARE_DENIED,
      message: expect.stringMatching(message),
    }),
  );
}

describe('cutover record', () => {
  it('signed by k of m admins, it round-trips and verifies for the handover it names', () => {
    const record = signCutover(suite, admins, body, adminSeeds);
    const decoded = decodeCutoverRecord(suite, encodeCutoverRecord(record));
    expect(decoded).toEqual(record);
    expect(() => {
      verifyCutover(suite, decoded, handover);
    }).not.toThrow();
  });

  it('two admins signing in turn make one record; one admin alone is refused', () => {
    const one = signCutover(suite, admins, body, [adminSeeds[0] ?? seed(0)]);
    expectDenied(() => {
      verifyCutover(suite, one, handover);
    }, /1 valid admin signatures of the old set; 2 needed/);
    const both = signCutover(suite, admins, body, [adminSeeds[1] ?? seed(0)], one);
    expect(both.signatures.map((s) => s.admin)).toEqual([0, 1]);
    expect(() => {
      verifyCutover(suite, both, handover);
    }).not.toThrow();
  });

  it('is refused for another handover, with a forged signature, or with an outsider key', () => {
    const record = signCutover(suite, admins, body, adminSeeds);
    expectDenied(() => {
      verifyCutover(suite, record, { ...handover, to: seed(3) });
    }, /another handover/);
    const forged = {
      ...record,
      signatures: record.signatures.map((s, i) =>
        i === 0 ? { ...s, signature: s.signature.map((b, j) => (j === 0 ? b ^ 1 : b)) } : s,
      ),
    };
    expectDenied(() => {
      verifyCutover(suite, forged, handover);
    }, /1 valid admin signatures/);
    expect(() => signCutover(suite, admins, body, [seed(0xee, 64)])).toThrow(
      /not one of the old node set's admins/,
    );
  });

  it('decoding is strict: unsorted or repeated admins, unknown fields, another version', () => {
    const record = signCutover(suite, admins, body, adminSeeds);
    const sigs = record.signatures.map((s) => ({ admin: s.admin, sig: s.signature }));
    const bodyCbor = { v: 1, from: body.from, to: body.to, at: body.at };
    expectDenied(
      () =>
        decodeCutoverRecord(suite, encodeCanonical({ body: bodyCbor, sigs: [...sigs].reverse() })),
      /sorted, each admin once/,
    );
    expectDenied(
      () =>
        decodeCutoverRecord(suite, encodeCanonical({ body: bodyCbor, sigs: [sigs[0]!, sigs[0]!] })),
      /sorted, each admin once/,
    );
    expectDenied(
      () => decodeCutoverRecord(suite, encodeCanonical({ body: { ...bodyCbor, x: 1 }, sigs })),
      /cutover record/,
    );
    expectDenied(
      () => decodeCutoverRecord(suite, encodeCanonical({ body: { ...bodyCbor, v: 2 }, sigs })),
      /cutover record/,
    );
    expectDenied(
      () => decodeCutoverRecord(suite, encodeCanonical({ body: bodyCbor, sigs: [] })),
      /cutover record/,
    );
  });
});
