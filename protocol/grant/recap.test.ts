// EIP-5573 ReCaps: the translation algorithm on the EIP's own examples, qkms's
// capability encoding (round trip, canonical form only) and coverage.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { base64urlnopad } from '@scure/base';
import { fromHex, toHex, utf8 } from '../bytes.ts';
import { ErrorCode } from '../errors.ts';
import {
  MAX_CAPABILITY_CONTENT_IDS,
  RECAP_URI_PREFIX,
  capabilitiesCover,
  capabilitiesStatement,
  decodeRecap,
  encodeRecap,
  recapTranslation,
  type Ability,
  type Capabilities,
  type RecapAttenuations,
} from './recap.ts';

const INVALID = expect.objectContaining({ code: ErrorCode.DELEGATION_INVALID });
const ARGUMENT = expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT });

const id = (byte: number) => new Uint8Array(32).fill(byte);

function uriOfJson(json: string): string {
  return RECAP_URI_PREFIX + base64urlnopad.encode(utf8(json));
}

function attOfUri(uri: string): RecapAttenuations {
  const text = new TextDecoder().decode(base64urlnopad.decode(uri.slice(RECAP_URI_PREFIX.length)));
  return (JSON.parse(text) as { att: RecapAttenuations }).att;
}

describe('EIP-5573 translation algorithm', () => {
  it("translates the EIP's SIWE example ReCap URI into the EIP's statement", () => {
    // ERCS/erc-5573.md, "ReCap SIWE Extension" example (five entries, two namespaces on one resource).
    const uri =
      'urn:recap:eyJhdHQiOnsiaHR0cHM6Ly9leGFtcGxlLmNvbSI6eyJleGFtcGxlL2FwcGVuZCI6W10sImV4YW1wbGUvcmVhZCI6W10sIm90aGVyL2FjdGlvbiI6W119LCJteTpyZXNvdXJjZTp1cmkuMSI6eyJleGFtcGxlL2FwcGVuZCI6W10sImV4YW1wbGUvZGVsZXRlIjpbXX0sIm15OnJlc291cmNlOnVyaS4yIjp7ImV4YW1wbGUvYXBwZW5kIjpbXX0sIm15OnJlc291cmNlOnVyaS4zIjp7ImV4YW1wbGUvYXBwZW5kIjpbXX19LCJwcmYiOltdfQ';
    expect(recapTranslation(attOfUri(uri))).toBe(
      "I further authorize the stated URI to perform the following actions on my behalf: (1) 'example': 'append', 'read' for 'https://example.com'. (2) 'other': 'action' for 'https://example.com'. (3) 'example': 'append', 'delete' for 'my:resource:uri.1'. (4) 'example': 'append' for 'my:resource:uri.2'. (5) 'example': 'append' for 'my:resource:uri.3'.",
    );
  });

  it("translates the EIP's details-object example (with caveats and prf) into the EIP's statement", () => {
    const uri =
      'urn:recap:eyJhdHQiOnsiaHR0cHM6Ly9leGFtcGxlLmNvbS9waWN0dXJlcy8iOnsiY3J1ZC9kZWxldGUiOlt7fV0sImNydWQvdXBkYXRlIjpbe31dLCJvdGhlci9hY3Rpb24iOlt7fV19LCJtYWlsdG86dXNlcm5hbWVAZXhhbXBsZS5jb20iOnsibXNnL3JlY2VpdmUiOlt7Im1heF9jb3VudCI6NSwidGVtcGxhdGVzIjpbIm5ld3NsZXR0ZXIiLCJtYXJrZXRpbmciXX1dLCJtc2cvc2VuZCI6W3sidG8iOiJzb21lb25lQGVtYWlsLmNvbSJ9LHsidG8iOiJqb2VAZW1haWwuY29tIn1dfX0sInByZiI6WyJ6ZGo3V2o2Rk5TNHJVVWJzaUp2amp4Y3NOcVpkRENTaVlSOHNLUVhmb1BmcFNadUF3Il19';
    expect(recapTranslation(attOfUri(uri))).toBe(
      "I further authorize the stated URI to perform the following actions on my behalf: (1) 'crud': 'delete', 'update' for 'https://example.com/pictures/'. (2) 'other': 'action' for 'https://example.com/pictures/'. (3) 'msg': 'receive', 'send' for 'mailto:username@example.com'.",
    );
    // Its JSON is already in the EIP's canonical form: re-serializing gives the same URI.
    const text = new TextDecoder().decode(
      base64urlnopad.decode(uri.slice(RECAP_URI_PREFIX.length)),
    );
    expect(uriOfJson(JSON.stringify(JSON.parse(text)))).toBe(uri);
  });

  it('translates a multi-resource qkms capability as written out by hand', () => {
    const a = toHex(id(0xaa));
    const b = toHex(id(0x0b));
    const caps: Capabilities = { actions: ['recover', 'publish'], content: [id(0xaa), id(0x0b)] };
    expect(capabilitiesStatement(caps)).toBe(
      'I further authorize the stated URI to perform the following actions on my behalf:' +
        ` (1) 'qkms': 'publish', 'recover' for 'urn:qkms:content:${b}'.` +
        ` (2) 'qkms': 'publish', 'recover' for 'urn:qkms:content:${a}'.`,
    );
    expect(encodeRecap(caps)).toBe(
      uriOfJson(
        `{"att":{"urn:qkms:content:${b}":{"qkms/publish":[{}],"qkms/recover":[{}]},` +
          `"urn:qkms:content:${a}":{"qkms/publish":[{}],"qkms/recover":[{}]}}}`,
      ),
    );
    expect(capabilitiesStatement({ actions: ['recover'], content: 'all' })).toBe(
      "I further authorize the stated URI to perform the following actions on my behalf: (1) 'qkms': 'recover' for 'urn:qkms:content:*'.",
    );
  });
});

