// The recover request: what the session signs, what a node checks first, and
// the seal context derived from exactly the request's fields.
import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { ErrorCode } from '../errors.ts';
import { open, seal } from '../seal.ts';
import { requireNativeSuite } from '../suite/native.ts';
import { nobleSuite } from '../suite/noble.ts';
import {
  checkRequestFreshness,
  recoverSealContext,
  requestSigningBytes,
  signRecoverRequest,
  verifyRecoverRequestSignature,
  type RecoverRequestBody,
} from './request.ts';

const suite = requireNativeSuite();
const code = (c: string): unknown => expect.objectContaining({ code: c });

function fixture(): {
  request: ReturnType<typeof signRecoverRequest>;
  recipient: ReturnType<typeof suite.xwing.keygen>;
} {
  const session = suite.ed25519.signer(suite.ed25519.keygen().secretKey);
  const recipient = suite.xwing.keygen();
  const request = signRecoverRequest(suite, session, {
    nodeSetId: suite.randomBytes(32),
    node: 3,
    contentId: suite.randomBytes(32),
    issuedAt: 1_800_000_000_000,
    recipientKey: recipient.publicKey,
    delegationHash: suite.randomBytes(32),
  });
  return { request, recipient };
}

describe('recover request signature', () => {
  it('verifies on both backends and names its own session key', () => {
    const { request } = fixture();
    expect(request.body.nonce.length).toBe(16);
    verifyRecoverRequestSignature(suite, request);
    verifyRecoverRequestSignature(nobleSuite, request);
  });

  it('fails BAD_REQUEST_SIGNATURE when any signed field changes', () => {
    const { request } = fixture();
    const flip = (b: Uint8Array): Uint8Array => {
      const c = b.slice();
      c[0] = (c[0] ?? 0) ^ 1;
      return c;
    };
    const variants: Record<string, Partial<RecoverRequestBody>> = {
      nodeSetId: { nodeSetId: flip(request.body.nodeSetId) },
      node: { node: 4 },
      contentId: { contentId: flip(request.body.contentId) },
      nonce: { nonce: flip(request.body.nonce) },
      issuedAt: { issuedAt: request.body.issuedAt + 1 },
      recipientKey: { recipientKey: suite.xwing.keygen().publicKey },
      delegationHash: { delegationHash: flip(request.body.delegationHash) },
      sessionKey: { sessionKey: suite.ed25519.keygen().publicKey },
    };
    for (const [name, change] of Object.entries(variants)) {
      const tampered = { body: { ...request.body, ...change }, signature: request.signature };
      expect(() => {
        verifyRecoverRequestSignature(suite, tampered);
      }, name).toThrow(code(ErrorCode.BAD_REQUEST_SIGNATURE));
    }
    expect(() => {
      verifyRecoverRequestSignature(suite, { ...request, signature: flip(request.signature) });
    }).toThrow(code(ErrorCode.BAD_REQUEST_SIGNATURE));
  });

  it('signs bytes that start with the request domain tag', () => {
    const { request } = fixture();
    const bytes = requestSigningBytes(request.body);
    expect(new TextDecoder().decode(bytes.subarray(0, 24))).toBe('qkms/v1/recover-request\0');
  });

  it('refuses malformed fields before signing', () => {
    const { request } = fixture();
    expect(() => requestSigningBytes({ ...request.body, nonce: new Uint8Array(15) })).toThrow(
      code(ErrorCode.INVALID_LENGTH),
    );
    expect(() => requestSigningBytes({ ...request.body, node: 0 })).toThrow(
      code(ErrorCode.INVALID_ARGUMENT),
    );
  });
});

describe('freshness (step 3)', () => {
  const clock = { maxAgeMs: 60_000, maxSkewMs: 5_000 };
  it('accepts issuedAt inside [now - maxAge, now + maxSkew] and refuses outside, with distinct codes', () => {
    const { request } = fixture();
    const at = request.body.issuedAt;
    checkRequestFreshness(request.body, { ...clock, now: at });
    checkRequestFreshness(request.body, { ...clock, now: at + 60_000 });
    checkRequestFreshness(request.body, { ...clock, now: at - 5_000 });
    expect(() => {
      checkRequestFreshness(request.body, { ...clock, now: at + 60_001 });
    }).toThrow(code(ErrorCode.REQUEST_EXPIRED));
    expect(() => {
      checkRequestFreshness(request.body, { ...clock, now: at - 5_001 });
    }).toThrow(code(ErrorCode.REQUEST_FROM_FUTURE));
  });
});

describe('seal context', () => {
  it('a share sealed for one request opens only under that request and its recipient key', async () => {
    const { request, recipient } = fixture();
    const share = suite.randomBytes(32);
    const sealed = await seal(
      suite,
      request.body.recipientKey,
      recoverSealContext(request.body),
      share,
    );
    expect(
      toHex(await open(nobleSuite, recipient.secretKey, recoverSealContext(request.body), sealed)),
    ).toBe(toHex(share));
    const other = { ...request.body, nonce: suite.randomBytes(16) };
    await expect(
      open(suite, recipient.secretKey, recoverSealContext(other), sealed),
    ).rejects.toThrow(code(ErrorCode.DECRYPT_FAILED));
    const otherNode = { ...request.body, node: 2 };
    await expect(
      open(suite, recipient.secretKey, recoverSealContext(otherNode), sealed),
    ).rejects.toThrow(code(ErrorCode.DECRYPT_FAILED));
  });
});
