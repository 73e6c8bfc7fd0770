// Long file: every chain rule is tested on one 3-set chain, signed once here (hybrid signing is slow).
// Epochs: a 3-set chain (1 → 2 → 3) with other admins in every set verifies
// from each pinned point; each way to break it is refused naming the
// successor and the epoch after which it breaks; the epoch rule holds at
// parse; predecessor signatures are made by signNodeSet; a document without a
// predecessor keeps its id, the published vector's included.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { decodeCanonical } from '../codec/cbor.ts';
import { ErrorCode, QkmsError } from '../errors.ts';
import { nobleSuite } from '../suite/index.ts';
import {
  MAX_CHAIN_LENGTH,
  createNodeSetDocument,
  nodeSetCanonicalBytes,
  nodeSetId,
  nodeSetLineage,
  parseSignedNodeSet,
  parseSignedNodeSetJson,
  serializeSignedNodeSet,
  signNodeSet,
  verifyNodeSetChain,
  type NodeSet,
  type NodeSetDocumentJson,
  type SignedNodeSetJson,
} from './index.ts';
import {
  DOC,
  ID,
  SIGS,
  clone,
  expectInvalid,
  fixture,
  native,
  rawSignature,
  type Fixture,
} from '../../test/support/node-set-fixture.ts';

// Three quorums with their own nodes and admins: 2 of 2, then 2 of 3, then 1 of 2.
const F1 = fixture(native, 4, 2, 2, 0);
const F2 = fixture(native, 4, 3, 2, 100);
const F3 = fixture(native, 5, 2, 1, 150);

interface Link {
  readonly fx: Fixture;
  readonly set: NodeSet;
}

/** The document of `f`'s set at `epoch` after `previous`. */
function documentOf(f: Fixture, epoch: number, previous?: NodeSet): NodeSetDocumentJson {
  return createNodeSetDocument({
    ...f.input,
    epoch,
    ...(previous === undefined ? {} : { predecessor: previous.id }),
  });
}

/** A signed file: `own` of f's admins sign, and `theirs` of the previous set's (signNodeSet). */
function signedFile(
  f: Fixture,
  epoch: number,
  previous: Link | undefined,
  own: readonly number[],
  theirs: readonly number[] = [],
): SignedNodeSetJson {
  const doc = documentOf(f, epoch, previous?.set);
  const ownSigs = own.map((index) =>
    signNodeSet(native, doc, { index, secretKey: f.adminSecrets[index]! }),
  );
  const predecessorSigs =
    previous === undefined
      ? undefined
      : theirs.map((index) =>
          signNodeSet(
            native,
            doc,
            { index, secretKey: previous.fx.adminSecrets[index]! },
            { predecessor: previous.set },
          ),
        );
  return JSON.parse(serializeSignedNodeSet(doc, ownSigs, predecessorSigs)) as SignedNodeSetJson;
}

/** A file from any document and raw signatures: for links signNodeSet refuses to sign. */
function rawFile(
  document: NodeSetDocumentJson,
  own: readonly { index: number; key: Uint8Array }[],
  theirs: readonly { index: number; key: Uint8Array }[],
): SignedNodeSetJson {
  const id = nodeSetId(native, document);
  const sign = ({ index, key }: { index: number; key: Uint8Array }) => ({
    admin: index,
    signature: rawSignature(native, id, key),
  });
  return { document, signatures: own.map(sign), predecessorSignatures: theirs.map(sign) };
}
/** A copy of `value` without `key`. */
function without<T extends object>(value: T, key: keyof T): Partial<T> {
  const copy: Partial<T> = { ...value };
  Reflect.deleteProperty(copy, key);
  return copy;
}
const keysOf = (f: Fixture, indexes: readonly number[]) =>
  indexes.map((index) => ({ index, key: f.adminSecrets[index]! }));

