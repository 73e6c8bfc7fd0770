// Long file: a negative table over every field and binding of the SIWE + ReCap profile, on one signed fixture.
// The qkms wallet delegation end to end with a real wallet library (viem):
// it verifies; every binding, every edit of the text and every malleable or
// foreign signature is refused with the right code; creation refuses what a
// node would refuse; and random mutations never verify nor throw anything
// but a QkmsError.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { Hex, Secp256k1, Siwe } from 'ox';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { concatBytes, toHex, utf8 } from '../bytes.ts';
import { MAX_DELEGATION_MESSAGE_BYTES } from '../constants.ts';
import { DomainTag, tagBytes } from '../domain-tags.ts';
import { ErrorCode, QkmsError, isQkmsError } from '../errors.ts';
import { requireNativeSuite } from '../suite/native.ts';
import { nobleSuite } from '../suite/noble.ts';
import {
  DELEGATION_STATEMENT,
  checkDelegationBindings,
  createDelegation,
  delegationHash,
  verifyDelegation,
  verifyDelegationSignature,
  type CreateDelegationParams,
  type Delegation,
  type DelegationBindings,
  type WalletSigner,
} from './delegation.ts';
import {
  MAX_CAPABILITY_CONTENT_IDS,
  capabilitiesStatement,
  encodeRecap,
  type Capabilities,
} from './recap.ts';

const native = requireNativeSuite();
// An asymmetric matcher (typed `any` by vitest), typed as what toThrow() takes.
const code = (c: ErrorCode) => expect.objectContaining({ name: 'QkmsError', code: c }) as Error;
const INVALID = code(ErrorCode.DELEGATION_INVALID);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2030, 0, 1, 12);
const NOW = T0 + MINUTE;
const DOMAIN = 'qkms.example';
const CHAIN_ID = 1;
const id = (byte: number) => new Uint8Array(32).fill(byte);
const NODE_SET = id(0x5e);
const SESSION = nobleSuite.ed25519.keygen().publicKey;
const CONTENT = id(0xc1);
const OTHER_CONTENT = id(0xc2);

function walletOf(account: PrivateKeyAccount): WalletSigner {
  return { address: account.address, signMessage: (message) => account.signMessage({ message }) };
}
const account = privateKeyToAccount(generatePrivateKey());
const otherAccount = privateKeyToAccount(generatePrivateKey());

function params(overrides: Partial<CreateDelegationParams> = {}): CreateDelegationParams {
  return {
    wallet: walletOf(account),
    domain: DOMAIN,
    nodeSetId: NODE_SET,
    chainId: CHAIN_ID,
    sessionPublicKey: SESSION,
    capabilities: { actions: ['recover'], content: [CONTENT] },
    issuedAt: T0,
    expiresAt: T0 + HOUR,
    ...overrides,
  };
}

function bindings(overrides: Partial<DelegationBindings> = {}): DelegationBindings {
  return {
    domain: DOMAIN,
    nodeSetId: NODE_SET,
    chainId: CHAIN_ID,
    now: NOW,
    maxLifetimeMs: 24 * HOUR,
    maxClockSkewMs: MINUTE,
    sessionPublicKey: SESSION,
    action: 'recover',
    contentId: CONTENT,
    ...overrides,
  };
}

/** Signs `message` with `signer` as is: a refusal then comes from the text, not the signature. */
async function signed(message: string, signer = account): Promise<Delegation> {
  return { message, signature: Hex.toBytes(await signer.signMessage({ message })) };
}

const valid = await createDelegation(params({ nonce: 'qkmsTestNonce0001' }));
const everything = await createDelegation(
  params({ capabilities: { actions: ['publish', 'recover'], content: 'all' } }),
);
const N = Secp256k1.noble.Point.CURVE().n;

/** s' = n − s with v flipped: the same signer under the curve math, refused by the low-S rule. */
function highSTwin(signature: Uint8Array): Uint8Array {
  const twin = signature.slice();
  const s = BigInt(Hex.fromBytes(signature.subarray(32, 64)));
  twin.set(Hex.toBytes(Hex.fromNumber(N - s, { size: 32 })), 32);
  twin[64] = signature[64] === 27 ? 28 : 27;
  return twin;
}

