// The crypto suite in a browser (package.json "imports", `#crypto-suite`,
// `browser` condition): noble only, so a browser bundle carries no
// `node:crypto` import and no native-suite code.
import { ErrorCode, QkmsError } from '../errors.ts';
import { nobleSuite } from './noble.ts';
import type { CryptoSuite } from './types.ts';

export function defaultSuite(): CryptoSuite {
  return nobleSuite;
}

/** Browsers have no node:crypto: never a native suite. */
export function nativeSuite(): CryptoSuite | undefined {
  return undefined;
}

export function requireNativeSuite(): CryptoSuite {
  throw new QkmsError(
    ErrorCode.UNSUPPORTED,
    'native crypto suite: not available in a browser (node:crypto is Node-only)',
  );
}