const FILE1 = signedFile(F1, 1, undefined, [0, 1]);
const SET1 = parseSignedNodeSet(native, FILE1);
const L1: Link = { fx: F1, set: SET1 };
const FILE2 = signedFile(F2, 2, L1, [0, 2], [0, 1]);
const SET2 = parseSignedNodeSet(native, FILE2);
const L2: Link = { fx: F2, set: SET2 };
const FILE3 = signedFile(F3, 3, L2, [1], [1, 2]);
const SET3 = parseSignedNodeSet(native, FILE3);

/** INVALID_NODE_SET naming `field`, and the epoch after which the chain breaks. */
function expectBreak(run: () => unknown, field: string, afterEpoch: number): void {
  expectInvalid(run, field);
  expect(run).toThrow(`(the chain breaks after epoch ${afterEpoch})`);
}

describe('a chain of three sets', () => {
  it('verifies from each pinned point to the current set, and gives its lineage oldest first', () => {
    const ids = [SET1, SET2, SET3].map((s) => toHex(s.id));
    expect(new Set(ids).size).toBe(3);
    expect(toHex(verifyNodeSetChain(native, SET1, [FILE2, FILE3]).id)).toBe(ids[2]);
    expect(toHex(verifyNodeSetChain(native, SET2, [FILE3]).id)).toBe(ids[2]);
    expect(verifyNodeSetChain(native, SET3, [])).toBe(SET3);
    const current = verifyNodeSetChain(native, SET1, [FILE2, FILE3]);
    expect(current.epoch).toBe(3);
    expect(current.signers).toEqual([1]);
    expect(nodeSetLineage(native, SET1, [FILE2, FILE3]).map((id) => toHex(id))).toEqual(ids);
    expect(nodeSetLineage(native, SET2, [FILE3]).map((id) => toHex(id))).toEqual(ids.slice(1));
    expect(nodeSetLineage(native, SET3, []).map((id) => toHex(id))).toEqual(ids.slice(2));
  });

  it('verifies on noble what native signed', () => {
    const pinned = parseSignedNodeSet(nobleSuite, FILE1);
    expect(toHex(verifyNodeSetChain(nobleSuite, pinned, [FILE2, FILE3]).id)).toBe(toHex(SET3.id));
  });

  it('a standalone parse of a successor checks its own admins and exposes epoch and predecessor', () => {
    expect(SET2.epoch).toBe(2);
    expect(toHex(SET2.predecessor!)).toBe(toHex(SET1.id));
    expect(SET2.signers).toEqual([0, 2]);
    expect(SET1.predecessor).toBeUndefined();
    expect('predecessor' in SET1).toBe(false);
    // Predecessor signatures are only shape-checked here: none at all parses standalone.
    const unverified = { ...FILE2, predecessorSignatures: [] };
    expect(toHex(parseSignedNodeSet(native, unverified).id)).toBe(toHex(SET2.id));
    expectInvalid(
      () => parseSignedNodeSet(native, { ...FILE2, signatures: FILE2.signatures.slice(1) }),
      'signatures',
    );
  });

  it('the successor file: predecessor as hex in the document, predecessorSignatures beside signatures', () => {
    expect(Object.keys(FILE2)).toEqual(['document', 'signatures', 'predecessorSignatures']);
    expect(Object.keys(FILE2.document).slice(0, 4)).toEqual([
      'qkmsNodeSet',
      'epoch',
      'predecessor',
      'threshold',
    ]);
    expect(FILE2.document.predecessor).toBe(toHex(SET1.id));
    expect(FILE2.predecessorSignatures!.map((s) => s.admin)).toEqual([0, 1]);
    expect(Object.keys(FILE1)).toEqual(['document', 'signatures']);
    const text = serializeSignedNodeSet(
      FILE2.document,
      FILE2.signatures,
      FILE2.predecessorSignatures,
    );
    expect(toHex(parseSignedNodeSetJson(native, text).id)).toBe(toHex(SET2.id));
    expect(JSON.parse(text)).toEqual(FILE2);
  });

  it('the canonical form holds the predecessor as a 32-byte string', () => {
    const cbor = decodeCanonical(nodeSetCanonicalBytes(FILE2.document), 1 << 20) as {
      predecessor: Uint8Array;
    };
    expect(cbor.predecessor).toEqual(SET1.id);
  });
});