describe('a delegation signed by a viem wallet', () => {
  it('is exactly the qkms profile of EIP-4361 + EIP-5573', () => {
    const recap = encodeRecap({ actions: ['recover'], content: [CONTENT] });
    expect(valid.message).toBe(
      [
        `${DOMAIN} wants you to sign in with your Ethereum account:`,
        account.address,
        '',
        `Authorize a qkms session key to act for this wallet. I further authorize the stated URI to perform the following actions on my behalf: (1) 'qkms': 'recover' for 'urn:qkms:content:${toHex(CONTENT)}'.`,
        '',
        `URI: qkms://${toHex(NODE_SET)}`,
        'Version: 1',
        'Chain ID: 1',
        'Nonce: qkmsTestNonce0001',
        'Issued At: 2030-01-01T12:00:00.000Z',
        'Expiration Time: 2030-01-01T13:00:00.000Z',
        'Resources:',
        `- urn:qkms:session:ed25519:${toHex(SESSION)}`,
        `- ${recap}`,
      ].join('\n'),
    );
    expect(valid.signature.length).toBe(65);
  });

  it("is byte-identical to what ox's Siwe.createMessage makes of the same fields", () => {
    const caps: Capabilities = { actions: ['publish', 'recover'], content: 'all' };
    const d = everything;
    const nonce = /\nNonce: (\w+)\n/.exec(d.message)?.[1] ?? '';
    expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(
      Siwe.createMessage({
        address: account.address,
        chainId: CHAIN_ID,
        domain: DOMAIN,
        statement: `${DELEGATION_STATEMENT} ${capabilitiesStatement(caps)}`,
        uri: `qkms://${toHex(NODE_SET)}`,
        version: '1',
        nonce,
        issuedAt: new Date(T0),
        expirationTime: new Date(T0 + HOUR),
        resources: [`urn:qkms:session:ed25519:${toHex(SESSION)}`, encodeRecap(caps)],
      }),
    ).toBe(d.message);
  });

  it('verifies under both suites to exactly the fields it was made from', () => {
    for (const suite of [nobleSuite, native]) {
      const p = verifyDelegation(suite, valid, bindings());
      expect(p.address).toBe(account.address);
      expect(Hex.fromBytes(p.addressBytes)).toBe(account.address.toLowerCase());
      expect(p.domain).toBe(DOMAIN);
      expect(toHex(p.nodeSetId)).toBe(toHex(NODE_SET));
      expect(p.chainId).toBe(CHAIN_ID);
      expect(toHex(p.sessionPublicKey)).toBe(toHex(SESSION));
      expect(p.capabilities.actions).toStrictEqual(['recover']);
      expect(
        p.capabilities.content === 'all' ? [] : p.capabilities.content.map(toHex),
      ).toStrictEqual([toHex(CONTENT)]);
      expect(p.nonce).toBe('qkmsTestNonce0001');
      expect([p.issuedAt, p.expiresAt, p.notBefore]).toStrictEqual([T0, T0 + HOUR, undefined]);
      expect(toHex(p.hash)).toBe(toHex(delegationHash(suite, valid)));
      expect(Object.isFrozen(p)).toBe(true);
    }
  });

  it('hashes as SHA-256(tag || UTF-8 message), the same under both suites, whatever the v encoding', () => {
    const expected = sha256(concatBytes(tagBytes(DomainTag.DELEGATION_HASH), utf8(valid.message)));
    expect(toHex(delegationHash(nobleSuite, valid))).toBe(toHex(expected));
    expect(toHex(delegationHash(native, valid))).toBe(toHex(expected));
    // v = 0/1 is the same signature as v = 27/28: it verifies, to the same hash.
    const zeroBased = valid.signature.slice();
    zeroBased[64] = (valid.signature[64] ?? 0) - 27;
    const p = verifyDelegationSignature(nobleSuite, {
      message: valid.message,
      signature: zeroBased,
    });
    expect(toHex(p.hash)).toBe(toHex(expected));
  });

  it("'all' content with both actions covers any content id for either action", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.constantFrom('recover' as const, 'publish' as const),
        (contentId, action) => {
          const p = verifyDelegationSignature(nobleSuite, everything);
          checkDelegationBindings(p, bindings({ contentId, action }));
        },
      ),
      { numRuns: 20 },
    );
  });

  it('accepts any RFC 3339 form of the timestamps, read to the same instants', async () => {
    const text = valid.message
      .replace('Issued At: 2030-01-01T12:00:00.000Z', 'Issued At: 2030-01-01T14:00:00+02:00')
      .replace(
        'Expiration Time: 2030-01-01T13:00:00.000Z',
        'Expiration Time: 2030-01-01T13:00:00Z',
      );
    const p = verifyDelegation(nobleSuite, await signed(text), bindings());
    expect([p.issuedAt, p.expiresAt]).toStrictEqual([T0, T0 + HOUR]);
  });

  it('with a Not Before, is not yet valid before it and valid from it on', async () => {
    const d = await createDelegation(params({ notBefore: T0 + 30 * MINUTE }));
    expect(verifyDelegationSignature(nobleSuite, d).notBefore).toBe(T0 + 30 * MINUTE);
    expect(() => verifyDelegation(nobleSuite, d, bindings())).toThrow(
      code(ErrorCode.DELEGATION_NOT_YET_VALID),
    );
    expect(() =>
      verifyDelegation(nobleSuite, d, bindings({ now: T0 + 30 * MINUTE })),
    ).not.toThrow();
  });

  it('issued up to maxClockSkewMs in the future is valid; one ms more is not yet valid', async () => {
    const edge = await createDelegation(params({ issuedAt: NOW + MINUTE, expiresAt: NOW + HOUR }));
    expect(() => verifyDelegation(nobleSuite, edge, bindings())).not.toThrow();
    const ahead = await createDelegation(
      params({ issuedAt: NOW + MINUTE + 1, expiresAt: NOW + HOUR }),
    );
    expect(() => verifyDelegation(nobleSuite, ahead, bindings())).toThrow(
      code(ErrorCode.DELEGATION_NOT_YET_VALID),
    );
  });
});

