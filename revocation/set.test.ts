// RevocationSet: each kind of record refuses exactly the principals it
// names, with QkmsError REVOKED; "log out everywhere" refuses delegations
// issued strictly before its time, and the latest, largest time wins.
import { describe, expect, it } from 'vitest';
import { ErrorCode, isQkmsError, requireNativeSuite, type NodeSet } from '../protocol/index.ts';
import { FIXTURE_TIME, quorumFixture, seedBytes } from '../test/support/protocol-fixture.ts';
import { revocationBody, targetOf } from '../test/support/revocation-fixture.ts';
import { REVOCATION_KINDS, TARGET_BYTES, type RevocationKind } from './record.ts';
import { RevocationSet, type Principals } from './set.ts';

const suite = requireNativeSuite();
const nodeSet: NodeSet = quorumFixture(suite).nodeSet;

/** Principals of one request; every field distinct from the targets revocationBody makes. */
function principals(overrides: Partial<Principals> = {}): Principals {
  return {
    wallet: seedBytes(50, TARGET_BYTES.wallet),
    session: seedBytes(51, TARGET_BYTES.session),
    delegation: seedBytes(52, TARGET_BYTES.delegation),
    delegationIssuedAt: FIXTURE_TIME,
    content: seedBytes(53, TARGET_BYTES.content),
    ...overrides,
  };
}

/** The principals a record of `kind` with target `target` names. */
function named(kind: RevocationKind, target: Uint8Array): Partial<Principals> {
  switch (kind) {
    case 'wallet':
    case 'wallet-sessions-before':
      return { wallet: target };
    case 'session':
      return { session: target };
    case 'delegation':
      return { delegation: target };
    case 'content':
      return { content: target };
  }
}

function refusal(set: RevocationSet, p: Principals): string | undefined {
  try {
    set.assertNotRevoked(p);
    return undefined;
  } catch (e) {
    return isQkmsError(e) ? e.code : 'not a QkmsError';
  }
}

describe('RevocationSet', () => {
  it('an empty set revokes nothing', () => {
    const set = new RevocationSet();
    expect(set.revokedBy(principals())).toBeUndefined();
    expect(refusal(set, principals())).toBeUndefined();
    expect(set.size).toBe(0);
  });

  it.each(REVOCATION_KINDS)(
    'a %s record refuses its target with REVOKED, and nothing else',
    (kind) => {
      const set = new RevocationSet();
      const body = revocationBody(nodeSet, kind, 1, {
        ...(kind === 'wallet-sessions-before' ? { before: FIXTURE_TIME + 1 } : {}),
      });
      set.add(body);
      expect(set.size).toBe(1);
      const hit = principals(named(kind, body.target));
      expect(set.revokedBy(hit)).toBe(kind);
      expect(refusal(set, hit)).toBe(ErrorCode.REVOKED);
      // Other principals are untouched, and so are the same bytes in another role.
      expect(set.revokedBy(principals())).toBeUndefined();
      expect(refusal(set, principals())).toBeUndefined();
      for (const role of ['session', 'delegation', 'content'] as const) {
        if (role === kind || TARGET_BYTES[kind] !== TARGET_BYTES[role]) continue;
        expect(set.revokedBy(principals({ [role]: body.target }))).toBeUndefined();
      }
    },
  );

  it('wallet-sessions-before refuses delegations issued strictly before `before`', () => {
    const set = new RevocationSet();
    const before = FIXTURE_TIME;
    const body = revocationBody(nodeSet, 'wallet-sessions-before', 2, { before });
    set.add(body);
    const at = (delegationIssuedAt: number): Principals =>
      principals({ wallet: body.target, delegationIssuedAt });
    expect(set.revokedBy(at(before - 1))).toBe('wallet-sessions-before');
    expect(refusal(set, at(0))).toBe(ErrorCode.REVOKED);
    expect(set.revokedBy(at(before))).toBeUndefined();
    expect(set.revokedBy(at(before + 1))).toBeUndefined();
    // Another wallet's old delegation is untouched.
    expect(set.revokedBy(principals({ delegationIssuedAt: 0 }))).toBeUndefined();
  });

  it('a later record with a larger `before` wins; a smaller one does not shrink it', () => {
    const set = new RevocationSet();
    const wallet = seedBytes(60, TARGET_BYTES.wallet);
    const at = (delegationIssuedAt: number): Principals =>
      principals({ wallet, delegationIssuedAt });
    const record = (before: number, label: number) =>
      revocationBody(nodeSet, 'wallet-sessions-before', label, { target: wallet, before });

    set.add(record(1_000, 1));
    expect(set.revokedBy(at(1_500))).toBeUndefined();
    set.add(record(2_000, 2));
    expect(set.revokedBy(at(1_500))).toBe('wallet-sessions-before');
    set.add(record(500, 3));
    expect(set.revokedBy(at(1_500))).toBe('wallet-sessions-before');
    expect(set.revokedBy(at(1_999))).toBe('wallet-sessions-before');
    expect(set.revokedBy(at(2_000))).toBeUndefined();
    expect(set.size).toBe(3);
  });

  it('a `before` of 0 revokes no delegation', () => {
    const set = new RevocationSet();
    const body = revocationBody(nodeSet, 'wallet-sessions-before', 4, { before: 0 });
    set.add(body);
    expect(
      set.revokedBy(principals({ wallet: body.target, delegationIssuedAt: 0 })),
    ).toBeUndefined();
  });

  it('a wallet revocation covers every delegation of that wallet, whenever issued', () => {
    const set = new RevocationSet();
    const body = revocationBody(nodeSet, 'wallet', 5);
    set.add(body);
    for (const delegationIssuedAt of [0, FIXTURE_TIME, Number.MAX_SAFE_INTEGER])
      expect(set.revokedBy(principals({ wallet: body.target, delegationIssuedAt }))).toBe('wallet');
  });

  it('adding a record again keeps it revoked (records count, membership stays a set)', () => {
    const set = new RevocationSet();
    const body = revocationBody(nodeSet, 'session', 6);
    set.add(body);
    set.add(body);
    expect(set.size).toBe(2);
    expect(set.revokedBy(principals({ session: body.target }))).toBe('session');
  });

  it('memory grows with the records held', () => {
    const set = new RevocationSet();
    const empty = set.memoryBytes;
    for (let i = 0; i < 1_000; i++) set.add(revocationBody(nodeSet, 'content', i));
    expect(set.memoryBytes).toBeGreaterThan(empty);
    for (let i = 0; i < 1_000; i++)
      expect(set.revokedBy(principals({ content: targetOf('content', i) }))).toBe('content');
  });
});