describe('chain breaks: INVALID_NODE_SET naming the successor and the epoch', () => {
  const wrongPredecessor = rawFile(
    createNodeSetDocument({ ...F2.input, epoch: 2, predecessor: ID }),
    keysOf(F2, [0, 1]),
    keysOf(F1, [0, 1]),
  );

  it('refuses a successor naming another predecessor', () => {
    expectBreak(
      () => verifyNodeSetChain(native, SET1, [wrongPredecessor]),
      'successors[0].document.predecessor',
      1,
    );
  });

  it('refuses a skipped epoch and a repeated one', () => {
    const skipped = rawFile(documentOf(F2, 3, SET1), keysOf(F2, [0, 1]), keysOf(F1, [0, 1]));
    expectBreak(
      () => verifyNodeSetChain(native, SET1, [skipped]),
      'successors[0].document.epoch',
      1,
    );
    expect(() => verifyNodeSetChain(native, SET1, [skipped])).toThrow(/expected 2, .* got 3/);
    const repeated = rawFile(documentOf(F3, 2, SET2), keysOf(F3, [0]), keysOf(F2, [0, 1]));
    expectBreak(
      () => verifyNodeSetChain(native, SET2, [repeated]),
      'successors[0].document.epoch',
      2,
    );
    expectBreak(
      () => verifyNodeSetChain(native, SET1, [FILE2, repeated]),
      'successors[1].document.epoch',
      2,
    );
  });

  it('refuses a successor signed by its own admins only, not by its predecessor’s', () => {
    const ownOnly = rawFile(documentOf(F2, 2, SET1), keysOf(F2, [0, 1]), keysOf(F2, [0, 1]));
    expectBreak(
      () => verifyNodeSetChain(native, SET1, [ownOnly]),
      'successors[0].predecessorSignatures[0].signature',
      1,
    );
    expect(() => verifyNodeSetChain(native, SET1, [ownOnly])).toThrow(
      "a valid signature by epoch 1's admins.keys[0]",
    );
    // F2 has 3 admins, F1 has 2: position 2 names no admin of epoch 1.
    const outOfRange = rawFile(documentOf(F2, 2, SET1), keysOf(F2, [0, 1]), keysOf(F2, [2]));
    expectBreak(
      () => verifyNodeSetChain(native, SET1, [outOfRange]),
      'successors[0].predecessorSignatures[0].admin',
      1,
    );
    expect(() =>
      verifyNodeSetChain(native, SET1, [{ ...FILE2, predecessorSignatures: [] }]),
    ).toThrow(
      "successors[0].predecessorSignatures: expected at least 2 signatures by epoch 1's admins, got 0",
    );
  });

  it('refuses too few predecessor signatures (1 of k = 2), and too few of its own', () => {
    const one = signedFile(F2, 2, L1, [0, 1], [1]);
    expectBreak(
      () => verifyNodeSetChain(native, SET1, [one]),
      'successors[0].predecessorSignatures',
      1,
    );
    expect(() => verifyNodeSetChain(native, SET1, [one])).toThrow('got 1');
    const ownOne = signedFile(F2, 2, L1, [2], [0, 1]);
    expectBreak(() => verifyNodeSetChain(native, SET1, [ownOne]), 'successors[0].signatures', 1);
  });

  it('refuses a field changed after signing', () => {
    const tampered = clone(FILE3);
    tampered.document.params.maxGrantAgeMs += 1;
    expectBreak(
      () => verifyNodeSetChain(native, SET1, [FILE2, tampered]),
      'successors[1].predecessorSignatures[0].signature',
      2,
    );
    const retargeted = clone(FILE3);
    retargeted.document.threshold = 4;
    expectInvalid(() => parseSignedNodeSet(native, retargeted), 'signatures[0].signature');
  });

  it('refuses a fork: two sets naming the same predecessor', () => {
    const sibling = signedFile(F3, 2, L1, [0], [0, 1]);
    expect(toHex(verifyNodeSetChain(native, SET1, [sibling]).id)).not.toBe(toHex(SET2.id));
    expectInvalid(
      () => verifyNodeSetChain(native, SET1, [FILE2, sibling]),
      'successors[1].document.predecessor',
    );
    expect(() => verifyNodeSetChain(native, SET1, [FILE2, sibling])).toThrow(
      'successors[0] names it too: a fork',
    );
  });

  it('refuses a cycle: the pinned set or an earlier successor again', () => {
    const cycle = (successors: readonly unknown[]) => () =>
      verifyNodeSetChain(native, SET2, successors);
    expectInvalid(cycle([FILE3, FILE2]), 'successors[1]');
    expect(cycle([FILE3, FILE2])).toThrow('it is the pinned set again: a cycle');
    expect(cycle([FILE3, FILE3])).toThrow('it is successors[0] again: a cycle');
  });

  it(`refuses more than MAX_CHAIN_LENGTH (${MAX_CHAIN_LENGTH}) successors before reading any`, () => {
    const tooMany = Array.from({ length: MAX_CHAIN_LENGTH + 1 }, () => null);
    expectInvalid(() => verifyNodeSetChain(native, SET1, tooMany), 'successors');
    expect(() => verifyNodeSetChain(native, SET1, tooMany)).toThrow('got 65');
    expectInvalid(() => nodeSetLineage(native, SET1, tooMany), 'successors');
  });

  it('refuses input that is not an array of signed files, naming the file', () => {
    expectInvalid(
      () => verifyNodeSetChain(native, SET1, 'x' as unknown as unknown[]),
      'successors',
    );
    expectInvalid(() => verifyNodeSetChain(native, SET1, [FILE2, null]), 'successors[1]');
    const bare = without(FILE2, 'predecessorSignatures');
    expectInvalid(
      () => verifyNodeSetChain(native, SET1, [bare]),
      'successors[0].predecessorSignatures',
    );
  });

  it('every break is a QkmsError with code INVALID_NODE_SET', () => {
    try {
      verifyNodeSetChain(native, SET1, [wrongPredecessor]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(QkmsError);
      expect((e as QkmsError).code).toBe(ErrorCode.INVALID_NODE_SET);
    }
  });
});

describe('the epoch rule and the file keys at parse', () => {
  it('refuses epoch 1 with a predecessor and epoch 2 without one', () => {
    const genesisWithPredecessor = {
      ...FILE1,
      document: { ...FILE1.document, predecessor: toHex(ID) },
    };
    expectInvalid(() => parseSignedNodeSet(native, genesisWithPredecessor), 'document.predecessor');
    const orphan = without(FILE2.document, 'predecessor');
    expectInvalid(
      () => parseSignedNodeSet(native, { ...FILE2, document: orphan }),
      'document.predecessor',
    );
  });

  it('refuses predecessorSignatures on a first set, and a successor without them', () => {
    expectInvalid(
      () => parseSignedNodeSet(native, { ...FILE1, predecessorSignatures: [] }),
      'nodeSet',
    );
    const bare = without(FILE2, 'predecessorSignatures');
    expectInvalid(() => parseSignedNodeSet(native, bare), 'nodeSet.predecessorSignatures');
    expectInvalid(
      () => serializeSignedNodeSet(FILE1.document, FILE1.signatures, []),
      'predecessorSignatures',
    );
    const twice = [FILE2.predecessorSignatures![0]!, FILE2.predecessorSignatures![0]!];
    expectInvalid(
      () => parseSignedNodeSet(native, { ...FILE2, predecessorSignatures: twice }),
      'predecessorSignatures[1].admin',
    );
  });

  it('serialize writes predecessorSignatures: [] for a successor while they are collected', () => {
    const text = serializeSignedNodeSet(FILE2.document, FILE2.signatures);
    expect((JSON.parse(text) as SignedNodeSetJson).predecessorSignatures).toEqual([]);
  });
});

describe('signNodeSet for a predecessor’s admin', () => {
  const doc2 = FILE2.document;
  const sign =
    (secretKey: Uint8Array, predecessor: unknown, index = 0) =>
    () =>
      signNodeSet(native, doc2, { index, secretKey }, { predecessor } as { predecessor: NodeSet });

  it('signs with a key of the predecessor’s admins, at its position there', () => {
    const sig = sign(F1.adminSecrets[1]!, SET1, 1)();
    expect(sig.admin).toBe(1);
    const first = FILE2.predecessorSignatures!.find((s) => s.admin === 0)!;
    const file = { ...FILE2, predecessorSignatures: [sig, first] };
    expect(toHex(verifyNodeSetChain(native, SET1, [file]).id)).toBe(toHex(SET2.id));
  });

  it('refuses a key of the new set’s admins, a set the document does not name, and bad options', () => {
    const invalidArgument = expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT });
    expect(sign(F2.adminSecrets[0]!, SET1)).toThrow(invalidArgument);
    expect(sign(F2.adminSecrets[0]!, SET1)).toThrow(
      "admin.secretKey: expected the secret key of the predecessor's admins.keys[0]",
    );
    expect(sign(F1.adminSecrets[0]!, SET1, 2)).toThrow(/^admin\.index/);
    expect(sign(F1.adminSecrets[0]!, SET2)).toThrow(invalidArgument);
    expect(sign(F1.adminSecrets[0]!, SET2)).toThrow(/^options\.predecessor/);
    expect(() =>
      signNodeSet(
        native,
        FILE1.document,
        { index: 0, secretKey: F1.adminSecrets[0]! },
        {
          predecessor: SET1,
        },
      ),
    ).toThrow(invalidArgument);
    expect(() =>
      signNodeSet(native, doc2, { index: 0, secretKey: F1.adminSecrets[0]! }, {
        predecessor: SET1,
        extra: 1,
      } as { predecessor: NodeSet }),
    ).toThrow(invalidArgument);
  });
});

