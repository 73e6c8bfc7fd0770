// /qkms/recover on the node: DESIGN.md's eleven steps, cheapest first. Every
// failure is a QkmsError carrying a wire rejection code (the stream template
// turns it into a `reject`), and no share leaves on any failure path.
// Steps 1-6 are synchronous; the nonce is reserved before the first await.
import {
  ErrorCode,
  MAX_FRAME_BYTES,
  QkmsError,
  checkDelegationBindings,
  checkRequestFreshness,
  decodeCanonical,
  decodeMessage,
  delegationHash,
  encodeMessage,
  isQkmsError,
  manifestFromCbor,
  policyAdmits,
  recoverSealContext,
  seal,
  verifyRecoverRequestSignature,
  type Manifest,
  rejectionCodeOf,
} from '../../protocol/index.ts';
import type { DelegationCache } from './delegation-cache.ts';
import type { Principals, ServiceDeps, StoredContent } from './types.ts';

/** A decoded manifest is small; caching the last few hundred saves a decode per recover. */
const MANIFEST_CACHE_ENTRIES = 512;

function reject(code: ErrorCode, message: string): QkmsError {
  return new QkmsError(code, message);
}

export class RecoverService {
  readonly #deps: ServiceDeps;
  readonly #delegations: DelegationCache;
  readonly #manifests = new Map<string, Manifest>();

  constructor(deps: ServiceDeps, delegations: DelegationCache) {
    this.#deps = deps;
    this.#delegations = delegations;
  }

  /**
   * Handles one recover frame; resolves with the encoded `share` message.
   * A refusal after the delegation verified (so it names a wallet that signed
   * for this node set) is also a custody decision: it gets an audit record, written after the
   * answer is decided (nothing leaves, so nothing waits on it).
   */
  async handle(frame: Uint8Array): Promise<Uint8Array> {
    const known: { principals?: Partial<Principals> } = {};
    try {
      return await this.#handle(frame, known);
    } catch (e) {
      const code = rejectionCodeOf(e);
      if (known.principals !== undefined && code !== ErrorCode.AUDIT_UNAVAILABLE) {
        this.#deps.audit
          .record({ kind: 'recover-refused', code, principals: known.principals })
          .catch(() => undefined); // counted and logged by the audit log
      }
      throw e;
    }
  }