describe('a changed binding is refused with its code', () => {
  const p = verifyDelegationSignature(nobleSuite, valid);
  it.each<[string, Partial<DelegationBindings>, ErrorCode]>([
    ['wrong domain', { domain: 'evil.example' }, ErrorCode.DELEGATION_INVALID],
    ['domain differing in case only', { domain: 'QKMS.example' }, ErrorCode.DELEGATION_INVALID],
    ['wrong URI nodeSetId', { nodeSetId: id(0x5f) }, ErrorCode.DELEGATION_INVALID],
    ['wrong chain id', { chainId: 5 }, ErrorCode.DELEGATION_INVALID],
    ['session key swapped', { sessionPublicKey: id(9) }, ErrorCode.DELEGATION_INVALID],
    ['lifetime over the maximum', { maxLifetimeMs: HOUR - 1 }, ErrorCode.DELEGATION_INVALID],
    ['expired: now = Expiration Time', { now: T0 + HOUR }, ErrorCode.DELEGATION_EXPIRED],
    ['expired: now after Expiration Time', { now: T0 + 2 * HOUR }, ErrorCode.DELEGATION_EXPIRED],
    [
      'not yet valid: Issued At beyond the clock skew',
      { now: T0 - MINUTE - 1 },
      ErrorCode.DELEGATION_NOT_YET_VALID,
    ],
    ['content id not listed', { contentId: OTHER_CONTENT }, ErrorCode.CAPABILITY_DENIED],
    ['recover-only delegation used to publish', { action: 'publish' }, ErrorCode.CAPABILITY_DENIED],
  ])('%s', (_name, change, expected) => {
    expect(() => {
      checkDelegationBindings(p, bindings(change));
    }).toThrow(code(expected));
    expect(() => verifyDelegation(nobleSuite, valid, bindings(change))).toThrow(code(expected));
  });

  it('the unchanged bindings pass, at the edges: lifetime = maximum, one ms before expiry', () => {
    expect(() => {
      checkDelegationBindings(p, bindings({ maxLifetimeMs: HOUR }));
    }).not.toThrow();
    expect(() => {
      checkDelegationBindings(p, bindings({ now: T0 + HOUR - 1 }));
    }).not.toThrow();
  });

  it.each<[string, unknown, ErrorCode]>([
    ['an unknown key', { ...bindings(), nonce: 'x' }, ErrorCode.INVALID_ARGUMENT],
    [
      'a missing key',
      Object.fromEntries(Object.entries(bindings()).filter(([k]) => k !== 'chainId')),
      ErrorCode.INVALID_ARGUMENT,
    ],
    ['an undefined key', { ...bindings(), now: undefined }, ErrorCode.INVALID_ARGUMENT],
    ['a short nodeSetId', bindings({ nodeSetId: new Uint8Array(31) }), ErrorCode.INVALID_LENGTH],
    ['a short contentId', bindings({ contentId: new Uint8Array(31) }), ErrorCode.INVALID_LENGTH],
    [
      'a long session key',
      bindings({ sessionPublicKey: new Uint8Array(33) }),
      ErrorCode.INVALID_LENGTH,
    ],
    ['an unknown action', { ...bindings(), action: 'delete' }, ErrorCode.INVALID_ARGUMENT],
    ['a fractional now', bindings({ now: NOW + 0.5 }), ErrorCode.INVALID_ARGUMENT],
    ['a zero maxLifetimeMs', bindings({ maxLifetimeMs: 0 }), ErrorCode.INVALID_ARGUMENT],
    ['a negative skew', bindings({ maxClockSkewMs: -1 }), ErrorCode.INVALID_ARGUMENT],
    ['a non-string domain', { ...bindings(), domain: 1 }, ErrorCode.INVALID_ARGUMENT],
    ['no object', null, ErrorCode.INVALID_ARGUMENT],
  ])('bindings with %s are a caller error, checked before the signature', (_name, b, expected) => {
    const bad = b as DelegationBindings;
    expect(() => {
      checkDelegationBindings(p, bad);
    }).toThrow(code(expected));
    // verifyDelegation checks the bag first: even a garbage delegation reports the caller error.
    const garbage = { message: 'x', signature: new Uint8Array(65) };
    expect(() => verifyDelegation(nobleSuite, garbage, bad)).toThrow(code(expected));
  });
});

