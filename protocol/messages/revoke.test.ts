// The /qkms/revoke messages: `after` is empty or one id; records are capped in
// size and count; status and `more` take only their values.
import { PROTOCOL_VERSION } from '../constants.ts';
import { describe, expect, it } from 'vitest';
import { encodeCanonical, type CborValue } from '../codec/cbor.ts';
import { ID_BYTES, MAX_FRAME_BYTES, MAX_REVOCATION_BYTES } from '../constants.ts';
import { ErrorCode } from '../errors.ts';
import { MAX_REVSYNC_RECORDS } from './fields.ts';
import { decodeMessage, type MessageType } from './registry.ts';

const code = (c: string): unknown => expect.objectContaining({ code: c });
const idBytes = (fill: number): Uint8Array => new Uint8Array(ID_BYTES).fill(fill);
const raw = (t: MessageType, fields: Record<string, CborValue>): Uint8Array =>
  encodeCanonical({ v: PROTOCOL_VERSION, t, ...fields });
const decodes = (t: MessageType, fields: Record<string, CborValue>): boolean =>
  decodeMessage(raw(t, fields), MAX_FRAME_BYTES.revsync, [t]).type === t;
const refused = (t: MessageType, fields: Record<string, CborValue>): void => {
  expect(() => decodeMessage(raw(t, fields), MAX_FRAME_BYTES.revsync, [t])).toThrow(
    code(ErrorCode.MALFORMED),
  );
};

describe('revoke messages', () => {
  it('`after` is empty or one id (32 bytes), nothing between or beyond', () => {
    expect(decodes('revocations', { after: new Uint8Array(0) })).toBe(true);
    expect(decodes('revocations', { after: idBytes(1) })).toBe(true);
    for (const length of [1, 16, 31, 33]) refused('revocations', { after: new Uint8Array(length) });
  });

  it('a record is at most MAX_REVOCATION_BYTES, in a revoke and in a listing', () => {
    const max = new Uint8Array(MAX_REVOCATION_BYTES);
    const over = new Uint8Array(MAX_REVOCATION_BYTES + 1);
    expect(decodes('revoke', { record: max })).toBe(true);
    refused('revoke', { record: over });
    refused('revocations-ok', { records: [over], more: false });
  });

  it('a listing holds at most MAX_REVSYNC_RECORDS records', () => {
    const tiny = Array.from({ length: MAX_REVSYNC_RECORDS + 1 }, () => Uint8Array.of(1));
    refused('revocations-ok', { records: tiny, more: true });
    expect(decodes('revocations-ok', { records: tiny.slice(1), more: true })).toBe(true);
  });

  it('refuses an unknown status, a short id and a non-boolean `more`', () => {
    refused('revoke-ok', { id: idBytes(1), status: 'deleted' });
    refused('revoke-ok', { id: new Uint8Array(20), status: 'stored' });
    refused('revocations-ok', { records: [], more: 1 });
  });
});
