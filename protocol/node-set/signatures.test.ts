// k-of-m admin signatures: every signature present must verify, enough
// distinct admins must sign, signNodeSet signs only with the listed key, and
// native and noble sign and verify each other's.
import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { ErrorCode } from '../errors.ts';
import {
  createNodeSetDocument,
  nodeSetId,
  parseSignedNodeSet,
  parseSignedNodeSetJson,
  serializeSignedNodeSet,
  signNodeSet,
} from './index.ts';
import { nobleSuite } from '../suite/index.ts';
import {
  DOC,
  ID,
  OUTSIDER,
  SIGS,
  edit,
  expectInvalid,
  fixture,
  flipHex,
  fx,
  native,
  rawSignature,
} from '../../test/support/node-set-fixture.ts';

describe('signature refusals', () => {
  const file = (signatures: unknown, document: unknown = DOC): unknown => ({
    document,
    signatures,
  });
  const table: readonly (readonly [string, () => unknown, string])[] = [
    ['no signatures (k = 2)', () => file([]), 'signatures'],
    ['too few valid signatures (1 of k = 2)', () => file([SIGS[0]]), 'signatures'],
    [
      'a signature by a key not listed',
      () => file([SIGS[0], { admin: 1, signature: rawSignature(native, ID, OUTSIDER.secretKey) }]),
      'signatures[1].signature',
    ],
    [
      'a signature whose Ed25519 half is tampered',
      () => file([{ ...SIGS[0]!, signature: flipHex(SIGS[0]!.signature, 4) }, SIGS[1]]),
      'signatures[0].signature',
    ],
    [
      'a signature whose ML-DSA half is tampered',
      () => file([SIGS[0], { ...SIGS[1]!, signature: flipHex(SIGS[1]!.signature, 1000) }]),
      'signatures[1].signature',
    ],
    [
      'a signature credited to the other admin',
      () => file([SIGS[0], { admin: 1, signature: SIGS[0]!.signature }]),
      'signatures[1].signature',
    ],
    ['the same admin counted twice', () => file([SIGS[0], SIGS[0]]), 'signatures[1].admin'],
    [
      'the document changed after signing',
      () =>
        file(
          SIGS,
          edit((d) => (d.nodes[1]!.multiaddrs[0] = '/ip4/10.9.9.9/tcp/1')),
        ),
      'signatures[0].signature',
    ],
    [
      'a signature over another document id',
      () =>
        file([
          SIGS[0],
          { admin: 1, signature: rawSignature(native, new Uint8Array(32), fx.adminSecrets[1]!) },
        ]),
      'signatures[1].signature',
    ],
    [
      'an admin position out of range',
      () => file([SIGS[0], { ...SIGS[1]!, admin: 2 }]),
      'signatures[1].admin',
    ],
    [
      'a negative admin position',
      () => file([{ ...SIGS[0]!, admin: -1 }, SIGS[1]]),
      'signatures[0].admin',
    ],
    [
      'a short signature',
      () => file([{ ...SIGS[0]!, signature: SIGS[0]!.signature.slice(2) }, SIGS[1]]),
      'signatures[0].signature',
    ],
    [
      'an upper-case signature',
      () => file([{ ...SIGS[0]!, signature: SIGS[0]!.signature.toUpperCase() }, SIGS[1]]),
      'signatures[0].signature',
    ],
    [
      'an unknown key in a signature',
      () => file([{ ...SIGS[0]!, note: 'x' }, SIGS[1]]),
      'signatures[0]',
    ],
    ['17 signatures', () => file(Array.from({ length: 17 }, () => SIGS[0])), 'signatures'],
    ['signatures that are not an array', () => file({ 0: SIGS[0] }), 'signatures'],
    [
      'an unknown top-level key in the file',
      () => ({ document: DOC, signatures: SIGS, comment: 'x' }),
      'nodeSet',
    ],
    ['a file without signatures', () => ({ document: DOC }), 'nodeSet.signatures'],
    ['a file without a document', () => ({ signatures: SIGS }), 'nodeSet.document'],
  ];

  for (const [name, build, field] of table) {
    it(`refuses ${name} (${field})`, () => {
      expectInvalid(() => parseSignedNodeSet(native, build()), field);
    });
  }

  it('the outsider signature and the tampered ones are well formed: only verification refuses them', () => {
    const outsider = rawSignature(native, ID, OUTSIDER.secretKey);
    expect(outsider).toHaveLength(SIGS[0]!.signature.length);
    expect(serializeSignedNodeSet(DOC, [SIGS[0]!, { admin: 1, signature: outsider }])).toContain(
      outsider,
    );
  });
});

describe('signNodeSet refusals', () => {
  it('signNodeSet refuses a secret key that is not the listed admin’s, or a position out of range', () => {
    const wrongKey = () => signNodeSet(native, DOC, { index: 0, secretKey: fx.adminSecrets[1]! });
    expect(wrongKey).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(wrongKey).toThrow(/admin\.secretKey: expected the secret key of admins\.keys\[0\]/);
    expect(() => signNodeSet(native, DOC, { index: 0, secretKey: OUTSIDER.secretKey })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
    expect(() => signNodeSet(native, DOC, { index: 2, secretKey: fx.adminSecrets[0]! })).toThrow(
      expect.objectContaining({
        code: ErrorCode.INVALID_ARGUMENT,
        message: expect.stringMatching(/^admin\.index/),
      }),
    );
    expect(() => signNodeSet(native, DOC, { index: 0, secretKey: new Uint8Array(32) })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_LENGTH }),
    );
    const extraKey = { index: 0, secretKey: fx.adminSecrets[0]!, extra: true };
    expect(() => signNodeSet(native, DOC, extraKey)).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
    expectInvalid(
      () =>
        signNodeSet(
          native,
          edit((d) => (d.epoch = 0)),
          { index: 0, secretKey: fx.adminSecrets[0]! },
        ),
      'document.epoch',
    );
  });
});

describe('native and noble crossed', () => {
  const pairs = [
    [native, nobleSuite],
    [nobleSuite, native],
  ] as const;
  for (const [signer, verifier] of pairs) {
    it(`${signer.name} creates and signs, ${verifier.name} verifies; tampering fails on ${verifier.name}`, () => {
      const f = fixture(signer, 4, 3, 2, 100);
      const doc = createNodeSetDocument(f.input);
      const signatures = [2, 0].map((index) =>
        signNodeSet(signer, doc, { index, secretKey: f.adminSecrets[index]! }),
      );
      const set = parseSignedNodeSetJson(verifier, serializeSignedNodeSet(doc, signatures));
      expect(set.signers).toEqual([0, 2]);
      expect(toHex(set.id)).toBe(toHex(nodeSetId(signer, doc)));
      const tampered = [
        signatures[0]!,
        { ...signatures[1]!, signature: flipHex(signatures[1]!.signature, 200) },
      ];
      expectInvalid(
        () => parseSignedNodeSet(verifier, { document: doc, signatures: tampered }),
        'signatures[1].signature',
      );
    });
  }
});
