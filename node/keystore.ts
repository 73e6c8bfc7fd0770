// Long file: one API (init, load, read public info) over shared option, passphrase and key checks; the file format is keystore-file.ts.
// The node keystore: ONE file, DIR/keystore.json, mode 0600 in a directory
// created 0700, holding the node's three secrets (DESIGN.md, "Identities and
// keys"):
//   identitySeed  32-byte Ed25519 seed of the libp2p identity (RFC 8032; its
//                 public key names the node: PeerId)
//   kemSeed       32-byte X-Wing seed (draft-connolly-cfrg-xwing-kem) that
//                 publishers seal shares to
//   storageKey    32-byte AES-256-GCM key that encrypts shares at rest
// either in the clear (hex; protected only by the file mode) or encrypted:
//   key        = scrypt(NFKC(passphrase), salt (16 bytes), N = 2^17, r = 8, p = 1)   RFC 7914
//   ciphertext = AES-256-GCM(key, nonce (12 bytes), identitySeed || kemSeed || storageKey,
//                            aad = KEYSTORE_AAD_TAG || canonical CBOR of the header)
// The header is every field of the file except the ciphertext — format
// version, the public part, the KDF and its parameters, the nonce — so no
// field can be changed (say, a public key swapped, or the cost lowered)
// without the file failing to open. The public part (PeerId, Ed25519 and
// X-Wing public keys) is in the clear so `status` and tooling need no
// passphrase.
//
// Failure codes, as callers match them:
//   KEYSTORE_INVALID  missing, unreadable, malformed (the message names the field),
//                     unsafe permissions (with the chmod that fixes them), exists on init
//   WRONG_PASSPHRASE  the file is encrypted and the passphrase is missing or wrong, OR
//                     the encrypted file was altered: AES-GCM cannot tell those apart,
//                     so neither do we; or a passphrase was given for a clear file.
//
// JS cannot promise a wiped buffer leaves no copy behind (strings, JSON text
// and the GC are outside our control); we wipe every buffer we own anyway.
import { join, resolve } from 'node:path';
import {
  AES_GCM_LENGTHS,
  ErrorCode,
  QkmsError,
  concatBytes,
  fromHex,
  isQkmsError,
  peerIdFromEd25519PublicKey,
  toHex,
  wipe,
  type CryptoSuite,
} from '../protocol/internal.ts';
import { assertOptionsBag } from '../shamir/index.ts';
import {
  KEYSTORE_FORMAT,
  KEYSTORE_SCRYPT,
  KEYSTORE_SCRYPT_MAX_LOG_N,
  KEYSTORE_SECRET_BYTES,
  PROTECTION,
  deriveKey,
  headerAad,
  invalid,
  parseFile,
  type EncryptedHeader,
  type JsonObject,
  type KeystorePublicInfo,
} from './keystore-file.ts';
import {
  assertNoSecretFile,
  prepareSecretDir,
  readSecretFile,
  writeNewSecretFile,
} from './secret-file.ts';

export {
  KEYSTORE_FORMAT,
  KEYSTORE_SCRYPT,
  KEYSTORE_SCRYPT_MAX_LOG_N,
  KEYSTORE_SECRET_BYTES,
  type KeystorePublicInfo,
} from './keystore-file.ts';

export const KEYSTORE_FILE = 'keystore.json';
/** Test keystores may go as low as this (2^4 is instant); only through `insecureTestKdf`. */
export const KEYSTORE_SCRYPT_TEST_MIN_LOG_N = 4;
/** A new passphrase shorter than this is refused: scrypt slows guessing, it cannot save "1234". */
export const MIN_PASSPHRASE_CHARS = 8;
/** A keystore is about 3 KB (the X-Wing public key is 2,432 hex chars); read no more than this. */
export const MAX_KEYSTORE_FILE_BYTES = 64 * 1024;

/** What the "already exists" refusal says a keystore holds. */
const KEYSTORE_WHAT = 'a node identity';

