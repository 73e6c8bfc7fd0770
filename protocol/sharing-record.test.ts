// A sharing record is trusted only as far as the threshold: t distinct nodes of
// the set it names signed exactly these commitments, and the commitment to
// the secret is the publisher's.
import { describe, expect, it } from 'vitest';
import { quorumFixture } from '../test/support/protocol-fixture.ts';
import { decodeCanonical, encodeCanonical } from './codec/cbor.ts';
import { ErrorCode, isQkmsError } from './errors.ts';
import {
  attestSharing,
  sharingRecordFromCbor,
  sharingRecordToCbor,
  verifySharingRecord,
  withAttestations,
  type SharingRecord,
  type SharingRecordBody,
} from './sharing-record.ts';
import { requireNativeSuite } from './suite/native.ts';

const suite = requireNativeSuite();
const quorum = quorumFixture(suite, 5, 3);
const { nodeSet } = quorum;
const point = (byte: number): Uint8Array => new Uint8Array(32).fill(byte);
const secretCommitment = point(0xc0);

const body: SharingRecordBody = {
  contentId: new Uint8Array(32).fill(7),
  nodeSetId: nodeSet.id,
  threshold: 3,
  commitments: [secretCommitment, point(1), point(2)],
  dealers: [1, 3, 4],
  previousNodeSetId: new Uint8Array(32).fill(9),
};

const attest = (b: SharingRecordBody, nodes: readonly number[]) =>
  nodes.map((i) => attestSharing(quorum.nodes[i - 1]!.identity, i, b));

function refusal(record: SharingRecord, commitment = secretCommitment): string {
  try {
    verifySharingRecord(suite, record, nodeSet, commitment);
    return 'accepted';
  } catch (e) {
    if (!isQkmsError(e)) throw e;
    return `${e.code}: ${e.message}`;
  }
}

describe('sharing record', () => {
  it('t signatures of distinct nodes of the set make the commitments trusted, whatever order they came in', () => {
    const record = withAttestations(body, attest(body, [5, 2, 4]));
    expect(record.attestations.map((a) => a.node)).toEqual([2, 4, 5]);
    expect(verifySharingRecord(suite, record, nodeSet, secretCommitment)).toEqual(body.commitments);
  });

  it('survives canonical CBOR both ways, byte for byte', () => {
    const record = withAttestations(body, attest(body, [1, 2, 3]));
    const bytes = encodeCanonical(sharingRecordToCbor(record));
    const back = sharingRecordFromCbor(decodeCanonical(bytes, 65_536));
    expect(encodeCanonical(sharingRecordToCbor(back))).toEqual(bytes);
    expect(refusal(back)).toBe('accepted');
  });

  it('refuses fewer than t signatures, and counts a node signing twice once', () => {
    expect(refusal(withAttestations(body, attest(body, [1, 2])))).toMatch(
      /INVALID_SHARING_RECORD: .*2 node signatures, the threshold is 3/,
    );
    const twice = { body, attestations: [...attest(body, [1, 2]), ...attest(body, [2])] };
    expect(refusal(twice)).toMatch(/node 2 signed twice/);
  });

  it('refuses commitments changed after signing, and a commitment to another secret', () => {
    const record = withAttestations(body, attest(body, [1, 2, 3]));
    const changed = {
      ...record,
      body: { ...body, commitments: [secretCommitment, point(1), point(3)] },
    };
    expect(refusal(changed)).toMatch(/node 1's signature does not verify/);
    expect(refusal(record, point(0xc1))).toMatch(/not the one the publisher signed/);
  });

  it('refuses a record for another set or threshold, and a signer outside the set', () => {
    const other = { ...body, nodeSetId: new Uint8Array(32).fill(1) };
    expect(refusal(withAttestations(other, attest(other, [1, 2, 3])))).toMatch(/another node set/);
    const low = { ...body, threshold: 2, commitments: body.commitments.slice(0, 2) };
    expect(refusal(withAttestations(low, attest(low, [1, 2, 3])))).toMatch(/threshold 2/);
    const outsider = { node: 6, signature: attest(body, [1])[0]!.signature };
    expect(refusal({ body, attestations: [...attest(body, [1, 2, 3]), outsider] })).toMatch(
      /node 6 is not in the node set/,
    );
  });

  it('decoding refuses a commitment count that is not t, unsorted dealers or signers, and unknown keys', () => {
    const good = sharingRecordToCbor(withAttestations(body, attest(body, [1, 2, 3]))) as {
      body: Record<string, unknown>;
      sigs: Record<string, unknown>[];
    };
    const mutate = (f: (c: typeof good) => void): string => {
      const copy = structuredClone(good);
      f(copy);
      try {
        sharingRecordFromCbor(copy);
        return 'accepted';
      } catch (e) {
        if (!isQkmsError(e)) throw e;
        return e.code;
      }
    };
    expect(mutate(() => {})).toBe('accepted');
    expect(mutate((c) => (c.body['t'] = 2))).toBe(ErrorCode.INVALID_SHARING_RECORD);
    expect(mutate((c) => (c.body['dealers'] = [3, 1, 4]))).toBe(ErrorCode.INVALID_SHARING_RECORD);
    expect(mutate((c) => c.sigs.reverse())).toBe(ErrorCode.INVALID_SHARING_RECORD);
    expect(mutate((c) => (c.body['extra'] = 1))).toBe(ErrorCode.MALFORMED);
    expect(mutate((c) => (c.body['v'] = 2))).toBe(ErrorCode.MALFORMED);
    expect(mutate((c) => (c.body['commitments'] = [point(1), point(2), new Uint8Array(31)]))).toBe(
      ErrorCode.MALFORMED,
    );
  });
});
