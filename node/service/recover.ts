// /qkms/recover on the node: DESIGN.md's eleven steps, cheapest first. Every
// failure is a QkmsError carrying a wire rejection code (the stream template
// turns it into a `reject`), and no share leaves on any failure path.
// Steps 1-6 are synchronous; the nonce is reserved before the first await.
// Within them the order is by cost (decision 0006): a lookup of the nonce and
// the delegation hash come before the Ed25519 signature, which comes before
// the wallet's secp256k1 recovery; and the recovery's verdict, yes or no, is
// remembered by the delegation's exact bytes, so a resent bad request costs
// no second recovery. A refusal that the frame's bytes alone decide (a bad
// signature, a wrong node set, ...) is remembered by the frame's digest, so
// the same bad bytes again cost one SHA-256. These caches live as long as the
// node set does. A reservation of a request refused before its nonce is
// durable is given back, so refused requests never fill the replay guard.
import {
  BoundedMap,
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
  recoverSealContext,
  seal,
  sharingRecordFromCbor,
  verifyRecoverRequestSignature,
  type Manifest,
  type SharingRecord,
  rejectionCodeOf,
} from '../../protocol/internal.ts';
import type { DelegationCache } from './delegation-cache.ts';
import type { Principals, ServiceDeps, StoredContent } from './types.ts';

/** A decoded manifest is small; caching the last few hundred saves a decode per recover. */
const MANIFEST_CACHE_ENTRIES = 512;
/** Refused frames remembered by digest: ~150 bytes each, so ~1.5 MiB. */
export const REFUSED_FRAME_ENTRIES = 10_000;

/**
 * Refusals that are a function of the frame's bytes and the node set alone —
 * never of the clock, the store, the revocation set or a rate — so the same
 * bytes always earn them again. Those are remembered by the frame's digest.
 */
const BYTE_DETERMINED: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.MALFORMED,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.WRONG_NODE_SET,
  ErrorCode.WRONG_AUDIENCE,
  ErrorCode.BAD_REQUEST_SIGNATURE,
  ErrorCode.DELEGATION_INVALID,
  ErrorCode.CAPABILITY_DENIED,
]);

function reject(code: ErrorCode, message: string): QkmsError {
  return new QkmsError(code, message);
}