export interface Keystore {
  readonly path: string;
  readonly encrypted: boolean;
  readonly publicInfo: KeystorePublicInfo;
  /** Ed25519 seed of the libp2p identity (32 bytes). Throws after wipe(). */
  readonly identitySeed: Uint8Array;
  /** X-Wing seed, the KEM secret key (32 bytes). Throws after wipe(). */
  readonly kemSeed: Uint8Array;
  /** AES-256-GCM key for shares at rest (32 bytes). Throws after wipe(). */
  readonly storageKey: Uint8Array;
  /** Zeroes the three secrets; afterwards reading them throws. Idempotent. */
  wipe(): void;
}

/** Lowers the scrypt cost. Tests only: production paths never pass it, and then the floor is 2^17. */
export interface InsecureTestKdf {
  readonly logN: number;
}

export interface InitKeystoreOptions {
  readonly suite: CryptoSuite;
  /** Encrypts the secrets under it (NFKC-normalized, at least MIN_PASSPHRASE_CHARS); absent: clear. */
  readonly passphrase?: string | undefined;
  /** Only `false`: a node identity is never replaced by accident. Move the old file away first. */
  readonly overwrite?: false;
  readonly insecureTestKdf?: InsecureTestKdf;
}

export interface LoadKeystoreOptions {
  readonly suite: CryptoSuite;
  /** Required for an encrypted file, refused for a clear one. */
  readonly passphrase?: string | undefined;
  /** Accept files encrypted at this lower cost (tests only). */
  readonly insecureTestKdf?: InsecureTestKdf;
}

const INIT_OPTION_KEYS = [
  'suite',
  'passphrase',
  'overwrite',
  'insecureTestKdf',
] as const satisfies readonly (keyof InitKeystoreOptions)[];
const LOAD_OPTION_KEYS = [
  'suite',
  'passphrase',
  'insecureTestKdf',
] as const satisfies readonly (keyof LoadKeystoreOptions)[];

export interface InitKeystoreResult {
  readonly path: string;
  readonly encrypted: boolean;
  readonly publicInfo: KeystorePublicInfo;
}

// ---------------------------------------------------------------------------
// Errors and option checks

function argument(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, message);
}

function checkSuite(suite: unknown): CryptoSuite {
  if (typeof suite !== 'object' || suite === null || !('aes256gcm' in suite)) {
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, 'suite: expected a CryptoSuite');
  }
  return suite as CryptoSuite;
}

/** The lowest scrypt cost a call accepts: production 2^17; tests may lower it explicitly. */
function logNFloor(testKdf: InsecureTestKdf | undefined): number {
  if (testKdf === undefined) return KEYSTORE_SCRYPT.logN;
  const { logN } = testKdf;
  if (
    !Number.isSafeInteger(logN) ||
    logN < KEYSTORE_SCRYPT_TEST_MIN_LOG_N ||
    logN > KEYSTORE_SCRYPT_MAX_LOG_N
  ) {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      `insecureTestKdf.logN: expected integer in [${KEYSTORE_SCRYPT_TEST_MIN_LOG_N}, ${KEYSTORE_SCRYPT_MAX_LOG_N}], got ${String(logN)}`,
    );
  }
  return logN;
}

/** User-perceived characters: an emoji or an accented letter counts once. */
function graphemes(text: string): number {
  return Array.from(new Intl.Segmenter().segment(text)).length;
}

function checkPassphrase(passphrase: unknown, forInit: boolean): string | undefined {
  if (passphrase === undefined) return undefined;
  if (typeof passphrase !== 'string') {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      `passphrase: expected string, got ${typeof passphrase}`,
    );
  }
  const normalized = passphrase.normalize('NFKC');
  if (forInit && graphemes(normalized) < MIN_PASSPHRASE_CHARS) {
    throw new QkmsError(
      ErrorCode.CONFIG_INVALID,
      `passphrase: expected at least ${MIN_PASSPHRASE_CHARS} characters`,
    );
  }
  return normalized;
}

// ---------------------------------------------------------------------------
// The public part, from the secrets

function derivePublicInfo(
  suite: CryptoSuite,
  identitySeed: Uint8Array,
  kemSeed: Uint8Array,
): KeystorePublicInfo {
  const nodePublicKey = suite.ed25519.getPublicKey(identitySeed);
  return Object.freeze({
    peerId: peerIdFromEd25519PublicKey(nodePublicKey),
    nodePublicKey: toHex(nodePublicKey),
    kemPublicKey: toHex(suite.xwing.getPublicKey(kemSeed)),
  });
}

