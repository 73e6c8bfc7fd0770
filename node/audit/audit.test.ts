// The custody audit log: records are durable before `record` resolves, the
// chain of thousands verifies, and any change — a flipped byte in any record,
// a record deleted, two records swapped, a lost tail — is reported at the
// right sequence number, both on the pure chain and through the real store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, isQkmsError, requireNativeSuite } from '../../protocol/index.ts';
import { seedBytes } from '../../test/support/protocol-fixture.ts';
import { createFingerprinter, silentLogger } from '../log.ts';
import { createNodeMetrics } from '../metrics.ts';
import { ReplayGuard } from '../replay-guard.ts';
import { NodeStore } from '../store/index.ts';
import { MetaName, auditKey, metaKey } from '../store/keys.ts';
import { AuditLog, type AuditHead, type AuditStore } from './log.ts';
import {
  GENESIS_HASH,
  createAuditRecord,
  decodeAuditRecord,
  encodeAuditRecord,
  type AuditEvent,
} from './record.ts';
import { verifyChain, type StoredAuditEntry } from './verify.ts';

const suite = requireNativeSuite();
const identitySeed = seedBytes(77, 32);
const signer = suite.ed25519.signer(identitySeed);
const publicKey = signer.publicKey;
const fingerprint = createFingerprinter(seedBytes(78, 32));
const principals = {
  wallet: seedBytes(1, 20),
  session: seedBytes(2, 32),
  delegation: seedBytes(3, 32),
  delegationIssuedAt: 1_700_000_000_000,
  content: seedBytes(4, 32),
};

/** A chain of `n` encoded records, as the store holds them (values by seq). */
function chain(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev: Uint8Array = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const event: AuditEvent =
      seq % 3 === 0
        ? {
            kind: 'recover-refused',
            code: 'REPLAYED',
            session: `fp:${String(seq).padStart(16, '0')}`,
          }
        : { kind: 'share-released', wallet: 'fp:0011223344556677', content: 'fp:8899aabbccddeeff' };
    const record = createAuditRecord(suite, signer, {
      seq,
      at: 1_700_000_000_000 + seq,
      prev,
      event,
    });
    prev = record.hash;
    out.push(encodeAuditRecord(record));
  }
  return out;
}

/** The entries the store would yield for these values (undefined: a deleted record). */
function entries(values: readonly (Uint8Array | undefined)[]): AsyncIterable<StoredAuditEntry> {
  const present: StoredAuditEntry[] = [];
  for (const [i, value] of values.entries())
    if (value !== undefined) present.push({ seq: i + 1, value });
  return (async function* () {
    await Promise.resolve();
    yield* present;
  })();
}

describe('verifyChain', () => {
  const good = chain(3_000);

  it('verifies a chain of thousands and reports its head', async () => {
    const report = await verifyChain(suite, publicKey, entries(good));
    expect(report.broken).toBeUndefined();
    expect(report.verified).toBe(3_000);
    expect(report.head?.seq).toBe(3_000);
  });

  it('reports a flipped byte anywhere in any record at that record', async () => {
    // Every byte position of three records (first, middle, last), and one random byte of 200 others.
    const cases: [number, number][] = [];
    for (const seq of [1, 1_500, 3_000])
      for (let at = 0; at < (good[seq - 1]?.length ?? 0); at++) cases.push([seq, at]);
    for (let i = 0; i < 200; i++) {
      const seq = 1 + ((i * 7919) % 3_000);
      cases.push([seq, (i * 104_729) % (good[seq - 1]?.length ?? 1)]);
    }
    const small = chain(40);
    for (const [seq, at] of cases) {
      // A long chain per case would be slow: the same record shape in a 40-record chain.
      const s = ((seq - 1) % 40) + 1;
      const values = small.map((v, i) => (i === s - 1 ? flip(v, at % v.length) : v));
      const report = await verifyChain(suite, publicKey, entries(values));
      expect(
        report.broken?.seq,
        `record ${s}, byte ${at % (small[s - 1]?.length ?? 1)}: ${JSON.stringify(report.broken)}`,
      ).toBe(s);
      expect(report.verified).toBe(s - 1);
    }
  });

  it('reports a deleted record as removed at its sequence number', async () => {
    for (const seq of [1, 2, 1_234, 3_000]) {
      const values = good.map((v, i) => (i === seq - 1 ? undefined : v));
      const report = await verifyChain(suite, publicKey, entries(values), {
        seq: 3_000,
        hash: decodeAuditRecord(good[2_999]!).hash,
      });
      expect(report.broken).toMatchObject({ seq, problem: 'removed' });
    }
  });

  it('reports two swapped records as reordered at the first of them', async () => {
    const values = [...good];
    const hundredth = values[99]!;
    values[99] = values[199]!;
    values[199] = hundredth;
    const report = await verifyChain(suite, publicKey, entries(values));
    expect(report.broken).toMatchObject({ seq: 100, problem: 'reordered' });
  });

  it('reports a lost tail against the head the node recorded', async () => {
    const head = { seq: 3_000, hash: decodeAuditRecord(good[2_999]!).hash };
    const report = await verifyChain(suite, publicKey, entries(good.slice(0, 2_990)), head);
    expect(report.broken).toMatchObject({ seq: 2_991, problem: 'removed' });
  });

  it('reports records signed by another key as changed', async () => {
    const other = suite.ed25519.getPublicKey(seedBytes(99, 32));
    const report = await verifyChain(suite, other, entries(good.slice(0, 5)));
    expect(report.broken).toMatchObject({ seq: 1, problem: 'changed' });
  });
});

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = bytes.slice();
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

