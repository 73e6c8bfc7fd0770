// The write fence (write-queue.ts, core.ts) and the integrity mark
// (integrity-mark.ts, integrity.ts) against a real LevelDB: a failed write
// fences every later one until the database has reopened; a store that lost
// what the mark vouches for says exactly what, and refuses audit and content
// writes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, defaultSuite, isQkmsError, toHex } from '../../protocol/index.ts';
import { NodeStore, type StoredContent } from './index.ts';
import { contentKey, auditKey } from './keys.ts';

const suite = defaultSuite();
const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) {
    rmSync(d, { recursive: true, force: true });
    rmSync(`${d}-integrity`, { recursive: true, force: true });
  }
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'qkms-fence-'));
  dirs.push(d);
  return d;
}

function content(i: number): StoredContent {
  return {
    contentId: new Uint8Array(32).fill(i),
    manifest: Uint8Array.of(0xa0),
    manifestHash: new Uint8Array(32).fill(1),
    owner: new Uint8Array(20).fill(2),
    share: new Uint8Array(64).fill(3),
    storedAt: 1,
  };
}

describe('NodeStore write fence', () => {
  it('refuses every write after a failed one until the database reopened, then acknowledges again', async () => {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    const store = await NodeStore.open({ path, storageKey, suite });
    await store.putContent(content(1));
    const batch = vi.spyOn(Level.prototype, 'batch');
    batch.mockRejectedValueOnce(new Error('ENOSPC (test)'));
    const failed = store.putContent(content(2));
    const queued = store.putContent(content(3)); // same turn: same group
    await expect(failed).rejects.toSatisfy((e) => isQkmsError(e, ErrorCode.BUSY));
    await expect(queued).rejects.toSatisfy((e) => isQkmsError(e, ErrorCode.BUSY));
    expect(store.writeFence).toBeDefined();
    await expect(store.putContent(content(4))).rejects.toSatisfy((e) =>
      isQkmsError(e, ErrorCode.BUSY),
    );
    const open = vi.spyOn(Level.prototype, 'open');
    await vi.waitFor(() => {
      expect(store.writeFence).toBeUndefined();
    });
    expect(open).toHaveBeenCalled();
    await store.putContent(content(5));
    expect(await store.getContent(content(5).contentId)).toEqual(content(5));
    await store.close();
  });
});

describe('NodeStore integrity against its mark', () => {
  it('names the audit range and content ids it acknowledged and lost, and refuses audit and content writes', async () => {
    const path = tempDir();
    const storageKey = suite.randomBytes(32);
    const first = await NodeStore.open({ path, storageKey, suite });
    await first.putContent(content(1));
    await first.putContent(content(2));
    const hash = new Uint8Array(32).fill(9);
    await first.appendAudit(
      [1, 2, 3].map((seq) => ({ seq, value: Uint8Array.of(seq) })),
      { seq: 3, hash },
    );
    expect(first.integrity).toBeUndefined();
    await first.close();

    // What a dropped log block does: records gone from LevelDB, the mark untouched.
    const db = new Level<Uint8Array, Uint8Array>(path, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await db.batch([
      { type: 'del', key: contentKey(content(2).contentId) },
      { type: 'del', key: auditKey(2) },
      { type: 'del', key: auditKey(3) },
    ]);
    await db.close();

    const second = await NodeStore.open({ path, storageKey, suite });
    try {
      const finding = second.integrity;
      expect(finding?.loss.audit).toEqual([{ from: 2, to: 3 }]);
      expect(finding?.loss.contents.map(toHex)).toEqual([toHex(content(2).contentId)]);
      expect(finding?.summary).toMatch(/audit records 2\.\.3 missing; 1 acknowledged contents/);
      expect(finding?.reportPath).toBe(join(`${path}-integrity`, 'loss-report.json'));
      // The chain continues after the lost records, never reusing their numbers.
      expect((await second.auditHead())?.seq).toBe(3);
      await expect(second.getContent(content(2).contentId)).rejects.toSatisfy((e) =>
        isQkmsError(e, ErrorCode.STORE_CORRUPT),
      );
      expect(await second.getContent(content(1).contentId)).toEqual(content(1));
      await expect(second.putContent(content(3))).rejects.toSatisfy((e) =>
        isQkmsError(e, ErrorCode.STORE_CORRUPT),
      );
      await expect(
        second.appendAudit([{ seq: 4, value: Uint8Array.of(4) }], { seq: 4, hash }),
      ).rejects.toSatisfy((e) => isQkmsError(e, ErrorCode.STORE_CORRUPT));
    } finally {
      await second.close();
    }
  });
});
