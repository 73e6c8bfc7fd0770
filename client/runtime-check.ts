// What the packaged client needs from the runtime it is loaded in, checked
// before any of it loads (runtime-check-node.ts and runtime-check-browser.ts,
// which the package entries import first; decision 0013). A failure is a
// plain Error, not a QkmsError: this module imports nothing, so it still runs
// where the library would not.

/**
 * The oldest Node the client supports: libp2p 3 needs 22, and the client
 * itself uses Promise.withResolvers (22.0). Nothing newer than 22 is used
 * unconditionally: ML-KEM in node:crypto (24.7) is detected, and the noble
 * suite is used without it.
 */
export const MIN_CLIENT_NODE_MAJOR = 22;

/** Throws unless `version` (process.versions.node, without the `v`) is at least MIN_CLIENT_NODE_MAJOR. */
export function checkNodeRuntime(version: string): void {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (!(major >= MIN_CLIENT_NODE_MAJOR))
    throw new Error(
      `@qkms/client needs Node >= ${MIN_CLIENT_NODE_MAJOR} (this is v${version.replace(/^v/, '')})`,
    );
}

/** A global the client, or a library it loads, calls in a browser. */
interface Feature {
  readonly name: string;
  readonly present: (scope: BrowserScope) => boolean;
}

/** The globals the features are looked up on (globalThis in a page, a fake in tests). */
export type BrowserScope = Readonly<Record<string, unknown>>;

function path(scope: BrowserScope, dotted: string): unknown {
  let value: unknown = scope;
  for (const key of dotted.split('.')) {
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null)
      return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const isFunction =
  (dotted: string) =>
  (scope: BrowserScope): boolean =>
    typeof path(scope, dotted) === 'function';

/**
 * What a page must offer, each for a reason in the bundle: libp2p dials
 * nodes over WebSocket and keeps its peer key and hashes in WebCrypto
 * (crypto.subtle exists only in a secure context: https, or localhost);
 * noble draws randomness from crypto.getRandomValues; the codecs use
 * TextEncoder and TextDecoder; every wait takes an AbortSignal (timeout, any);
 * the client's waits use Promise.withResolvers; libp2p's events are
 * EventTarget and CustomEvent.
 */
export const BROWSER_FEATURES: readonly Feature[] = [
  { name: 'WebSocket', present: isFunction('WebSocket') },
  { name: 'crypto.getRandomValues', present: isFunction('crypto.getRandomValues') },
  {
    name: 'crypto.subtle (a secure context: https or localhost)',
    present: (scope) => typeof path(scope, 'crypto.subtle') === 'object',
  },
  { name: 'TextEncoder', present: isFunction('TextEncoder') },
  { name: 'TextDecoder', present: isFunction('TextDecoder') },
  { name: 'AbortSignal.timeout', present: isFunction('AbortSignal.timeout') },
  { name: 'AbortSignal.any', present: isFunction('AbortSignal.any') },
  { name: 'Promise.withResolvers', present: isFunction('Promise.withResolvers') },
  { name: 'EventTarget', present: isFunction('EventTarget') },
  { name: 'CustomEvent', present: isFunction('CustomEvent') },
];

/** The names of BROWSER_FEATURES that `scope` lacks, in table order. */
export function missingBrowserFeatures(scope: BrowserScope): string[] {
  return BROWSER_FEATURES.filter((f) => !f.present(scope)).map((f) => f.name);
}

/** Throws, naming every missing feature, unless `scope` offers all of BROWSER_FEATURES. */
export function checkBrowserRuntime(scope: BrowserScope): void {
  const missing = missingBrowserFeatures(scope);
  if (missing.length > 0)
    throw new Error(
      `@qkms/client needs browser features this runtime lacks: ${missing.join(', ')}`,
    );
}
