// The entry of the @qkms/client package under the `browser` condition, and
// the default for runtimes that are neither (decision 0013): first the web
// feature check, then the client library, exactly client/index.ts. The check
// is a module of its own because an importer's body runs only after
// everything it imports has run.
import './runtime-check-browser.ts';

export * from './index.ts';