/** An AuditStore in memory that can be told to fail. */
class MemoryAuditStore implements AuditStore {
  readonly values: Uint8Array[] = [];
  head: AuditHead | undefined;
  batches = 0;
  fail = false;
  auditHead(): Promise<AuditHead | undefined> {
    return Promise.resolve(this.head);
  }
  appendAudit(
    records: readonly { seq: number; value: Uint8Array }[],
    head: AuditHead,
  ): Promise<void> {
    if (this.fail) return Promise.reject(new Error('disk full'));
    this.batches += 1;
    for (const r of records) this.values[r.seq - 1] = r.value;
    this.head = head;
    return Promise.resolve();
  }
}

function openLog(store: AuditStore, failing?: () => boolean): Promise<AuditLog> {
  return AuditLog.open({
    suite,
    store,
    signer,
    clock: () => 1_700_000_000_000,
    fingerprint,
    metrics: createNodeMetrics({ defaultMetrics: false }),
    log: silentLogger,
    ...(failing === undefined ? {} : { failing }),
  });
}

describe('AuditLog', () => {
  it('writes concurrent records in one synced batch, in a contiguous chain that verifies', async () => {
    const store = new MemoryAuditStore();
    const log = await openLog(store);
    await Promise.all(
      Array.from({ length: 50 }, () => log.record({ kind: 'share-released', principals })),
    );
    expect(store.batches).toBe(1);
    expect(log.head.seq).toBe(50);
    const report = await verifyChain(suite, publicKey, entries(store.values), store.head);
    expect(report).toMatchObject({ verified: 50 });
    expect(report.broken).toBeUndefined();
  });

  it('stores fingerprints, never the identifiers', async () => {
    const store = new MemoryAuditStore();
    const log = await openLog(store);
    await log.record({ kind: 'share-released', principals });
    const event = decodeAuditRecord(store.values[0]!).body.event;
    expect(event).toEqual({
      kind: 'share-released',
      wallet: fingerprint(principals.wallet),
      session: fingerprint(principals.session),
      content: fingerprint(principals.content),
    });
    const text = Buffer.from(store.values[0]!).toString('hex');
    for (const id of [principals.wallet, principals.session, principals.content])
      expect(text).not.toContain(Buffer.from(id).toString('hex'));
  });

  it('rejects every record of a failed write with AUDIT_UNAVAILABLE, and continues the chain without a gap', async () => {
    const store = new MemoryAuditStore();
    let failing = false;
    const log = await openLog(store, () => failing);
    await log.record({ kind: 'share-released', principals });
    failing = true;
    const failed = await Promise.allSettled([
      log.record({ kind: 'share-released', principals }),
      log.record({ kind: 'recover-refused', code: 'REVOKED', principals: {} }),
    ]);
    for (const r of failed) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected')
        expect(isQkmsError(r.reason, ErrorCode.AUDIT_UNAVAILABLE)).toBe(true);
    }
    expect(log.head.seq).toBe(1);
    failing = false;
    await log.record({ kind: 'share-published', principals, status: 'stored' });
    expect(log.head.seq).toBe(2);
    const report = await verifyChain(suite, publicKey, entries(store.values), store.head);
    expect(report.broken).toBeUndefined();
    expect(report.verified).toBe(2);
  });
});

