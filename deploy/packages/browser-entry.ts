// The entry of the self-contained browser bundle (build/browser/qkms-client.js):
// the client library, and the protocol's public surface as `protocol` (node
// sets, hex, the crypto suite), for a page that loads qkms without a bundler.
// The web feature check comes first, so a page that lacks one gets one clear
// error before any of the library runs (client/runtime-check.ts).
import '../../client/runtime-check-browser.ts';
export * from '../../client/index.ts';
export * as protocol from '../../protocol/index.ts';
