// The live revocation set's membership side: one table per target kind, so
// the check a recover makes (steps 6 and 9) is five O(1) lookups and never
// yields. Grow-only, like the records it is built from.
import { ErrorCode, QkmsError } from '../protocol/index.ts';
import { ByteTable } from './byte-table.ts';
import { TARGET_BYTES, type RevocationBody, type RevocationKind } from './record.ts';

/** The principals a recover acts for: what revocations name. */
export interface Principals {
  readonly wallet: Uint8Array;
  readonly session: Uint8Array;
  /** The delegation's hash. */
  readonly delegation: Uint8Array;
  /** When the delegation was issued (ms): "log out everywhere" revokes those issued before a time. */
  readonly delegationIssuedAt: number;
  readonly content: Uint8Array;
}

export class RevocationSet {
  readonly #wallets = new ByteTable(TARGET_BYTES.wallet);
  /** wallet -> the latest `before` any record gave it. */
  readonly #walletsBefore = new ByteTable(TARGET_BYTES['wallet-sessions-before'], {
    values: true,
  });
  readonly #sessions = new ByteTable(TARGET_BYTES.session);
  readonly #delegations = new ByteTable(TARGET_BYTES.delegation);
  readonly #contents = new ByteTable(TARGET_BYTES.content);
  #records = 0;

  /** Records applied (two records with one target count twice). */
  get size(): number {
    return this.#records;
  }

  /** Bytes the tables hold. */
  get memoryBytes(): number {
    return [
      this.#wallets,
      this.#walletsBefore,
      this.#sessions,
      this.#delegations,
      this.#contents,
    ].reduce((sum, t) => sum + t.memoryBytes, 0);
  }

  add(body: RevocationBody): void {
    this.#records += 1;
    switch (body.kind) {
      case 'wallet':
        this.#wallets.set(body.target);
        return;
      case 'wallet-sessions-before': {
        const before = body.before ?? 0;
        const previous = this.#walletsBefore.get(body.target);
        if (previous === undefined || before > previous)
          this.#walletsBefore.set(body.target, before);
        return;
      }
      case 'session':
        this.#sessions.set(body.target);
        return;
      case 'delegation':
        this.#delegations.set(body.target);
        return;
      case 'content':
        this.#contents.set(body.target);
        return;
    }
  }

  /** The first kind of revocation that covers these principals, or undefined. */
  revokedBy(p: Principals): RevocationKind | undefined {
    if (this.#records === 0) return undefined;
    if (this.#wallets.has(p.wallet)) return 'wallet';
    const before = this.#walletsBefore.get(p.wallet);
    if (before !== undefined && p.delegationIssuedAt < before) return 'wallet-sessions-before';
    if (this.#sessions.has(p.session)) return 'session';
    if (this.#delegations.has(p.delegation)) return 'delegation';
    if (this.#contents.has(p.content)) return 'content';
    return undefined;
  }

  /** Throws QkmsError REVOKED when any principal is revoked. Synchronous: it never yields. */
  assertNotRevoked(p: Principals): void {
    const kind = this.revokedBy(p);
    if (kind !== undefined) throw new QkmsError(ErrorCode.REVOKED, `revoked (${kind})`);
  }
}