describe('the audit log in the node store', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) {
      rmSync(d, { recursive: true, force: true });
      rmSync(`${d}-integrity`, { recursive: true, force: true });
    }
  });

  async function filled(n: number): Promise<{ path: string; storageKey: Uint8Array }> {
    const dir = mkdtempSync(join(tmpdir(), 'qkms-audit-'));
    dirs.push(dir);
    const path = join(dir, 'db');
    const storageKey = seedBytes(5, 32);
    const store = await NodeStore.open({ path, storageKey, suite });
    const log = await openLog(store);
    for (let i = 0; i < n; i++) await log.record({ kind: 'share-released', principals });
    await store.close();
    return { path, storageKey };
  }

  it("shares one synced batch with a nonce committed in the same turn (a recover's two writes)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkms-audit-'));
    dirs.push(dir);
    const store = await NodeStore.open({
      path: join(dir, 'db'),
      storageKey: seedBytes(5, 32),
      suite,
    });
    const now = 1_700_000_000_000;
    const guard = await ReplayGuard.load({ store, clock: () => now });
    const log = await openLog(store);
    const batch = vi.spyOn(Level.prototype, 'batch');
    try {
      const [session, nonce] = [seedBytes(6, 32), seedBytes(7, 16)];
      expect(
        guard.reserve(session, nonce, now + 60_000, { wallet: seedBytes(8, 20), source: 's' }),
      ).toBe(true);
      // As node/service/recover.ts hands them in: the nonce first, the record in the same turn.
      await Promise.all([
        guard.commit(session, nonce),
        log.record({ kind: 'share-released', principals }),
      ]);
      expect(batch).toHaveBeenCalledTimes(1);
      const [ops, options] = batch.mock.calls[0] as unknown as [unknown[], { sync?: boolean }];
      expect(ops).toHaveLength(3); // the nonce, the audit record, the audit head
      expect(options.sync).toBe(true);
    } finally {
      batch.mockRestore();
      await guard.stop();
      await store.close();
    }
  });

  async function verifyStored(path: string, storageKey: Uint8Array) {
    const store = await NodeStore.open({ path, storageKey, suite });
    try {
      return await verifyChain(
        suite,
        publicKey,
        store.auditEntries(),
        (await store.auditHead()) ?? null,
      );
    } finally {
      await store.close();
    }
  }

  async function raw(path: string, edit: (db: Level<Uint8Array, Uint8Array>) => Promise<void>) {
    const db = new Level<Uint8Array, Uint8Array>(path, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await db.open();
    try {
      await edit(db);
    } finally {
      await db.close();
    }
  }

  it('survives reopening: the head and the chain carry on', async () => {
    const { path, storageKey } = await filled(20);
    const store = await NodeStore.open({ path, storageKey, suite });
    const log = await openLog(store);
    expect(log.head.seq).toBe(20);
    await log.record({ kind: 'share-released', principals });
    await store.close();
    expect(await verifyStored(path, storageKey)).toMatchObject({ verified: 21 });
  });

  it('a byte flipped on disk, a record deleted, two swapped: each reported at its sequence number', async () => {
    const { path, storageKey } = await filled(30);
    await raw(path, async (db) => {
      const value = await db.get(auditKey(12));
      await db.put(auditKey(12), flip(new Uint8Array(value), 40));
    });
    expect((await verifyStored(path, storageKey)).broken).toMatchObject({
      seq: 12,
      problem: 'corrupt',
    });

    const second = await filled(30);
    await raw(second.path, (db) => db.del(auditKey(7)));
    expect((await verifyStored(second.path, second.storageKey)).broken).toMatchObject({
      seq: 7,
      problem: 'removed',
    });

    const third = await filled(30);
    await raw(third.path, async (db) => {
      const a = await db.get(auditKey(3));
      const b = await db.get(auditKey(9));
      await db.put(auditKey(3), new Uint8Array(b));
      await db.put(auditKey(9), new Uint8Array(a));
    });
    // Sealed with its key as associated data, a record moved to another key fails authentication.
    expect((await verifyStored(third.path, third.storageKey)).broken).toMatchObject({
      seq: 3,
      problem: 'corrupt',
    });

    const fourth = await filled(30);
    await raw(fourth.path, (db) => db.del(auditKey(30)));
    expect((await verifyStored(fourth.path, fourth.storageKey)).broken).toMatchObject({
      seq: 30,
      problem: 'removed',
    });

    // The tail and the recorded head deleted together: needs no key, and is still caught,
    // at the record lost: the integrity mark outside LevelDB still vouches for head 30.
    const fifth = await filled(30);
    await raw(fifth.path, async (db) => {
      await db.del(auditKey(30));
      await db.del(metaKey(MetaName.auditHead));
    });
    expect((await verifyStored(fifth.path, fifth.storageKey)).broken).toMatchObject({
      seq: 30,
      problem: 'removed',
    });
  });
});