describe('an edited text, even re-signed by the same wallet, is DELEGATION_INVALID', () => {
  const m = valid.message;
  const lines = m.split('\n');
  const session = lines.at(-2) ?? '';
  const recapLine = lines.at(-1) ?? '';
  const cases: readonly [string, string, RegExp][] = [
    [
      'statement edited (one char)',
      m.replace('session key', 'sessiom key'),
      /statement is not the qkms statement/,
    ],
    [
      'ReCap statement edited (one char)',
      m.replace("'recover' for", "'recovex' for"),
      /statement is not the qkms statement/,
    ],
    [
      'statement naming another action than its ReCap',
      m.replace("'recover' for", "'publish' for"),
      /statement is not the qkms statement/,
    ],
    [
      'extra resource after the ReCap',
      `${m}\n- https://example.com`,
      /expected 2 resources, got 3/,
    ],
    [
      'extra resource before the ReCap',
      m.replace(recapLine, `- https://example.com\n${recapLine}`),
      /expected 2 resources, got 3/,
    ],
    [
      'reordered resources',
      m.replace(`${session}\n${recapLine}`, `${recapLine}\n${session}`),
      /first resource is not the session key/,
    ],
    ['the session resource missing', m.replace(`${session}\n`, ''), /expected 2 resources, got 1/],
    ['CRLF line endings', m.replaceAll('\n', '\r\n'), /outside printable ASCII and LF/],
    ['a trailing newline', `${m}\n`, /expected a "- " line/],
    ['a leading newline', `\n${m}`, /first line is not a SIWE header/],
    ['a trailing space on a line', m.replace('Version: 1', 'Version: 1 '), /version is not 1/],
    [
      'Expiration Time missing',
      m.replace('\nExpiration Time: 2030-01-01T13:00:00.000Z', ''),
      /Expiration Time is required/,
    ],
    [
      'Expiration Time before Issued At',
      m.replace('T13:00:00.000Z', 'T11:00:00.000Z'),
      /Expiration Time is not after Issued At/,
    ],
    [
      'Not Before after Expiration Time',
      m.replace('\nResources:', '\nNot Before: 2030-01-01T13:00:00.000Z\nResources:'),
      /Not Before is not before Expiration Time/,
    ],
    [
      'a Request ID',
      m.replace('\nResources:', '\nRequest ID: abc\nResources:'),
      /Request ID is not part of qkms/,
    ],
    ['a scheme before the domain', `https://${m}`, /a scheme before the domain/],
    [
      'a lower-case address',
      m.replace(account.address, account.address.toLowerCase()),
      /not EIP-55/,
    ],
    [
      'an upper-case nodeSetId',
      m.replace(`qkms://${toHex(NODE_SET)}`, `qkms://${toHex(NODE_SET).toUpperCase()}`),
      /URI is not qkms/,
    ],
    ['an https URI', m.replace('URI: qkms://', 'URI: https://'), /URI is not qkms/],
    [
      'a session key of another type',
      m.replace('session:ed25519:', 'session:x25519:'),
      /first resource is not the session key/,
    ],
    [
      'a nonce of 7 characters',
      m.replace('Nonce: qkmsTestNonce0001', 'Nonce: qkmsTes'),
      /nonce is not 8 or more/,
    ],
    [
      'a nonce of 129 characters (over the field bound)',
      m.replace('Nonce: qkmsTestNonce0001', `Nonce: ${'n'.repeat(129)}`),
      /nonce: expected at most 128/,
    ],
    [
      'a domain of 256 characters (over the field bound)',
      m.replace(`${DOMAIN} wants`, `${'d'.repeat(256)} wants`),
      /domain: expected at most 255/,
    ],
    [
      'a message over MAX_DELEGATION_MESSAGE_BYTES',
      `${m}\n- urn:x:${'a'.repeat(MAX_DELEGATION_MESSAGE_BYTES)}`,
      /message: expected at most 4096 bytes/,
    ],
    [
      'a non-canonical ReCap (pretty JSON) with the matching statement',
      m.replace(
        recapLine,
        `- urn:recap:${btoa(
          '{"att": {"urn:qkms:content:' + toHex(CONTENT) + '": {"qkms/recover": [{}]}}}',
        )
          .replaceAll('=', '')
          .replaceAll('+', '-')
          .replaceAll('/', '_')}`,
      ),
      /not in canonical form/,
    ],
    [
      'a Cyrillic lookalike in the domain',
      m.replace(`${DOMAIN} wants`, 'qkms.exаmple wants'),
      /outside printable ASCII and LF/,
    ],
  ];
  it.each(cases)('%s', async (_name, text, reason) => {
    expect(text).not.toBe(m);
    expect(() =>
      verifyDelegationSignature(nobleSuite, { message: text, signature: valid.signature }),
    ).toThrow(INVALID);
    const d = await signed(text);
    expect(() => verifyDelegation(nobleSuite, d, bindings())).toThrow(
      expect.objectContaining({
        code: ErrorCode.DELEGATION_INVALID,
        message: expect.stringMatching(reason),
      }),
    );
  });

  it('a domain that EIP-4361 allows but ox cannot read (userinfo) is refused: both parsers must agree', async () => {
    const text = m.replace(`${DOMAIN} wants`, `user@${DOMAIN} wants`);
    const d = await signed(text);
    expect(() => verifyDelegation(nobleSuite, d, bindings({ domain: `user@${DOMAIN}` }))).toThrow(
      expect.objectContaining({
        code: ErrorCode.DELEGATION_INVALID,
        message: 'delegation: ox reads this message differently',
      }),
    );
  });
});

