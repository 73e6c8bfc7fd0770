import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  concatBytes,
  fromHex,
  isQkmsError,
  nativeSuite,
  nobleSuite,
  utf8,
} from '../../protocol/internal.ts';
import { NodeStore } from './db.ts';
import { MetaName, contentKey, metaKey, nonceKey } from './keys.ts';
import {
  LEGACY_VALUE_FORMAT_VERSION,
  RecordCipher,
  VALUE_FORMAT_VERSION,
  VALUE_SALT_BYTES,
} from './record-cipher.ts';
import { encodeContent, encodeRunState, type StoredContent } from './records.ts';

const native = nativeSuite();
const suites = [nobleSuite, ...(native === undefined ? [] : [native])];

function corrupt(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    return isQkmsError(e, ErrorCode.STORE_CORRUPT);
  }
}

describe('RecordCipher', () => {
  const storageKey = nobleSuite.randomBytes(32);
  const key = contentKey(new Uint8Array(32).fill(9));

  it('round-trips as version 2, with a fresh salt and nonce per seal and a tag', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    const plaintext = utf8('a stored value');
    const a = cipher.seal(key, plaintext);
    const b = cipher.seal(key, plaintext);
    expect(a.length).toBe(1 + VALUE_SALT_BYTES + 12 + plaintext.length + 16);
    expect(a[0]).toBe(VALUE_FORMAT_VERSION);
    expect(VALUE_FORMAT_VERSION).toBe(2);
    expect(a.subarray(1, 1 + VALUE_SALT_BYTES)).not.toEqual(b.subarray(1, 1 + VALUE_SALT_BYTES));
    expect(a).not.toEqual(b);
    expect(cipher.open(key, a)).toEqual(plaintext);
    expect(cipher.open(key, b)).toEqual(plaintext);
  });

  it('is byte-compatible across the native and noble suites', () => {
    for (const sealer of suites) {
      for (const opener of suites) {
        const sealed = new RecordCipher(storageKey, sealer).seal(key, utf8('x'));
        expect(new RecordCipher(storageKey, opener).open(key, sealed)).toEqual(utf8('x'));
      }
    }
  });

  it('refuses any single flipped bit of the stored value (property)', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (plain, at, bit) => {
          const sealed = cipher.seal(key, plain);
          const i = at % sealed.length;
          sealed[i] = (sealed[i] ?? 0) ^ (1 << bit);
          return corrupt(() => cipher.open(key, sealed));
        },
      ),
    );
  });

  it('refuses a value under any other key: one flipped key bit, or another kind (property)', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    const nonce = nonceKey(new Uint8Array(32), new Uint8Array(16));
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (plain, at, bit) => {
          const sealed = cipher.seal(key, plain);
          const moved = key.slice();
          const i = at % moved.length;
          moved[i] = (moved[i] ?? 0) ^ (1 << bit);
          return (
            corrupt(() => cipher.open(moved, sealed)) && corrupt(() => cipher.open(nonce, sealed))
          );
        },
      ),
    );
  });

  it('refuses values shorter than their header and tag, and unknown versions', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    expect(corrupt(() => cipher.open(key, new Uint8Array(0)))).toBe(true);
    for (const [version, lengths] of [
      [LEGACY_VALUE_FORMAT_VERSION, [0, 1, 13, 27]],
      [VALUE_FORMAT_VERSION, [0, 1, 32, 44, 59]],
    ] as const) {
      for (const length of lengths) {
        expect(
          corrupt(() => cipher.open(key, Uint8Array.of(version, ...new Uint8Array(length)))),
        ).toBe(true);
      }
    }
    for (const version of [0, 3, 0xff]) {
      const sealed = cipher.seal(key, utf8('v'));
      sealed[0] = version;
      expect(corrupt(() => cipher.open(key, sealed))).toBe(true);
    }
  });

  it('refuses a version-2 value relabelled as version 1, and the reverse', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    const v2 = cipher.seal(key, utf8('v'));
    v2[0] = LEGACY_VALUE_FORMAT_VERSION;
    expect(corrupt(() => cipher.open(key, v2))).toBe(true);
    const v1 = sealV1(
      storageKey,
      key,
      utf8('a longer value than a salt is long, to pass the length check'),
    );
    v1[0] = VALUE_FORMAT_VERSION;
    expect(corrupt(() => cipher.open(key, v1))).toBe(true);
  });

  it('refuses a value sealed under another storage key', () => {
    const sealed = new RecordCipher(storageKey, nobleSuite).seal(key, utf8('v'));
    const other = new RecordCipher(nobleSuite.randomBytes(32), nobleSuite);
    expect(corrupt(() => other.open(key, sealed))).toBe(true);
  });

  it('refuses a value whose salt changed: the salt picks the key', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    const sealed = cipher.seal(key, utf8('v'));
    const other = cipher.seal(key, utf8('v'));
    sealed.set(other.subarray(1, 1 + VALUE_SALT_BYTES), 1);
    expect(corrupt(() => cipher.open(key, sealed))).toBe(true);
  });

  it('names the record kind in its error, never the content', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    const sealed = cipher.seal(key, utf8('secret-share-bytes'));
    sealed[20] = (sealed[20] ?? 0) ^ 1;
    expect(() => cipher.open(key, sealed)).toThrow(/content record failed authentication/);
    expect(() => cipher.open(key, sealed)).not.toThrow(/secret/);
  });

  it('refuses a storage key that is not 32 bytes', () => {
    for (const bad of [new Uint8Array(16), new Uint8Array(33), 'key' as unknown as Uint8Array]) {
      expect(() => new RecordCipher(bad, nobleSuite)).toThrow(
        expect.objectContaining({ code: ErrorCode.INVALID_LENGTH }),
      );
    }
  });

  it('refuses to seal or open once wiped (BUSY), and wiping twice is harmless', () => {
    const cipher = new RecordCipher(storageKey, nobleSuite);
    const sealed = cipher.seal(key, utf8('v'));
    cipher.wipe();
    cipher.wipe();
    expect(() => cipher.seal(key, utf8('v'))).toThrow(
      expect.objectContaining({ code: ErrorCode.BUSY }),
    );
    expect(() => cipher.open(key, sealed)).toThrow(
      expect.objectContaining({ code: ErrorCode.BUSY }),
    );
  });
});

