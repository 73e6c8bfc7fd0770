// The node keystore (keystore.ts): init → load round trips, the production
// scrypt cost, files and permissions, passphrases, and secrets that never
// leave through the public part or an error. The file format's strictness and
// tampering are keystore-file.test.ts.
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, fromHex, requireNativeSuite, toHex } from '../protocol/index.ts';
import {
  KEYSTORE_FILE,
  KEYSTORE_SCRYPT,
  initKeystore,
  loadKeystore,
  readKeystorePublicInfo,
  type Keystore,
} from './keystore.ts';
import { FAST, PASS, expectError, fileOf, readJson } from '../test/support/keystore-fixture.ts';

const suite = requireNativeSuite();

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'qkms-keystore-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function secretHexes(ks: Keystore): string[] {
  return [toHex(ks.identitySeed), toHex(ks.kemSeed), toHex(ks.storageKey)];
}

describe('init → load round trip', () => {
  it('a clear keystore loads with secrets that match its public part', () => {
    const dir = join(root, 'node');
    const created = initKeystore(dir, { suite });
    expect(created.encrypted).toBe(false);
    expect(created.path).toBe(fileOf(dir));
    const ks = loadKeystore(dir, { suite });
    expect(ks.encrypted).toBe(false);
    expect(ks.publicInfo).toEqual(created.publicInfo);
    expect(toHex(suite.ed25519.getPublicKey(ks.identitySeed))).toBe(ks.publicInfo.nodePublicKey);
    expect(toHex(suite.xwing.getPublicKey(ks.kemSeed))).toBe(ks.publicInfo.kemPublicKey);
    expect(ks.storageKey).toHaveLength(32);
    expect(new Set(secretHexes(ks)).size).toBe(3);
  });

  it('an encrypted keystore loads with its passphrase, and stores no secret in the clear', () => {
    const created = initKeystore(root, { suite, passphrase: PASS, insecureTestKdf: FAST });
    expect(created.encrypted).toBe(true);
    const ks = loadKeystore(root, { suite, passphrase: PASS, insecureTestKdf: FAST });
    expect(ks.encrypted).toBe(true);
    expect(ks.publicInfo).toEqual(created.publicInfo);
    expect(toHex(suite.ed25519.getPublicKey(ks.identitySeed))).toBe(ks.publicInfo.nodePublicKey);
    const text = readFileSync(fileOf(root), 'utf8');
    for (const hex of secretHexes(ks)) expect(text).not.toContain(hex);
    expect(readJson(root).secrets).toMatchObject({
      protection: 'scrypt-aes256gcm',
      kdf: { logN: 10, r: 8, p: 1 },
    });
  });

  it('two keystores have different identities', () => {
    const a = initKeystore(join(root, 'a'), { suite }).publicInfo;
    const b = initKeystore(join(root, 'b'), { suite }).publicInfo;
    expect(a.peerId).not.toBe(b.peerId);
    expect(a.kemPublicKey).not.toBe(b.kemPublicKey);
  });

  it('the printed PeerId is the one libp2p derives from the identity seed', async () => {
    initKeystore(root, { suite });
    const ks = loadKeystore(root, { suite });
    const key = await generateKeyPairFromSeed('Ed25519', ks.identitySeed);
    expect(peerIdFromPrivateKey(key).toString()).toBe(ks.publicInfo.peerId);
  });

  it('readKeystorePublicInfo needs no passphrase', () => {
    const created = initKeystore(root, { suite, passphrase: PASS, insecureTestKdf: FAST });
    expect(readKeystorePublicInfo(root)).toEqual(created);
  });

  it('a passphrase is NFKC-normalized: composed and decomposed accents open the same file', () => {
    initKeystore(root, { suite, passphrase: 'caf\u00e9 au lait', insecureTestKdf: FAST });
    expect(() =>
      loadKeystore(root, { suite, passphrase: 'cafe\u0301 au lait', insecureTestKdf: FAST }),
    ).not.toThrow();
  });
});