describe('a bad signature is DELEGATION_INVALID', () => {
  it('the high-S twin of a valid signature (s′ = n − s, v flipped)', () => {
    const twin = highSTwin(valid.signature);
    expect(toHex(twin)).not.toBe(toHex(valid.signature));
    expect(() =>
      verifyDelegation(nobleSuite, { message: valid.message, signature: twin }, bindings()),
    ).toThrow(INVALID);
  });

  it("another wallet's signature over the same text", async () => {
    const d = await signed(valid.message, otherAccount);
    expect(() => verifyDelegation(nobleSuite, d, bindings())).toThrow(INVALID);
  });

  it.each<[string, unknown]>([
    ['64 bytes', valid.signature.subarray(0, 64)],
    ['66 bytes', concatBytes(valid.signature, new Uint8Array(1))],
    ['v = 29', Uint8Array.from([...valid.signature.subarray(0, 64), 29])],
    ['all zero', new Uint8Array(65)],
    ['hex text instead of bytes', Hex.fromBytes(valid.signature)],
    ['an Array of numbers', Array.from(valid.signature)],
  ])('a signature that is %s', (_name, signature) => {
    const d = { message: valid.message, signature } as Delegation;
    expect(() => verifyDelegation(nobleSuite, d, bindings())).toThrow(INVALID);
  });

  it.each<[string, unknown]>([
    ['a message that is not a string', { message: 1, signature: valid.signature }],
    ['null', null],
    ['a string', 'delegation'],
  ])('a delegation that is %s', (_name, d) => {
    expect(() => verifyDelegation(nobleSuite, d as Delegation, bindings())).toThrow(INVALID);
    expect(() => delegationHash(nobleSuite, d as Delegation)).toThrow(INVALID);
  });
});

