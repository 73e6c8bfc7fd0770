// The crypto suite where `node:crypto` may exist (package.json "imports",
// `#crypto-suite`, default condition): native where node:crypto offers every
// primitive (Node >= 24.7), noble on older Node and other server runtimes.
import { nativeSuite } from './native.ts';
import { nobleSuite } from './noble.ts';
import type { CryptoSuite } from './types.ts';

export { nativeSuite, requireNativeSuite } from './native.ts';

export function defaultSuite(): CryptoSuite {
  return nativeSuite() ?? nobleSuite;
}