describe('qkms ReCap encoding', () => {
  it('round-trips any capability set, normalized to sorted actions and ids', () => {
    fc.assert(
      fc.property(
        fc.subarray<Ability>(['publish', 'recover'], { minLength: 1 }),
        fc.oneof(
          fc.constant<'all'>('all'),
          fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
            minLength: 1,
            maxLength: MAX_CAPABILITY_CONTENT_IDS,
            selector: (u) => toHex(u),
          }),
        ),
        (actions, content) => {
          const caps: Capabilities = { actions: [...actions].reverse(), content };
          const uri = encodeRecap(caps);
          const back = decodeRecap(uri);
          expect(back.actions).toStrictEqual(actions);
          if (content === 'all') expect(back.content).toBe('all');
          else {
            expect(back.content === 'all' ? [] : back.content.map(toHex)).toStrictEqual(
              content.map(toHex).sort(),
            );
          }
          expect(encodeRecap(back)).toBe(uri);
        },
      ),
      { numRuns: 200 },
    );
  });

  const hex = toHex(id(1));
  it.each([
    ['pretty-printed JSON', `{"att": {"urn:qkms:content:*": {"qkms/recover": [{}]}}}`],
    [
      'abilities out of order',
      `{"att":{"urn:qkms:content:*":{"qkms/recover":[{}],"qkms/publish":[{}]}}}`,
    ],
    [
      'resources out of order',
      `{"att":{"urn:qkms:content:${toHex(id(2))}":{"qkms/recover":[{}]},"urn:qkms:content:${hex}":{"qkms/recover":[{}]}}}`,
    ],
    ['a duplicate key', `{"att":{"urn:qkms:content:*":{"qkms/recover":[{}],"qkms/recover":[{}]}}}`],
    ['a prf', `{"att":{"urn:qkms:content:*":{"qkms/recover":[{}]}},"prf":["bafy"]}`],
    ['an empty caveat array', `{"att":{"urn:qkms:content:*":{"qkms/recover":[]}}}`],
    ['a real caveat', `{"att":{"urn:qkms:content:*":{"qkms/recover":[{"max":1}]}}}`],
    ['two caveats', `{"att":{"urn:qkms:content:*":{"qkms/recover":[{},{}]}}}`],
    ['an unknown ability', `{"att":{"urn:qkms:content:*":{"qkms/delete":[{}]}}}`],
    ['another namespace', `{"att":{"urn:qkms:content:*":{"crud/recover":[{}]}}}`],
    ['no ability', `{"att":{"urn:qkms:content:*":{}}}`],
    ['no resource', `{"att":{}}`],
    ['no att', `{}`],
    ['a foreign resource', `{"att":{"https://example.com":{"qkms/recover":[{}]}}}`],
    [
      'an upper-case content id',
      `{"att":{"urn:qkms:content:${toHex(id(0xab)).toUpperCase()}":{"qkms/recover":[{}]}}}`,
    ],
    ['a short content id', `{"att":{"urn:qkms:content:${hex.slice(2)}":{"qkms/recover":[{}]}}}`],
    [
      '"*" with an id',
      `{"att":{"urn:qkms:content:*":{"qkms/recover":[{}]},"urn:qkms:content:${hex}":{"qkms/recover":[{}]}}}`,
    ],
    [
      'different abilities per resource',
      `{"att":{"urn:qkms:content:${hex}":{"qkms/recover":[{}]},"urn:qkms:content:${toHex(id(2))}":{"qkms/publish":[{}]}}}`,
    ],
    ['an escaped key', `{"att":{"urn:qkms:content:\\u002a":{"qkms/recover":[{}]}}}`],
    ['a __proto__ key', `{"att":{"__proto__":{"qkms/recover":[{}]}}}`],
    ['an array', `[]`],
  ])('refuses a ReCap with %s', (_name, json) => {
    expect(() => decodeRecap(uriOfJson(json))).toThrow(INVALID);
  });

  it.each([
    ['another URN', 'urn:other:eyJ9'],
    ['padding', `${encodeRecap({ actions: ['recover'], content: 'all' })}==`],
    ['standard base64 characters', 'urn:recap:ab+/'],
    [
      'bytes that are not UTF-8',
      RECAP_URI_PREFIX + base64urlnopad.encode(new Uint8Array([0xff, 0xfe])),
    ],
    ['bytes that are not JSON', RECAP_URI_PREFIX + base64urlnopad.encode(utf8('att'))],
    ['an empty payload', RECAP_URI_PREFIX],
  ])('refuses a ReCap URI with %s', (_name, uri) => {
    expect(() => decodeRecap(uri)).toThrow(INVALID);
  });

  it('refuses a non-canonical base64url spelling of the canonical JSON (trailing bits set)', () => {
    const uri = encodeRecap({ actions: ['recover'], content: 'all' });
    const payload = uri.slice(RECAP_URI_PREFIX.length);
    // The last character carries unused low bits unless the length is a multiple of 4.
    expect(payload.length % 4).not.toBe(0);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(payload.at(-1) ?? '');
    const twin = `${RECAP_URI_PREFIX}${payload.slice(0, -1)}${alphabet[last ^ 1] ?? ''}`;
    expect(twin).not.toBe(uri);
    expect(() => decodeRecap(twin)).toThrow(INVALID);
  });

  it.each([
    ['no action', { actions: [], content: 'all' }],
    ['an unknown action', { actions: ['delete'], content: 'all' }],
    ['a duplicate action', { actions: ['recover', 'recover'], content: 'all' }],
    ['no content id', { actions: ['recover'], content: [] }],
    ['a duplicate content id', { actions: ['recover'], content: [id(1), id(1)] }],
    [
      'too many content ids',
      {
        actions: ['recover'],
        content: Array.from({ length: MAX_CAPABILITY_CONTENT_IDS + 1 }, (_, i) => id(i)),
      },
    ],
    ['content neither "all" nor a list', { actions: ['recover'], content: 'some' }],
    ['an unknown key', { actions: ['recover'], content: 'all', extra: 1 }],
    ['not an object', null],
  ])('refuses to encode capabilities with %s', (_name, caps) => {
    expect(() => encodeRecap(caps as unknown as Capabilities)).toThrow(ARGUMENT);
  });

  it('refuses to encode a content id of the wrong length', () => {
    expect(() => encodeRecap({ actions: ['recover'], content: [new Uint8Array(31)] })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_LENGTH }),
    );
  });
});

describe('capability coverage', () => {
  const ids = [id(1), id(2), id(3)];

  it("'all' covers any content id for the granted actions only", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (contentId) => {
        const caps: Capabilities = { actions: ['recover'], content: 'all' };
        expect(capabilitiesCover(caps, 'recover', contentId)).toBe(true);
        expect(capabilitiesCover(caps, 'publish', contentId)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('a list covers exactly its ids, after a round trip through the ReCap too', () => {
    const caps = decodeRecap(encodeRecap({ actions: ['publish', 'recover'], content: ids }));
    for (const c of ids) {
      expect(capabilitiesCover(caps, 'recover', c)).toBe(true);
      expect(capabilitiesCover(caps, 'publish', c)).toBe(true);
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (contentId) => {
        const listed = ids.some((c) => toHex(c) === toHex(contentId));
        expect(capabilitiesCover(caps, 'recover', contentId)).toBe(listed);
      }),
      { numRuns: 100 },
    );
    // A prefix or an extension of a listed id is not that id.
    expect(capabilitiesCover(caps, 'recover', ids[0]!.subarray(0, 31))).toBe(false);
    expect(capabilitiesCover(caps, 'recover', fromHex(`${toHex(ids[0]!)}00`))).toBe(false);
  });
});