describe('production scrypt cost', () => {
  it('the default is N = 2^17, r = 8, p = 1, and loading needs no test option', () => {
    expect(KEYSTORE_SCRYPT).toMatchObject({ logN: 17, r: 8, p: 1, saltBytes: 16 });
    initKeystore(root, { suite, passphrase: PASS });
    expect(readJson(root).secrets).toMatchObject({ kdf: { logN: 17, r: 8, p: 1 } });
    expect(loadKeystore(root, { suite, passphrase: PASS }).encrypted).toBe(true);
  });

  it('a file at a test cost is refused unless the caller lowers the floor explicitly', () => {
    initKeystore(root, { suite, passphrase: PASS, insecureTestKdf: FAST });
    expectError(
      () => loadKeystore(root, { suite, passphrase: PASS }),
      ErrorCode.KEYSTORE_INVALID,
      /secrets\.kdf\.logN: expected \[17, 20\], got 10/,
    );
  });

  it.each([0, 3, 21, 10.5, Number.NaN])('insecureTestKdf.logN = %s is refused', (logN) => {
    expectError(
      () => initKeystore(root, { suite, passphrase: PASS, insecureTestKdf: { logN } }),
      ErrorCode.INVALID_ARGUMENT,
      /insecureTestKdf\.logN/,
    );
  });
});

describe('files and permissions', () => {
  it('creates the file 0600 and the directory 0700, and leaves no temp file', () => {
    const dir = join(root, 'nested', 'node');
    initKeystore(dir, { suite });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(fileOf(dir)).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual([KEYSTORE_FILE]);
  });

  it.each(['644', '640', '604', '660', '606', '610'])(
    'refuses a keystore with mode %s and says how to fix it',
    (mode) => {
      initKeystore(root, { suite });
      chmodSync(fileOf(root), Number.parseInt(mode, 8));
      expectError(
        () => loadKeystore(root, { suite }),
        ErrorCode.KEYSTORE_INVALID,
        `has mode 0${mode}, readable or writable by others; fix with: chmod 600 ${fileOf(root)}`,
      );
    },
  );

  it.each(['400', '600', '700'])('accepts a keystore with mode %s (owner only)', (mode) => {
    initKeystore(root, { suite });
    chmodSync(fileOf(root), Number.parseInt(mode, 8));
    expect(loadKeystore(root, { suite }).encrypted).toBe(false);
  });

  it('refuses a directory others can write to (they could swap the keystore)', () => {
    initKeystore(root, { suite });
    chmodSync(root, 0o777);
    expectError(
      () => loadKeystore(root, { suite }),
      ErrorCode.KEYSTORE_INVALID,
      `chmod 700 ${root}`,
    );
    expectError(
      () => initKeystore(join(root, 'x', '..'), { suite }),
      ErrorCode.KEYSTORE_INVALID,
      /chmod 700/,
    );
    chmodSync(root, 0o700);
  });

  it('refuses to overwrite an existing keystore and leaves it untouched', () => {
    initKeystore(root, { suite });
    const before = readFileSync(fileOf(root));
    expectError(
      () => initKeystore(root, { suite, passphrase: PASS, insecureTestKdf: FAST }),
      ErrorCode.KEYSTORE_INVALID,
      /already exists; refusing to replace a node identity/,
    );
    expect(readFileSync(fileOf(root))).toEqual(before);
    expect(readdirSync(root)).toEqual([KEYSTORE_FILE]);
  });

  it('refuses overwrite: true (only false is supported)', () => {
    expectError(
      () => initKeystore(root, { suite, overwrite: true as unknown as false }),
      ErrorCode.INVALID_ARGUMENT,
      /overwrite/,
    );
  });

  it('a missing keystore says how to create one', () => {
    expectError(
      () => loadKeystore(root, { suite }),
      ErrorCode.KEYSTORE_INVALID,
      `qkms node init --dir ${root}`,
    );
  });

  it('refuses a symbolic link in place of the keystore', () => {
    const real = join(root, 'real');
    initKeystore(real, { suite });
    const linked = join(root, 'linked');
    mkdirSync(linked, { mode: 0o700 });
    symlinkSync(fileOf(real), fileOf(linked));
    expectError(() => loadKeystore(linked, { suite }), ErrorCode.KEYSTORE_INVALID, /symbolic link/);
  });

  it('refuses a directory in place of the keystore file', () => {
    mkdirSync(fileOf(root), { mode: 0o700 });
    expectError(() => loadKeystore(root, { suite }), ErrorCode.KEYSTORE_INVALID, /regular file/);
  });

  it('refuses an oversized file before parsing it', () => {
    writeFileSync(fileOf(root), ' '.repeat(70_000), { mode: 0o600 });
    expectError(() => loadKeystore(root, { suite }), ErrorCode.KEYSTORE_INVALID, /at most 65536/);
  });
});