// ---------------------------------------------------------------------------
// The file on disk (secret-file.ts checks directory, mode, links and size)

/** The keystore's text: DIR must pass checkSecretDir and the file readSecretFile's checks. */
function readKeystoreText(path: string, dir: string): string {
  return readSecretFile(path, {
    maxBytes: MAX_KEYSTORE_FILE_BYTES,
    missingHint: `create the keystore with: qkms node init --dir ${dir}`,
  });
}

// ---------------------------------------------------------------------------
// The API

function makeKeystore(
  path: string,
  encrypted: boolean,
  publicInfo: KeystorePublicInfo,
  identitySeed: Uint8Array,
  kemSeed: Uint8Array,
  storageKey: Uint8Array,
): Keystore {
  let wiped = false;
  const read = (secret: Uint8Array): Uint8Array => {
    if (wiped) throw invalid(`keystore ${path}: secrets used after wipe()`);
    return secret;
  };
  return Object.freeze({
    path,
    encrypted,
    publicInfo,
    get identitySeed() {
      return read(identitySeed);
    },
    get kemSeed() {
      return read(kemSeed);
    },
    get storageKey() {
      return read(storageKey);
    },
    wipe() {
      wipe(identitySeed, kemSeed, storageKey);
      wiped = true;
    },
    /** JSON.stringify(keystore) would call the getters; it shows the public part only. */
    toJSON() {
      return { path, encrypted, publicInfo };
    },
  });
}

/**
 * Creates DIR/keystore.json with fresh secrets and returns its public part.
 * Refuses (KEYSTORE_INVALID) if the file already exists. The secrets are wiped
 * before returning: load the keystore to use them.
 */
export function initKeystore(dir: string, options: InitKeystoreOptions): InitKeystoreResult {
  assertOptionsBag(options, 'initKeystore', INIT_OPTION_KEYS, argument);
  const suite = checkSuite(options.suite);
  if (options.overwrite !== undefined && (options.overwrite as unknown) !== false) {
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      'overwrite: only false is supported; move the old keystore away first',
    );
  }
  const passphrase = checkPassphrase(options.passphrase, true);
  const logN = logNFloor(options.insecureTestKdf);
  const root = resolve(dir);
  const path = join(root, KEYSTORE_FILE);
  prepareSecretDir(root);
  // Checked again, atomically, when the file is linked into place.
  assertNoSecretFile(path, KEYSTORE_WHAT);

  const identitySeed = suite.randomBytes(KEYSTORE_SECRET_BYTES);
  const kemSeed = suite.randomBytes(KEYSTORE_SECRET_BYTES);
  const storageKey = suite.randomBytes(KEYSTORE_SECRET_BYTES);
  let plaintext: Uint8Array | undefined;
  let key: Uint8Array | undefined;
  try {
    const publicInfo = derivePublicInfo(suite, identitySeed, kemSeed);
    let secrets: JsonObject;
    if (passphrase === undefined) {
      secrets = {
        protection: PROTECTION.none,
        identitySeed: toHex(identitySeed),
        kemSeed: toHex(kemSeed),
        storageKey: toHex(storageKey),
      };
    } else {
      const header: EncryptedHeader = {
        publicInfo,
        kdf: {
          logN,
          r: KEYSTORE_SCRYPT.r,
          p: KEYSTORE_SCRYPT.p,
          salt: toHex(suite.randomBytes(KEYSTORE_SCRYPT.saltBytes)),
        },
        nonce: toHex(suite.randomBytes(AES_GCM_LENGTHS.nonce)),
      };
      key = deriveKey(passphrase, header.kdf);
      plaintext = concatBytes(identitySeed, kemSeed, storageKey);
      const ciphertext = suite.aes256gcm.encrypt(
        key,
        fromHex(header.nonce),
        plaintext,
        headerAad(header),
      );
      secrets = {
        protection: PROTECTION.scrypt,
        kdf: { ...header.kdf },
        nonce: header.nonce,
        ciphertext: toHex(ciphertext),
      };
    }
    const file = { qkmsKeystore: KEYSTORE_FORMAT, public: { ...publicInfo }, secrets };
    writeNewSecretFile(path, `${JSON.stringify(file, null, 2)}\n`, {
      randomSuffix: toHex(suite.randomBytes(8)),
      what: KEYSTORE_WHAT,
    });
    return Object.freeze({ path, encrypted: passphrase !== undefined, publicInfo });
  } finally {
    wipe(identitySeed, kemSeed, storageKey, plaintext, key);
  }
}

