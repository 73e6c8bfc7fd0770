// The /qkms/revsync anti-entropy messages: digest children, prefixes, counts,
// XORs and ids have their exact sizes; records and push counts are capped.
import { PROTOCOL_VERSION } from '../constants.ts';
import { describe, expect, it } from 'vitest';
import { encodeCanonical, type CborValue } from '../codec/cbor.ts';
import { ID_BYTES, MAX_FRAME_BYTES, MAX_REVOCATION_BYTES } from '../constants.ts';
import { ErrorCode } from '../errors.ts';
import { MAX_REVSYNC_RECORDS } from './fields.ts';
import { decodeMessage, type MessageType } from './registry.ts';
import { DIGEST_CHILDREN_BYTES, MAX_REVSYNC_IDS } from './revsync.ts';

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
const digestOk = (overrides: Record<string, CborValue>): Record<string, CborValue> => ({
  count: 1,
  xor: idBytes(1),
  children: new Uint8Array(0),
  ids: [],
  ...overrides,
});

describe('revsync messages', () => {
  it('`children` is empty or exactly 256 × (4 + 32) bytes', () => {
    expect(decodes('revsync-digest-ok', digestOk({}))).toBe(true);
    expect(
      decodes('revsync-digest-ok', digestOk({ children: new Uint8Array(DIGEST_CHILDREN_BYTES) })),
    ).toBe(true);
    for (const length of [36, DIGEST_CHILDREN_BYTES - 1, DIGEST_CHILDREN_BYTES + 1])
      refused('revsync-digest-ok', digestOk({ children: new Uint8Array(length) }));
  });

  it('a digest prefix is at most 2 bytes, and counts and XORs have their sizes', () => {
    const digest = (overrides: Record<string, CborValue>): Record<string, CborValue> => ({
      prefix: Uint8Array.of(1, 2),
      count: 0,
      xor: idBytes(0),
      ...overrides,
    });
    expect(decodes('revsync-digest', digest({}))).toBe(true);
    refused('revsync-digest', digest({ prefix: Uint8Array.of(1, 2, 3) }));
    refused('revsync-digest', digest({ xor: new Uint8Array(31) }));
    refused('revsync-digest', digest({ count: -1 }));
    refused('revsync-digest', digest({ count: 2 ** 32 }));
    refused('revsync-digest-ok', digestOk({ xor: new Uint8Array(33) }));
  });

  it('ids are 32 bytes each and at most MAX_REVSYNC_IDS of them', () => {
    refused('revsync-fetch', { ids: [new Uint8Array(31)] });
    refused('revsync-digest-ok', digestOk({ ids: [idBytes(1), new Uint8Array(33)] }));
    const many = Array.from({ length: MAX_REVSYNC_IDS }, () => idBytes(2));
    expect(decodes('revsync-fetch', { ids: many })).toBe(true);
    refused('revsync-fetch', { ids: [...many, idBytes(2)] });
  });

  it('a record is at most MAX_REVOCATION_BYTES, and a message holds at most MAX_REVSYNC_RECORDS', () => {
    const over = new Uint8Array(MAX_REVOCATION_BYTES + 1);
    refused('revsync-push', { records: [over] });
    const tiny = Array.from({ length: MAX_REVSYNC_RECORDS + 1 }, () => Uint8Array.of(1));
    refused('revsync-records', { records: tiny });
    expect(decodes('revsync-records', { records: tiny.slice(1) })).toBe(true);
  });

  it('refuses out-of-range push counts', () => {
    refused('revsync-push-ok', { stored: MAX_REVSYNC_RECORDS + 1, unchanged: 0 });
    refused('revsync-push-ok', { stored: 0, unchanged: -1 });
  });
});
