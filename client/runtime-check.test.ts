// The runtime checks the @qkms/client entries run first (decision 0013), and
// the claim behind the Node 22 floor: the layers the client package ships
// call nothing newer than Node 22 (test/e2e/packed-client.test.ts runs the
// packed client on Node 22 itself).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BROWSER_FEATURES,
  MIN_CLIENT_NODE_MAJOR,
  checkBrowserRuntime,
  checkNodeRuntime,
  missingBrowserFeatures,
} from './runtime-check.ts';

describe('checkNodeRuntime', () => {
  it.each(['22.0.0', '22.23.5', '24.21.0', '30.1.2', 'v22.1.0'])('accepts Node %s', (version) => {
    expect(() => {
      checkNodeRuntime(version);
    }).not.toThrow();
  });

  it.each([
    ['21.7.3', '@qkms/client needs Node >= 22 (this is v21.7.3)'],
    ['20.20.2', '@qkms/client needs Node >= 22 (this is v20.20.2)'],
    ['v18.19.0', '@qkms/client needs Node >= 22 (this is v18.19.0)'],
    ['', '@qkms/client needs Node >= 22 (this is v)'],
    ['not-a-version', '@qkms/client needs Node >= 22 (this is vnot-a-version)'],
  ])('refuses Node %j, naming the floor and the version it found', (version, message) => {
    expect(() => {
      checkNodeRuntime(version);
    }).toThrow(new Error(message));
  });

  it('accepts the Node running this test (the repository pins 24)', () => {
    expect(MIN_CLIENT_NODE_MAJOR).toBe(22);
    expect(() => {
      checkNodeRuntime(process.versions.node);
    }).not.toThrow();
  });
});

/** A scope offering every feature of BROWSER_FEATURES, as a browser would. */
function fullScope(): Record<string, unknown> {
  const fn = (): void => undefined;
  return {
    WebSocket: fn,
    crypto: { getRandomValues: fn, subtle: {} },
    TextEncoder: fn,
    TextDecoder: fn,
    AbortSignal: { timeout: fn, any: fn },
    Promise: { withResolvers: fn },
    EventTarget: fn,
    CustomEvent: fn,
  };
}

describe('checkBrowserRuntime', () => {
  it('accepts a scope with every feature, and this Node, which has them all too', () => {
    expect(missingBrowserFeatures(fullScope())).toEqual([]);
    expect(() => {
      checkBrowserRuntime(fullScope());
    }).not.toThrow();
    expect(missingBrowserFeatures(globalThis)).toEqual([]);
  });

  it('names every missing feature, in table order, in one error', () => {
    expect(() => {
      checkBrowserRuntime({});
    }).toThrow(
      new Error(
        `@qkms/client needs browser features this runtime lacks: ${BROWSER_FEATURES.map((f) => f.name).join(', ')}`,
      ),
    );
  });

  it.each([
    ['WebSocket', { WebSocket: undefined }],
    ['crypto.getRandomValues', { crypto: { subtle: {} } }],
    // An http:// page on a host other than localhost: crypto without subtle.
    [
      'crypto.subtle (a secure context: https or localhost)',
      { crypto: { getRandomValues: () => undefined } },
    ],
    ['TextDecoder', { TextDecoder: 'not a constructor' }],
    ['AbortSignal.any', { AbortSignal: { timeout: () => undefined } }],
    ['Promise.withResolvers', { Promise: {} }],
    ['CustomEvent', { CustomEvent: null }],
  ])('names %s alone when only it is missing', (name, override) => {
    const scope = { ...fullScope(), ...override };
    expect(missingBrowserFeatures(scope)).toEqual([name]);
    expect(() => {
      checkBrowserRuntime(scope);
    }).toThrow(`@qkms/client needs browser features this runtime lacks: ${name}`);
  });
});

/** What the client package ships: these layers' sources, tests aside. */
const SHIPPED_LAYERS = ['client', 'protocol', 'revocation', 'shamir'];
const ROOT = resolve(import.meta.dirname, '..');

/** Globals and syntax newer than Node 22, with the Node that brought each. */
const NEWER_THAN_22: readonly { api: string; since: string; pattern: RegExp }[] = [
  { api: 'RegExp.escape', since: '24', pattern: /\bRegExp\.escape\b/ },
  { api: 'Error.isError', since: '24', pattern: /\bError\.isError\b/ },
  { api: 'Promise.try', since: '23', pattern: /\bPromise\.try\b/ },
  { api: 'Uint8Array.fromHex', since: '25', pattern: /\bUint8Array\.fromHex\b/ },
  { api: 'Uint8Array.fromBase64', since: '25', pattern: /\bUint8Array\.fromBase64\b/ },
  { api: 'Uint8Array#toHex', since: '25', pattern: /\.toHex\(\)/ },
  { api: 'Uint8Array#toBase64', since: '25', pattern: /\.toBase64\(/ },
  { api: 'Math.sumPrecise', since: '25', pattern: /\bMath\.sumPrecise\b/ },
  { api: 'Float16Array', since: '24', pattern: /\bFloat16Array\b/ },
  { api: 'Atomics.pause', since: '24', pattern: /\bAtomics\.pause\b/ },
  { api: 'Iterator.concat', since: '25', pattern: /\bIterator\.concat\b/ },
  { api: '`using` declarations', since: '24', pattern: /^\s*(await\s+)?using\s+\w+\s*=/m },
];

function shippedSources(): string[] {
  return SHIPPED_LAYERS.flatMap((layer) =>
    readdirSync(join(ROOT, layer), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
      .map((e) => join(e.parentPath, e.name)),
  );
}

describe('the layers @qkms/client ships', () => {
  it('call nothing newer than Node 22 (the floor client/runtime-check.ts enforces)', () => {
    const files = shippedSources();
    expect(files.length).toBeGreaterThan(50);
    const uses = files.flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      return NEWER_THAN_22.filter((n) => n.pattern.test(text)).map(
        (n) => `${file.slice(ROOT.length + 1)}: ${n.api} (Node ${n.since})`,
      );
    });
    expect(uses).toEqual([]);
  });

  it('the audit patterns find what they look for', () => {
    const sample = [
      'RegExp.escape(s)',
      'Error.isError(e)',
      'Promise.try(f)',
      'Uint8Array.fromHex(h)',
      'Uint8Array.fromBase64(b)',
      'bytes.toHex()',
      'bytes.toBase64()',
      'Math.sumPrecise(xs)',
      'new Float16Array(2)',
      'Atomics.pause()',
      'Iterator.concat(a, b)',
      '  using handle = open();',
    ];
    expect(NEWER_THAN_22.map((n, i) => n.pattern.test(sample[i] ?? ''))).toEqual(
      NEWER_THAN_22.map(() => true),
    );
  });
});