/**
 * Opens DIR/keystore.json: checks its permissions, parses it strictly,
 * decrypts it if encrypted, and checks the public part against the secrets.
 * The caller owns the result and calls wipe() when done with it.
 */
export function loadKeystore(dir: string, options: LoadKeystoreOptions): Keystore {
  assertOptionsBag(options, 'loadKeystore', LOAD_OPTION_KEYS, argument);
  const suite = checkSuite(options.suite);
  const passphrase = checkPassphrase(options.passphrase, false);
  const minLogN = logNFloor(options.insecureTestKdf);
  const root = resolve(dir);
  const path = join(root, KEYSTORE_FILE);
  const parsed = parseFile(readKeystoreText(path, root), path, minLogN);
  const { secrets } = parsed;

  let identitySeed: Uint8Array;
  let kemSeed: Uint8Array;
  let storageKey: Uint8Array;
  if (secrets.protection === PROTECTION.none) {
    if (passphrase !== undefined) {
      throw new QkmsError(
        ErrorCode.WRONG_PASSPHRASE,
        `keystore ${path} is not encrypted, but a passphrase was given; unset it, or create an encrypted keystore`,
      );
    }
    identitySeed = fromHex(secrets.identitySeed);
    kemSeed = fromHex(secrets.kemSeed);
    storageKey = fromHex(secrets.storageKey);
  } else {
    if (passphrase === undefined) {
      throw new QkmsError(
        ErrorCode.WRONG_PASSPHRASE,
        `keystore ${path} is encrypted: a passphrase is required (QKMS_PASSPHRASE or --passphrase-file)`,
      );
    }
    const key = deriveKey(passphrase, secrets.header.kdf);
    let all: Uint8Array;
    try {
      all = suite.aes256gcm.decrypt(
        key,
        fromHex(secrets.header.nonce),
        fromHex(secrets.ciphertext),
        headerAad(secrets.header),
      );
    } catch (e) {
      if (!isQkmsError(e, ErrorCode.DECRYPT_FAILED)) throw e;
      throw new QkmsError(
        ErrorCode.WRONG_PASSPHRASE,
        `keystore ${path}: wrong passphrase (or the file was altered)`,
        { cause: e },
      );
    } finally {
      wipe(key);
    }
    identitySeed = all.slice(0, KEYSTORE_SECRET_BYTES);
    kemSeed = all.slice(KEYSTORE_SECRET_BYTES, 2 * KEYSTORE_SECRET_BYTES);
    storageKey = all.slice(2 * KEYSTORE_SECRET_BYTES);
    wipe(all);
  }
  try {
    const derived = derivePublicInfo(suite, identitySeed, kemSeed);
    for (const field of ['nodePublicKey', 'kemPublicKey'] as const) {
      if (derived[field] !== parsed.publicInfo[field]) {
        throw invalid(
          `keystore ${path}: public.${field}: expected the public key of the stored secret`,
        );
      }
    }
  } catch (e) {
    wipe(identitySeed, kemSeed, storageKey);
    throw e;
  }
  return makeKeystore(
    path,
    secrets.protection === PROTECTION.scrypt,
    parsed.publicInfo,
    identitySeed,
    kemSeed,
    storageKey,
  );
}

/**
 * The public part of DIR/keystore.json, without a passphrase (for `status` and
 * tooling). Same file checks as loadKeystore; the public part is as written —
 * only loadKeystore can check it against the secrets.
 */
export function readKeystorePublicInfo(dir: string): InitKeystoreResult {
  const root = resolve(dir);
  const path = join(root, KEYSTORE_FILE);
  const parsed = parseFile(readKeystoreText(path, root), path, KEYSTORE_SCRYPT_TEST_MIN_LOG_N);
  return Object.freeze({
    path,
    encrypted: parsed.secrets.protection === PROTECTION.scrypt,
    publicInfo: parsed.publicInfo,
  });
}