describe('passphrases', () => {
  beforeEach(() => {
    initKeystore(root, { suite, passphrase: PASS, insecureTestKdf: FAST });
  });

  it('a wrong passphrase is WRONG_PASSPHRASE', () => {
    expectError(
      () => loadKeystore(root, { suite, passphrase: `${PASS}!`, insecureTestKdf: FAST }),
      ErrorCode.WRONG_PASSPHRASE,
      /wrong passphrase/,
    );
  });

  it('a missing passphrase for an encrypted file is WRONG_PASSPHRASE and names the sources', () => {
    expectError(
      () => loadKeystore(root, { suite, insecureTestKdf: FAST }),
      ErrorCode.WRONG_PASSPHRASE,
      /encrypted: a passphrase is required \(QKMS_PASSPHRASE or --passphrase-file\)/,
    );
  });

  it('a passphrase given for a clear keystore is refused (a misconfiguration)', () => {
    const clear = join(root, 'clear');
    initKeystore(clear, { suite });
    expectError(
      () => loadKeystore(clear, { suite, passphrase: PASS }),
      ErrorCode.WRONG_PASSPHRASE,
      /not encrypted/,
    );
  });

  it('a new passphrase shorter than 8 characters is refused', () => {
    expectError(
      () => initKeystore(join(root, 'short'), { suite, passphrase: 'é'.repeat(7) }),
      ErrorCode.CONFIG_INVALID,
      /at least 8 characters/,
    );
  });
});

describe('secrets stay secret', () => {
  it('no secret appears in the returned or serialized public information', () => {
    const created = initKeystore(root, { suite, passphrase: PASS, insecureTestKdf: FAST });
    const ks = loadKeystore(root, { suite, passphrase: PASS, insecureTestKdf: FAST });
    const outputs = [
      JSON.stringify(created),
      JSON.stringify(ks),
      JSON.stringify(ks.publicInfo),
      JSON.stringify(readKeystorePublicInfo(root)),
    ];
    for (const hex of secretHexes(ks)) {
      for (const out of outputs) expect(out).not.toContain(hex);
    }
    expect(JSON.parse(JSON.stringify(ks))).toEqual({
      path: fileOf(root),
      encrypted: true,
      publicInfo: created.publicInfo,
    });
  });

  it('wipe() zeroes the secrets and later reads throw', () => {
    initKeystore(root, { suite });
    const ks = loadKeystore(root, { suite });
    const seeds = [ks.identitySeed, ks.kemSeed, ks.storageKey];
    ks.wipe();
    for (const s of seeds) expect(s.every((b) => b === 0)).toBe(true);
    expectError(() => ks.identitySeed, ErrorCode.KEYSTORE_INVALID, /after wipe/);
    expect(() => {
      ks.wipe();
    }).not.toThrow();
  });

  it('option bags reject unknown keys', () => {
    expectError(
      () => initKeystore(root, { suite, passphrase: PASS, logN: 10 } as never),
      ErrorCode.INVALID_ARGUMENT,
      /unknown option "logN"/,
    );
    expectError(
      () => loadKeystore(root, { suite, passhprase: PASS } as never),
      ErrorCode.INVALID_ARGUMENT,
      /unknown option "passhprase"/,
    );
  });

  it('the stored public keys parse as the keys they claim to be', () => {
    const { publicInfo } = initKeystore(root, { suite });
    expect(fromHex(publicInfo.nodePublicKey)).toHaveLength(32);
    expect(fromHex(publicInfo.kemPublicKey)).toHaveLength(1216);
    expect(publicInfo.peerId).toMatch(/^12D3KooW/);
  });
});
