// The signed audit head statement (decision 0010) and the messages that carry
// it: it verifies under its node's key only, round-trips strictly, and a
// statement or witness request out of shape is refused.
import { PROTOCOL_VERSION } from '../constants.ts';
import { describe, expect, it } from 'vitest';
import { FIXTURE_TIME, quorumFixture } from '../../test/support/protocol-fixture.ts';
import { toHex } from '../bytes.ts';
import { encodeCanonical, type CborValue } from '../codec/cbor.ts';
import { ID_BYTES, MAX_FRAME_BYTES } from '../constants.ts';
import { ErrorCode } from '../errors.ts';
import { requireNativeSuite } from '../suite/native.ts';
import { decodeAuditHead, encodeAuditHead, signAuditHead, verifyAuditHead } from './audit-head.ts';
import { decodeMessage, type MessageType } from './registry.ts';

const suite = requireNativeSuite();
const quorum = quorumFixture(suite);
const { nodeSet } = quorum;
const code = (c: string): unknown => expect.objectContaining({ code: c });
const idBytes = (fill: number): Uint8Array => new Uint8Array(ID_BYTES).fill(fill);
const raw = (t: MessageType, fields: Record<string, CborValue>): Uint8Array =>
  encodeCanonical({ v: PROTOCOL_VERSION, t, ...fields });
const refused = (t: MessageType, fields: Record<string, CborValue>): void => {
  expect(() => decodeMessage(raw(t, fields), MAX_FRAME_BYTES.revsync, [t])).toThrow(
    code(ErrorCode.MALFORMED),
  );
};

const auditHead = signAuditHead(quorum.nodes[1]!.identity, {
  nodeSetId: nodeSet.id,
  node: 2,
  seq: 41,
  hash: new Uint8Array(32).fill(0x41),
  at: FIXTURE_TIME,
});

describe('audit head', () => {
  it('an audit head statement verifies under its node key only, and round-trips strictly', () => {
    const key2 = quorum.nodes[1]!.identity.publicKey;
    expect(verifyAuditHead(suite, auditHead, key2)).toBe(true);
    expect(verifyAuditHead(suite, auditHead, quorum.nodes[0]!.identity.publicKey)).toBe(false);
    expect(
      verifyAuditHead(suite, { ...auditHead, body: { ...auditHead.body, seq: 40 } }, key2),
    ).toBe(false);
    const bytes = encodeAuditHead(auditHead);
    expect(toHex(encodeAuditHead(decodeAuditHead(bytes)))).toBe(toHex(bytes));
    refused('audit-head', {
      head: {
        head: { v: 1, nodeSet: nodeSet.id, node: 2, seq: 1, hash: idBytes(1) },
        sig: idBytes(2),
      },
    });
    refused('audit-head', {
      head: {
        head: { v: 1, nodeSet: nodeSet.id, node: 0, seq: 1, hash: idBytes(1), at: 1 },
        sig: new Uint8Array(64),
      },
    });
    refused('audit-witness', { node: 0 });
  });
});