describe('createDelegation refuses what a node would refuse', () => {
  it.each<[string, unknown, ErrorCode]>([
    ['an unknown key', { ...params(), requestId: 'x' }, ErrorCode.INVALID_ARGUMENT],
    ['no expiry', { ...params(), expiresAt: undefined }, ErrorCode.INVALID_ARGUMENT],
    ['a domain with a space', params({ domain: 'qkms example' }), ErrorCode.INVALID_ARGUMENT],
    [
      'a domain with a scheme',
      params({ domain: 'https://qkms.example' }),
      ErrorCode.INVALID_ARGUMENT,
    ],
    ['a domain with userinfo', params({ domain: 'user@qkms.example' }), ErrorCode.INVALID_ARGUMENT],
    ['a short nodeSetId', params({ nodeSetId: new Uint8Array(31) }), ErrorCode.INVALID_LENGTH],
    ['a fractional chain id', params({ chainId: 1.5 }), ErrorCode.INVALID_ARGUMENT],
    ['a negative chain id', params({ chainId: -1 }), ErrorCode.INVALID_ARGUMENT],
    [
      'a long session key',
      params({ sessionPublicKey: new Uint8Array(33) }),
      ErrorCode.INVALID_LENGTH,
    ],
    ['expiry = issuance', params({ expiresAt: T0 }), ErrorCode.INVALID_ARGUMENT],
    ['Not Before = expiry', params({ notBefore: T0 + HOUR }), ErrorCode.INVALID_ARGUMENT],
    [
      'a year beyond 9999',
      params({ expiresAt: Date.UTC(10000, 0, 1) }),
      ErrorCode.INVALID_ARGUMENT,
    ],
    ['a nonce of 7 characters', params({ nonce: 'abcdefg' }), ErrorCode.INVALID_ARGUMENT],
    ['a nonce with a dash', params({ nonce: 'abcd-efgh' }), ErrorCode.INVALID_ARGUMENT],
    [
      'no capability',
      params({ capabilities: { actions: [], content: 'all' } }),
      ErrorCode.INVALID_ARGUMENT,
    ],
    [
      'a wallet address with a bad checksum',
      params({
        wallet: {
          ...walletOf(account),
          address: account.address.replace(/[a-f]/, (c) => c.toUpperCase()),
        },
      }),
      ErrorCode.INVALID_ARGUMENT,
    ],
    [
      'a wallet without signMessage',
      params({ wallet: { address: account.address } as WalletSigner }),
      ErrorCode.INVALID_ARGUMENT,
    ],
  ])('%s', async (_name, p, expected) => {
    await expect(createDelegation(p as CreateDelegationParams)).rejects.toThrow(code(expected));
  });

  it('accepts a lower-case wallet address and writes it EIP-55', async () => {
    const wallet = { ...walletOf(account), address: account.address.toLowerCase() };
    const d = await createDelegation(params({ wallet }));
    expect(verifyDelegationSignature(nobleSuite, d).address).toBe(account.address);
  });

  it.each<[string, (message: string) => Promise<string>]>([
    ['throws (user rejected)', () => Promise.reject(new Error('User rejected the request'))],
    ['returns 64 bytes', async (message) => (await account.signMessage({ message })).slice(0, -2)],
    ['returns no hex', () => Promise.resolve('signature')],
    ['signs with another account', (message) => otherAccount.signMessage({ message })],
    [
      'returns the high-S twin',
      async (message) =>
        Hex.fromBytes(highSTwin(Hex.toBytes(await account.signMessage({ message })))),
    ],
  ])('a wallet that %s fails with INVALID_ARGUMENT and the cause', async (_name, signMessage) => {
    const wallet: WalletSigner = { address: account.address, signMessage };
    const e: unknown = await createDelegation(params({ wallet })).catch((err: unknown) => err);
    expect(isQkmsError(e, ErrorCode.INVALID_ARGUMENT)).toBe(true);
  });

  it('the longest content list allowed (MAX_CAPABILITY_CONTENT_IDS) fits the message cap and verifies; one more id is refused', async () => {
    const caps = (k: number): Capabilities => ({
      actions: ['publish', 'recover'],
      content: Array.from({ length: k }, (_, i) => id(i)),
    });
    let fits = 0;
    for (let k = 1; k <= 64; k++) {
      try {
        await createDelegation(params({ capabilities: caps(k) }));
        fits = k;
      } catch (e) {
        expect(e).toEqual(code(ErrorCode.INVALID_ARGUMENT));
        break;
      }
    }
    expect(fits).toBe(MAX_CAPABILITY_CONTENT_IDS);
    const d = await createDelegation(params({ capabilities: caps(fits) }));
    expect(utf8(d.message).length).toBeLessThanOrEqual(MAX_DELEGATION_MESSAGE_BYTES);
    const p = verifyDelegation(
      nobleSuite,
      d,
      bindings({ contentId: id(fits - 1), action: 'publish' }),
    );
    expect(p.capabilities.content).toHaveLength(fits);
  });
});