describe('documents without a predecessor keep their ids', () => {
  it('the fixture document keeps its pinned id, and its signatures still verify', () => {
    expect(toHex(ID)).toBe('d3ce719df19d8ff16666978a41ff5487710c72b73303b54edbb9d66eff7b4919');
    expect(toHex(parseSignedNodeSet(native, { document: DOC, signatures: SIGS }).id)).toBe(
      toHex(ID),
    );
  });

  it('the published vector (test/vectors/protocol/vectors.json) keeps its canonical bytes and id', () => {
    const vectors = JSON.parse(
      readFileSync(new URL('../../test/vectors/protocol/vectors.json', import.meta.url), 'utf8'),
    ) as { nodeSet: { file: string; canonicalDocument: string; nodeSetId: string } };
    const { file, canonicalDocument, nodeSetId: id } = vectors.nodeSet;
    const document = (JSON.parse(file) as SignedNodeSetJson).document;
    expect(document.predecessor).toBeUndefined();
    expect(toHex(nodeSetCanonicalBytes(document))).toBe(canonicalDocument);
    expect(toHex(nodeSetId(native, document))).toBe(id);
    expect(toHex(parseSignedNodeSetJson(native, file).id)).toBe(id);
  });
});

describe('verifyNodeSetChain arguments', () => {
  it('refuses a pinned value that is not a node set (INVALID_ARGUMENT / INVALID_LENGTH)', () => {
    for (const pinned of [undefined, {}, { id: 'x' }, { id: new Uint8Array(31) }]) {
      expect(() => verifyNodeSetChain(native, pinned as unknown as NodeSet, [])).toThrow(QkmsError);
    }
  });
});
