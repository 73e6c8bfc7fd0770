// The keystore file's format (keystore-file.ts) as loadKeystore reads it: a
// change the AEAD detects is WRONG_PASSPHRASE, a change the strict reader sees
// first is KEYSTORE_INVALID naming the field, never quoting the file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, requireNativeSuite } from '../protocol/internal.ts';
import {
  FAST,
  PASS,
  expectError,
  fileOf,
  readJson,
  writeJson,
  type JsonMap,
} from '../test/support/keystore-fixture.ts';
import { initKeystore, loadKeystore } from './keystore.ts';

const suite = requireNativeSuite();

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'qkms-keystore-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('tampering', () => {
  /** Changes one hex character at the end of a string value. */
  function flip(hex: string): string {
    return hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0');
  }

  // Decision: any change the AEAD detects is WRONG_PASSPHRASE ("wrong
  // passphrase, or the file was altered") — AES-GCM cannot tell which. A
  // change the strict reader sees first (shape, lengths, PeerId ≠ key) is
  // KEYSTORE_INVALID naming the field.
  const encryptedCases: [string, (j: JsonMap) => void, ErrorCode, RegExp][] = [
    [
      'ciphertext',
      (j) => {
        const s = j.secrets as JsonMap;
        s.ciphertext = flip(s.ciphertext as string);
      },
      ErrorCode.WRONG_PASSPHRASE,
      /or the file was altered/,
    ],
    [
      'nonce',
      (j) => {
        const s = j.secrets as JsonMap;
        s.nonce = flip(s.nonce as string);
      },
      ErrorCode.WRONG_PASSPHRASE,
      /or the file was altered/,
    ],
    [
      'salt',
      (j) => {
        const k = (j.secrets as JsonMap).kdf as JsonMap;
        k.salt = flip(k.salt as string);
      },
      ErrorCode.WRONG_PASSPHRASE,
      /or the file was altered/,
    ],
    [
      'scrypt cost (in the header)',
      (j) => {
        ((j.secrets as JsonMap).kdf as JsonMap).logN = 11;
      },
      ErrorCode.WRONG_PASSPHRASE,
      /or the file was altered/,
    ],
    [
      'KEM public key (in the header)',
      (j) => {
        const p = j.public as JsonMap;
        p.kemPublicKey = flip(p.kemPublicKey as string);
      },
      ErrorCode.WRONG_PASSPHRASE,
      /or the file was altered/,
    ],
    [
      "node public key (no longer the PeerId's)",
      (j) => {
        const p = j.public as JsonMap;
        p.nodePublicKey = flip(p.nodePublicKey as string);
      },
      ErrorCode.KEYSTORE_INVALID,
      /public\.peerId: expected the PeerId of public\.nodePublicKey/,
    ],
    [
      'scrypt r',
      (j) => {
        ((j.secrets as JsonMap).kdf as JsonMap).r = 1;
      },
      ErrorCode.KEYSTORE_INVALID,
      /secrets\.kdf\.r: expected 8, got 1/,
    ],
  ];

  it.each(encryptedCases)(
    'a changed %s is detected in an encrypted keystore',
    (_, change, code, pattern) => {
      initKeystore(root, { suite, passphrase: PASS, insecureTestKdf: FAST });
      const json = readJson(root);
      change(json);
      writeJson(root, json);
      expectError(
        () => loadKeystore(root, { suite, passphrase: PASS, insecureTestKdf: FAST }),
        code,
        pattern,
      );
    },
  );

  it.each(['identitySeed', 'kemSeed'])(
    'in a clear keystore, a changed %s no longer matches the public part: KEYSTORE_INVALID',
    (field) => {
      initKeystore(root, { suite });
      const json = readJson(root);
      const s = json.secrets as JsonMap;
      s[field] = flip(s[field] as string);
      writeJson(root, json);
      expectError(
        () => loadKeystore(root, { suite }),
        ErrorCode.KEYSTORE_INVALID,
        /expected the public key of the stored secret/,
      );
    },
  );
});

describe('malformed files are KEYSTORE_INVALID naming the field', () => {
  const cases: [string, (j: JsonMap) => unknown, RegExp][] = [
    ['not an object', () => [], /keystore: expected an object/],
    ['version 2', (j) => ({ ...j, qkmsKeystore: 2 }), /qkmsKeystore: expected 1, got 2/],
    ['an unknown top-level key', (j) => ({ ...j, extra: 1 }), /keystore\.extra: .*unknown key/],
    [
      'a missing public key',
      (j) => ({ ...j, public: { ...(j.public as JsonMap), kemPublicKey: undefined } }),
      /public\.kemPublicKey: expected a value \(missing\)/,
    ],
    [
      'a short KEM key',
      (j) => ({ ...j, public: { ...(j.public as JsonMap), kemPublicKey: 'ab' } }),
      /public\.kemPublicKey: expected 1216 bytes of lower-case hex, got 2 chars/,
    ],
    [
      'upper-case hex',
      (j) => {
        const s = j.secrets as JsonMap;
        return { ...j, secrets: { ...s, storageKey: (s.storageKey as string).toUpperCase() } };
      },
      /secrets\.storageKey: expected 32 bytes of lower-case hex, got another character/,
    ],
    [
      'a number for a seed',
      (j) => ({ ...j, secrets: { ...(j.secrets as JsonMap), kemSeed: 5 } }),
      /secrets\.kemSeed: expected 32 bytes of lower-case hex, got number/,
    ],
    [
      'an unknown protection',
      (j) => ({ ...j, secrets: { ...(j.secrets as JsonMap), protection: 'rot13' } }),
      /secrets\.protection: expected "none" or "scrypt-aes256gcm"/,
    ],
    ['secrets not an object', (j) => ({ ...j, secrets: 'x' }), /secrets: expected an object/],
    [
      'an extra secret',
      (j) => ({ ...j, secrets: { ...(j.secrets as JsonMap), adminKey: '00' } }),
      /secrets\.adminKey: .*unknown key/,
    ],
    [
      'a PeerId of another type',
      (j) => ({ ...j, public: { ...(j.public as JsonMap), peerId: 7 } }),
      /public\.peerId: expected a string/,
    ],
  ];

  it.each(cases)('%s', (_, change, pattern) => {
    initKeystore(root, { suite });
    writeJson(root, change(readJson(root)));
    expectError(() => loadKeystore(root, { suite }), ErrorCode.KEYSTORE_INVALID, pattern);
  });

  it('a scrypt cost above 2^20 is refused before any work', () => {
    initKeystore(root, { suite, passphrase: PASS, insecureTestKdf: FAST });
    const json = readJson(root);
    ((json.secrets as JsonMap).kdf as JsonMap).logN = 30;
    writeJson(root, json);
    expectError(
      () => loadKeystore(root, { suite, passphrase: PASS }),
      ErrorCode.KEYSTORE_INVALID,
      /secrets\.kdf\.logN: expected \[17, 20\], got 30/,
    );
  });

  it('invalid JSON is refused without quoting the file', () => {
    initKeystore(root, { suite });
    const text = readFileSync(fileOf(root), 'utf8');
    writeFileSync(fileOf(root), text.slice(0, -20), { mode: 0o600 });
    let message = '';
    try {
      loadKeystore(root, { suite });
    } catch (e) {
      message = (e as Error).message;
      expect((e as Error).cause).toBeUndefined();
    }
    expect(message).toBe(`keystore ${fileOf(root)}: not valid JSON`);
  });
});
