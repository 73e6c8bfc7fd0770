// /qkms/publish on the node (DESIGN.md, Publish): check the publisher's grant
// and manifest, open the share sealed to this node and check it against its
// commitment, enforce content ownership (the first publisher owns a content
// id; only the owner may republish), store durably, and answer with a receipt
// signed by the node key. Idempotent: the same manifest and share again is
// 'unchanged'.
import {
  ErrorCode,
  MAX_FRAME_BYTES,
  QkmsError,
  checkShare,
  decodeMessage,
  encodeMessage,
  isQkmsError,
  manifestHash,
  manifestToCbor,
  encodeCanonical,
  open,
  publishSealContext,
  signReceipt,
  toHex,
  verifyManifest,
  PROTOCOL_VERSION,
} from '../../protocol/internal.ts';
import type { DelegationCache } from './delegation-cache.ts';
import { errorName, sleep } from './recover.ts';
import type { Principals, ServiceDeps, StoredContent } from './types.ts';

function reject(code: ErrorCode, message: string): QkmsError {
  return new QkmsError(code, message);
}

export class PublishService {
  readonly #deps: ServiceDeps;
  readonly #delegations: DelegationCache;
  /** Publishes of one content id run one at a time, so ownership cannot race. */
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(deps: ServiceDeps, delegations: DelegationCache) {
    this.#deps = deps;
    this.#delegations = delegations;
  }

  async handle(frame: Uint8Array): Promise<Uint8Array> {
    const d = this.#deps;
    const now = d.clock();
    const { manifest, sealed } = d.metrics.time('decode', () =>
      decodeMessage(frame, MAX_FRAME_BYTES.publish, ['publish']),
    );
    const body = manifest.body;
    if (!d.suite.equalBytes(body.nodeSetId, d.nodeSet.id))
      throw reject(ErrorCode.WRONG_NODE_SET, 'manifest names another node set');

    const parsed = d.metrics.time('delegation', () => {
      try {
        // The wallet's recovery through the verdict cache: a resent bad manifest costs none.
        return verifyManifest(d.suite, manifest, d.nodeSet, now, (delegation) =>
          this.#delegations.verify(delegation, body.delegationHash),
        );
      } catch (e) {
        if (isQkmsError(e, ErrorCode.INVALID_MANIFEST))
          throw reject(ErrorCode.BAD_MANIFEST, e.message);
        throw e;
      }
    });
    if (!d.walletRate(parsed.addressBytes))
      throw reject(ErrorCode.RATE_LIMITED, 'wallet rate exceeded');
    const principals: Principals = {
      wallet: parsed.addressBytes,
      session: body.sessionKey,
      delegation: parsed.hash,
      delegationIssuedAt: parsed.issuedAt,
      content: body.contentId,
    };
    d.revocations.assertNotRevoked(principals);
    // Content no node here can evaluate is refused before it is stored.
    d.policy.assertSupported(body.policy);

    const share = await open(
      d.suite,
      d.self.kem,
      publishSealContext(body, d.self.index),
      sealed,
    ).catch(() => {
      throw reject(ErrorCode.SHARE_MISMATCH, 'sealed share does not open for this node');
    });
    try {
      if (!checkShare(body, d.self.index, share))
        throw reject(ErrorCode.SHARE_MISMATCH, 'share is not on the committed polynomial');
      const hash = manifestHash(d.suite, manifest);
      const record: StoredContent = {
        contentId: body.contentId,
        manifest: encodeCanonical(manifestToCbor(manifest)),
        manifestHash: hash,
        owner: body.publisher,
        share,
        storedAt: now,
      };
      const status = await this.#serialized(toHex(body.contentId), () => this.#store(record));
      await d.audit.record({ kind: 'share-published', principals, status }).catch((e: unknown) => {
        d.log.error('audit record failed', { error: errorName(e) });
        throw reject(ErrorCode.AUDIT_UNAVAILABLE, 'custody record could not be written');
      });
      const receipt = signReceipt(d.self.identity, {
        version: PROTOCOL_VERSION,
        nodeSetId: d.nodeSet.id,
        node: d.self.index,
        contentId: body.contentId,
        manifestHash: hash,
        status,
        at: now,
      });
      if (d.faults.delayMs !== undefined) await sleep(d.faults.delayMs);
      return encodeMessage({ type: 'receipt', receipt });
    } finally {
      share.fill(0);
    }
  }

  async #store(record: StoredContent): Promise<'stored' | 'unchanged'> {
    const d = this.#deps;
    let existing: StoredContent | undefined;
    try {
      existing = await d.metrics.timeAsync('store_read', () =>
        d.store.getContent(record.contentId),
      );
    } catch (e) {
      // A corrupt record cannot prove who owns the id: refuse rather than overwrite it.
      d.metrics.storeErrors.inc({
        kind: isQkmsError(e, ErrorCode.STORE_CORRUPT) ? 'corrupt' : 'io',
      });
      d.log.error('store read failed', {
        content: d.fingerprint(record.contentId),
        error: errorName(e),
      });
      throw reject(ErrorCode.INTERNAL, 'content could not be read');
    }
    if (existing !== undefined) {
      try {
        if (!d.suite.equalBytes(existing.owner, record.owner))
          throw reject(ErrorCode.CONTENT_OWNED, 'another publisher owns this content id');
        if (
          d.suite.equalBytes(existing.manifestHash, record.manifestHash) &&
          d.suite.equalBytes(existing.share, record.share)
        ) {
          return 'unchanged';
        }
      } finally {
        existing.share.fill(0);
      }
    }
    try {
      await d.metrics.timeAsync('store_write', () => d.store.putContent(record));
    } catch (e) {
      d.metrics.storeErrors.inc({ kind: 'io' });
      d.log.error('store write failed', {
        content: d.fingerprint(record.contentId),
        error: errorName(e),
      });
      throw reject(ErrorCode.INTERNAL, 'content could not be stored');
    }
    if (existing === undefined) d.metrics.sharesStored.inc();
    return 'stored';
  }

  async #serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }
}