  async #handle(
    frame: Uint8Array,
    known: { principals?: Partial<Principals> },
  ): Promise<Uint8Array> {
    const d = this.#deps;
    const { metrics } = d;
    const now = d.clock();
    const params = d.nodeSet.params;

    // 1-2. canonical decode, version, node set, audience.
    const message = metrics.time('decode', () =>
      decodeMessage(frame, MAX_FRAME_BYTES.recover, ['recover']),
    );
    const { request, delegation } = message;
    const body = request.body;
    if (!d.suite.equalBytes(body.nodeSetId, d.nodeSet.id))
      throw reject(ErrorCode.WRONG_NODE_SET, 'request names another node set');
    if (body.node !== d.self.index)
      throw reject(ErrorCode.WRONG_AUDIENCE, 'request is for another node');

    // 3. freshness by our clock; and the replay epoch after an unclean restart.
    checkRequestFreshness(body, {
      now,
      maxAgeMs: params.maxGrantAgeMs,
      maxSkewMs: params.maxClockSkewMs,
    });
    if (body.issuedAt < d.epochStart)
      throw reject(ErrorCode.STALE_EPOCH, 'request predates the node restart');

    // 4. the session's signature.
    metrics.time('request_signature', () => {
      verifyRecoverRequestSignature(d.suite, request);
    });

    // 5. the delegation: the one the request names, valid, for this session, granting recover on this content.
    const hash = delegationHash(d.suite, delegation);
    if (!d.suite.equalBytes(hash, body.delegationHash)) {
      throw reject(ErrorCode.DELEGATION_INVALID, 'request names another delegation');
    }
    const parsed = metrics.time('delegation', () => {
      const p = this.#delegations.verify(delegation, hash);
      checkDelegationBindings(p, {
        domain: params.siweDomain,
        nodeSetId: d.nodeSet.id,
        chainId: params.chainId,
        now,
        maxLifetimeMs: params.maxDelegationLifetimeMs,
        maxClockSkewMs: params.maxClockSkewMs,
        sessionPublicKey: body.sessionKey,
        action: 'recover',
        contentId: body.contentId,
      });
      return p;
    });
    // From here the request names a wallet that signed for this node set: a refusal is recorded.
    known.principals = {
      wallet: parsed.addressBytes,
      session: body.sessionKey,
      content: body.contentId,
    };
    if (!d.walletRate(parsed.addressBytes))
      throw reject(ErrorCode.RATE_LIMITED, 'wallet rate exceeded');

    // 6. revocation.
    const principals: Principals = {
      wallet: parsed.addressBytes,
      session: body.sessionKey,
      delegation: hash,
      delegationIssuedAt: parsed.issuedAt,
      content: body.contentId,
    };
    d.revocations.assertNotRevoked(principals);

    // 8a. reserve the nonce, synchronously, before the first await.
    const expiresAt = body.issuedAt + params.maxGrantAgeMs + params.maxClockSkewMs;
    if (!d.nonces.reserve(body.sessionKey, body.nonce, expiresAt)) {
      metrics.replayRejections.inc();
      throw reject(ErrorCode.REPLAYED, 'nonce already used');
    }

    // 7. the content and its access policy.
    const content = await this.#content(body.contentId);
    const manifest = this.#manifest(content);
    if (!policyAdmits(manifest.body, parsed.addressBytes))
      throw reject(ErrorCode.ACCESS_DENIED, 'policy refuses this wallet');

    // 8b. the nonce, durably.
    await metrics
      .timeAsync('replay_commit', () => d.nonces.commit(body.sessionKey, body.nonce))
      .catch((e: unknown) => {
        d.log.error('nonce record failed', { error: errorName(e) });
        throw reject(ErrorCode.INTERNAL, 'nonce could not be recorded');
      });

    // 9. revocation again, immediately before sealing: a revocation that landed meanwhile wins.
    if (d.faults.beforeSeal !== undefined) await d.faults.beforeSeal();
    d.revocations.assertNotRevoked(principals);

    // 10. custody record, durably, before the share leaves.
    await metrics
      .timeAsync('audit', () => d.audit.record({ kind: 'share-released', principals }))
      .catch((e: unknown) => {
        d.log.error('audit record failed', { error: errorName(e) });
        throw reject(ErrorCode.AUDIT_UNAVAILABLE, 'custody record could not be written');
      });

    // 11. seal the share to the request's recipient key, bound to the request's fields.
    const share = content.share.slice();
    try {
      if (d.faults.wrongShare === true) share[0] = (share[0] ?? 0) ^ 0x5a;
      const sealed = await metrics.timeAsync('seal', () =>
        seal(d.suite, body.recipientKey, recoverSealContext(body), share),
      );
      if (d.faults.delayMs !== undefined) await sleep(d.faults.delayMs);
      return encodeMessage({ type: 'share', sealed });
    } finally {
      share.fill(0);
    }
  }

  async #content(contentId: Uint8Array): Promise<StoredContent> {
    const d = this.#deps;
    let content: StoredContent | undefined;
    try {
      content = await d.metrics.timeAsync('store_read', () => d.store.getContent(contentId));
    } catch (e) {
      const corrupt = isQkmsError(e, ErrorCode.STORE_CORRUPT);
      d.metrics.storeErrors.inc({ kind: corrupt ? 'corrupt' : 'io' });
      d.log.error(corrupt ? 'stored content failed authentication' : 'store read failed', {
        content: d.fingerprint(contentId),
      });
      throw reject(ErrorCode.INTERNAL, 'content could not be read');
    }
    if (content === undefined) throw reject(ErrorCode.UNKNOWN_CONTENT, 'no share for this content');
    return content;
  }

  #manifest(content: StoredContent): Manifest {
    const key = Buffer.from(content.manifestHash).toString('hex');
    let manifest = this.#manifests.get(key);
    if (manifest === undefined) {
      manifest = manifestFromCbor(decodeCanonical(content.manifest, MAX_FRAME_BYTES.publish));
      this.#manifests.set(key, manifest);
      if (this.#manifests.size > MANIFEST_CACHE_ENTRIES) {
        const oldest = this.#manifests.keys().next();
        if (oldest.done !== true) this.#manifests.delete(oldest.value);
      }
    }
    return manifest;
  }
}

export function errorName(e: unknown): string {
  if (isQkmsError(e)) return e.code;
  return e instanceof Error ? e.name : typeof e;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