// ---- version 1: databases written before decision 0009 ----

interface V1Vectors {
  readonly storageKey: string;
  readonly vectors: readonly { key: string; plaintext: string; stored: string }[];
}
const v1: V1Vectors = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'record-cipher-v1.json'), 'utf8'),
) as V1Vectors;

/** An independent version-1 sealer (the format of commit 91f0437), to build old databases. */
function sealV1(storageKey: Uint8Array, key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const aesKey = nobleSuite.hkdfSha256(
    storageKey,
    new Uint8Array(0),
    utf8('qkms/v1/node-store/value-aead'),
    32,
  );
  const version = Uint8Array.of(LEGACY_VALUE_FORMAT_VERSION);
  const nonce = nobleSuite.randomBytes(12);
  const sealed = nobleSuite.aes256gcm.encrypt(aesKey, nonce, plaintext, concatBytes(version, key));
  return concatBytes(version, nonce, sealed);
}

describe('RecordCipher, version-1 values', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('opens the known-answer values the version-1 cipher sealed, with both suites', () => {
    for (const suite of suites) {
      const cipher = new RecordCipher(fromHex(v1.storageKey), suite);
      for (const v of v1.vectors) {
        expect(cipher.open(fromHex(v.key), fromHex(v.stored))).toEqual(utf8(v.plaintext));
      }
    }
  });

  it('still refuses a version-1 value under another key, flipped, or under another storage key', () => {
    const cipher = new RecordCipher(fromHex(v1.storageKey), nobleSuite);
    const [a, b] = v1.vectors;
    if (a === undefined || b === undefined) throw new Error('fixture: two vectors expected');
    expect(corrupt(() => cipher.open(fromHex(b.key), fromHex(a.stored)))).toBe(true);
    const flipped = fromHex(a.stored);
    flipped[20] = (flipped[20] ?? 0) ^ 1;
    expect(corrupt(() => cipher.open(fromHex(a.key), flipped))).toBe(true);
    const other = new RecordCipher(nobleSuite.randomBytes(32), nobleSuite);
    expect(corrupt(() => other.open(fromHex(a.key), fromHex(a.stored)))).toBe(true);
  });

  it('a database of version-1 values opens, serves its content, and rewrites what it writes as version 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkms-v1-db-'));
    dirs.push(dir);
    const storageKey = nobleSuite.randomBytes(32);
    const record: StoredContent = {
      contentId: new Uint8Array(32).fill(7),
      manifest: utf8('manifest bytes'),
      manifestHash: new Uint8Array(32).fill(8),
      owner: new Uint8Array(20).fill(9),
      share: new Uint8Array(64).fill(10),
      storedAt: 1_000,
    };
    const runKey = metaKey(MetaName.run);
    const raw = new Level<Uint8Array, Uint8Array>(dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await raw.put(
      runKey,
      sealV1(
        storageKey,
        runKey,
        encodeRunState({ running: false, startedAt: 500, cleanShutdownAt: 900 }),
      ),
    );
    const cKey = contentKey(record.contentId);
    await raw.put(cKey, sealV1(storageKey, cKey, encodeContent(record)));
    await raw.close();

    const store = await NodeStore.open({ path: dir, storageKey, suite: nobleSuite });
    expect(store.previousShutdownClean).toBe(true);
    expect(await store.getContent(record.contentId)).toEqual(record);
    await store.close();

    const after = new Level<Uint8Array, Uint8Array>(dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    expect((await after.get(runKey))[0]).toBe(VALUE_FORMAT_VERSION);
    expect((await after.get(cKey))[0]).toBe(LEGACY_VALUE_FORMAT_VERSION);
    await after.close();
  });
});