describe('properties', () => {
  const alphabet = fc.oneof(
    fc.constantFrom(
      '\n',
      '\r',
      ' ',
      '\t',
      '0',
      'a',
      'A',
      'f',
      ':',
      '-',
      "'",
      '.',
      '\u00e9',
      '\u0000',
    ),
    fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme-ascii' }),
    fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
  );
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), char: alphabet }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), char: fc.constant('') }),
    fc.record({ op: fc.constant('replace' as const), at: fc.nat(), char: alphabet }),
  );

  function mutate(text: string, m: { op: string; at: number; char: string }): string {
    const at = m.at % (text.length + (m.op === 'insert' ? 1 : 0));
    if (m.op === 'insert') return text.slice(0, at) + m.char + text.slice(at);
    if (m.op === 'delete') return text.slice(0, at) + text.slice(at + 1);
    return text.slice(0, at) + m.char + text.slice(at + 1);
  }

  function refusedWithQkmsError(d: Delegation): boolean {
    try {
      verifyDelegation(nobleSuite, d, bindings());
      return false;
    } catch (e) {
      return e instanceof QkmsError;
    }
  }

  it('one to three character edits (insert, delete, replace) of a signed message never verify and only throw QkmsError', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
        const text = ms.reduce(mutate, valid.message);
        fc.pre(text !== valid.message);
        expect(refusedWithQkmsError({ message: text, signature: valid.signature })).toBe(true);
      }),
      { numRuns: 4000 },
    );
  });

  it('a flipped signature bit never verifies and only throws QkmsError', () => {
    fc.assert(
      fc.property(fc.nat({ max: 65 * 8 - 1 }), (bit) => {
        const signature = valid.signature.slice();
        signature[bit >> 3] = (signature[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        expect(refusedWithQkmsError({ message: valid.message, signature })).toBe(true);
      }),
      { numRuns: 520 },
    );
  });

  it('arbitrary messages and signature bytes only ever throw QkmsError', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 600 }),
        fc.uint8Array({ minLength: 64, maxLength: 66 }),
        (message, signature) => {
          expect(refusedWithQkmsError({ message, signature })).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