export class RecoverService {
  readonly #deps: ServiceDeps;
  readonly #delegations: DelegationCache;
  readonly #manifests = new BoundedMap<string, Manifest>(MANIFEST_CACHE_ENTRIES);
  readonly #sharingRecords = new BoundedMap<string, SharingRecord>(MANIFEST_CACHE_ENTRIES);
  /** Digest of a refused frame -> its byte-determined refusal (one SHA-256 instead of decode and signatures). */
  readonly #refusedFrames = new BoundedMap<string, ErrorCode>(REFUSED_FRAME_ENTRIES);

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
  async handle(frame: Uint8Array, source: string): Promise<Uint8Array> {
    const known: { principals?: Partial<Principals> } = {};
    const digest = String.fromCharCode(...this.#deps.suite.sha256(frame));
    const refused = this.#refusedFrames.get(digest);
    if (refused !== undefined) throw reject(refused, 'these bytes were refused before');
    try {
      return await this.#handle(frame, source, known);
    } catch (e) {
      const code = rejectionCodeOf(e);
      if (BYTE_DETERMINED.has(code)) this.#refusedFrames.set(digest, code);
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
    source: string,
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

    // 8, early: bytes of a request already served, or in flight, are a replay before
    // any signature work (the pair is unauthenticated here, but a lookup releases nothing).
    if (d.nonces.has(body.sessionKey, body.nonce)) {
      metrics.replayRejections.inc();
      throw reject(ErrorCode.REPLAYED, 'nonce already used');
    }

    // 5, first part: the request names this delegation (one SHA-256, before any signature).
    const hash = delegationHash(d.suite, delegation);
    if (!d.suite.equalBytes(hash, body.delegationHash)) {
      throw reject(ErrorCode.DELEGATION_INVALID, 'request names another delegation');
    }

    // 4. the session's signature (Ed25519: ~30 times cheaper than the wallet's recovery).
    metrics.time('request_signature', () => {
      verifyRecoverRequestSignature(d.suite, request);
    });

    // 5. the delegation: valid, for this session, granting recover on this content.
    // Its verdict, good or bad, is remembered by its exact bytes (delegation-cache.ts).
    const parsed = metrics.time('delegation', () => {
      const p = this.#delegations.verify(delegation, hash);
      checkDelegationBindings(p, {
        domain: params.siweDomain,
        // A session delegated for a set before a cutover keeps working (decision 0017).
        nodeSetId: d.lineage.find((id) => d.suite.equalBytes(id, p.nodeSetId)) ?? d.nodeSet.id,
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

    // 8a. reserve the nonce, synchronously, before the first await; charged to
    // the wallet and the source, so neither can hold more than its share of the guard.
    const expiresAt = body.issuedAt + params.maxGrantAgeMs + params.maxClockSkewMs;
    if (
      !d.nonces.reserve(body.sessionKey, body.nonce, expiresAt, {
        wallet: parsed.addressBytes,
        source,
      })
    ) {
      metrics.replayRejections.inc();
      throw reject(ErrorCode.REPLAYED, 'nonce already used');
    }

    // 7 and 8b. A reservation that is never committed (the request is refused
    // before its nonce is durable) is given back: refused requests hold no slot.
    let content: StoredContent;
    /** The record a redistributed share lies on, sent with it (decision 0017). */
    let sharing: SharingRecord | undefined;
    try {
      // 7. the content and its access policy.
      content = await this.#content(body.contentId);
      const manifest = this.#manifest(content);
      sharing = content.sharing === undefined ? undefined : this.#sharing(content.sharing);
      // A share of the set before a cutover that was never handed over is not served:
      // it lies on a polynomial no client of this set can check (decision 0017).
      const holder = sharing === undefined ? manifest.body.nodeSetId : sharing.body.nodeSetId;
      if (!d.suite.equalBytes(holder, d.nodeSet.id))
        throw reject(ErrorCode.UNKNOWN_CONTENT, 'no share of this node set for this content');
      // Synchronous unless a chain read is missing from the node's cache (node/policy/).
      const admitted = d.policy.admit(manifest.body.policy, {
        wallet: parsed.addressBytes,
        publisher: manifest.body.publisher,
        contentId: body.contentId,
        now,
      });
      if (admitted !== undefined) await admitted;
    } catch (e) {
      d.nonces.release(body.sessionKey, body.nonce);
      throw e;
    }

    // 9. revocation again: a revocation that landed meanwhile wins (checked here, before
    // the writes, so that no custody record is written for a request already known revoked).
    if (d.faults.beforeSeal !== undefined) await d.faults.beforeSeal();
    d.revocations.assertNotRevoked(principals);

    // 8b and 10. The nonce and the custody record, durably, before the share leaves. They
    // are handed to the store in the same turn, so its group commit writes them in ONE
    // synced batch (decision 0019). If only the custody record is written, it names a share
    // that never left: the safe side.
    const [nonce, custody] = await Promise.allSettled([
      metrics.timeAsync('replay_commit', () => d.nonces.commit(body.sessionKey, body.nonce)),
      metrics.timeAsync('audit', () => d.audit.record({ kind: 'share-released', principals })),
    ]);
    if (nonce.status === 'rejected') {
      d.log.error('nonce record failed', { error: errorName(nonce.reason) });
      throw reject(ErrorCode.INTERNAL, 'nonce could not be recorded');
    }
    if (custody.status === 'rejected') {
      d.log.error('audit record failed', { error: errorName(custody.reason) });
      throw reject(ErrorCode.AUDIT_UNAVAILABLE, 'custody record could not be written');
    }

    if (d.faults.afterCustodyRecord !== undefined) await d.faults.afterCustodyRecord();

    // 11. seal the share to the request's recipient key, bound to the request's fields.
    const share = content.share.slice();
    try {
      if (d.faults.wrongShare === true) share[0] = (share[0] ?? 0) ^ 0x5a;
      const sealed = await metrics.timeAsync('seal', () =>
        seal(d.suite, body.recipientKey, recoverSealContext(body), share),
      );
      if (d.faults.delayMs !== undefined) await sleep(d.faults.delayMs);
      // 9, last: after the synced custody write and the seal, the last point before the
      // answer leaves, a revocation that landed while they ran still wins. The record
      // then names a share that was never sent, which errs on the safe side.
      d.revocations.assertNotRevoked(principals);
      return encodeMessage({
        type: 'share',
        sealed,
        ...(sharing === undefined ? {} : { sharing }),
      });
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

  /** The sharing record a redistributed share lies on, decoded once per record. */
  #sharing(bytes: Uint8Array): SharingRecord {
    const key = String.fromCharCode(...this.#deps.suite.sha256(bytes));
    let record = this.#sharingRecords.get(key);
    if (record === undefined) {
      record = sharingRecordFromCbor(decodeCanonical(bytes, MAX_FRAME_BYTES.publish));
      this.#sharingRecords.set(key, record);
    }
    return record;
  }

  #manifest(content: StoredContent): Manifest {
    const key = Buffer.from(content.manifestHash).toString('hex');
    let manifest = this.#manifests.get(key);
    if (manifest === undefined) {
      manifest = manifestFromCbor(decodeCanonical(content.manifest, MAX_FRAME_BYTES.publish));
      this.#manifests.set(key, manifest);
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
