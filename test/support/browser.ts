// A real browser for the browser tests and benchmarks (issue 15): Debian's
// Chromium driven headless through playwright-core (never a browser the test
// tool downloads), a static file server on loopback for the test pages and
// the client bundle, and an EIP-1193 wallet (https://eips.ethereum.org/EIPS/eip-1193)
// injected into a page whose key stays in this process: the page's
// `window.ethereum.request` calls back here, and only addresses, the chain id
// and signatures go back.
import { existsSync, mkdtempSync, realpathSync, rmSync, statSync, createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { Address, Hex, PersonalMessage, Secp256k1, Signature } from 'ox';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildBrowserBundle } from '../../deploy/packages/browser-bundle.ts';

/** Where test/support/ensure-debian-packages.sh installs Debian's chromium package. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
/** Headless, no sandbox (containers run as root), and nothing that reaches out to the network. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The chain the injected wallet reports: the test node sets' (test/support/quorum.ts). */
export const DEFAULT_CHAIN_ID = 1;

/**
 * Launches Debian's chromium headless with a fresh profile (playwright-core
 * makes a temporary user data dir per launch and removes it on close). Throws,
 * never skips, when the browser is not installed.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `${CHROMIUM_PATH} is missing: the browser tests need Debian's chromium package` +
        ' (bash test/support/ensure-debian-packages.sh, or apt-get install chromium)',
    );
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    // Playwright's own SIGINT/SIGTERM handlers would race the tests' cleanup.
    handleSIGINT: false,
    handleSIGTERM: false,
  });
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.wav': 'audio/wav',
  '.webm': 'video/webm',
  '.mp4': 'video/mp4',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticServer {
  /** http://127.0.0.1:PORT, no trailing slash. */
  readonly url: string;
  close(): Promise<void>;
}

interface Route {
  /** URL path prefix, starting with '/'. */
  readonly prefix: string;
  /** Absolute, symlinks resolved. */
  readonly target: string;
  readonly isDirectory: boolean;
}

function routesOf(routes: Record<string, string>): Route[] {
  const out = Object.entries(routes).map(([prefix, path]): Route => {
    if (!prefix.startsWith('/')) throw new Error(`serveStatic: route ${prefix}: must start with /`);
    const target = realpathSync(resolve(path));
    return { prefix, target, isDirectory: statSync(target).isDirectory() };
  });
  // Longest prefix first: '/qkms-client.js' wins over '/'.
  return out.sort((a, b) => b.prefix.length - a.prefix.length);
}

/** The file `pathname` maps to, or undefined (no route, outside its root, not a file). */
function resolveFile(routes: readonly Route[], pathname: string): string | undefined {
  for (const route of routes) {
    if (!route.isDirectory) {
      if (pathname === route.prefix) return route.target;
      continue;
    }
    const base = route.prefix.endsWith('/') ? route.prefix : `${route.prefix}/`;
    if (pathname !== route.prefix && !pathname.startsWith(base)) continue;
    let rest = pathname === route.prefix ? '/' : pathname.slice(base.length - 1);
    if (rest.endsWith('/')) rest += 'index.html';
    const candidate = resolve(route.target, `.${rest}`);
    if (!candidate.startsWith(route.target + sep)) return undefined;
    if (!existsSync(candidate)) return undefined;
    // A symlink inside the root may still point outside it.
    const real = realpathSync(candidate);
    if (!real.startsWith(route.target + sep) || !statSync(real).isFile()) return undefined;
    return real;
  }
  return undefined;
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** One `bytes=a-b` range of a `size`-byte file, or undefined (none, several, or not satisfiable). */
function byteRange(header: string | undefined, size: number): [number, number] | undefined {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header);
  if (m === null || (m[1] === '' && m[2] === '')) return undefined;
  const start = m[1] === '' ? Math.max(0, size - Number(m[2])) : Number(m[1]);
  const end = m[1] === '' || m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start <= end && start < size ? [start, end] : undefined;
}

function handle(routes: readonly Route[], req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed');
    return;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
  } catch {
    send(res, 400, 'bad path');
    return;
  }
  const file = pathname.includes('\0') ? undefined : resolveFile(routes, pathname);
  if (file === undefined) {
    send(res, 404, 'not found');
    return;
  }
  const size = statSync(file).size;
  const headers: Record<string, string | number> = {
    // The URL's extension first: a file route may serve a file of another name.
    'content-type':
      CONTENT_TYPES[extname(pathname).toLowerCase()] ??
      CONTENT_TYPES[extname(file).toLowerCase()] ??
      'application/octet-stream',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'accept-ranges': 'bytes',
  };
  // Media elements seek with Range requests.
  const range = byteRange(req.headers.range, size);
  if (req.headers.range !== undefined && range === undefined) {
    res.writeHead(416, { 'content-range': `bytes */${size}` });
    res.end();
    return;
  }
  const [start, end] = range ?? [0, size - 1];
  if (range !== undefined) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  headers['content-length'] = size === 0 ? 0 : end - start + 1;
  res.writeHead(range === undefined ? 200 : 206, headers);
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  createReadStream(file, { start, end })
    .on('error', () => res.destroy())
    .pipe(res);
}

/**
 * Serves `routes` (URL path prefix → file or directory) on 127.0.0.1 at an
 * ephemeral port: a file route answers its exact path, a directory route the
 * paths under it ('…/' is index.html). Nothing outside a route's root is
 * served, through '..' or a symlink.
 */
export async function serveStatic(routes: Record<string, string>): Promise<StaticServer> {
  const table = routesOf(routes);
  const server = createServer((req, res) => {
    handle(table, req, res);
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('serveStatic: no port');
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      (closing ??= new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => {
          resolveClose();
        });
      })),
  };
}

let bundle: Promise<string> | undefined;

/**
 * The client's browser bundle (deploy/packages/browser-bundle.ts), built once
 * per process. Each process builds its own copy in a temporary directory:
 * processes running at once never serve a file another one is rewriting.
 */
export function ensureBrowserBundle(): Promise<string> {
  bundle ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkms-browser-bundle-'));
    process.once('exit', () => {
      rmSync(dir, { recursive: true, force: true });
    });
    return (await buildBrowserBundle(join(dir, 'qkms-client.js'))).file;
  })();
  return bundle;
}

/** An EIP-1193 error (code 4200: unsupported method; 4100: unauthorized; -32602: bad params). */
interface ProviderError {
  readonly code: number;
  readonly message: string;
}
type ProviderAnswer = { readonly result: unknown } | { readonly error: ProviderError };

const PRIVATE_KEY_HEX = /^(?:0x)?([0-9a-fA-F]{64})$/;
const DATA_HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

/** The page side: window.ethereum forwards every request to the exposed binding. */
const PROVIDER_SCRIPT = `(() => {
  const call = window.__qkmsTestWallet;
  window.ethereum = Object.freeze({
    isQkmsTestWallet: true,
    async request(args) {
      const method = args && typeof args.method === 'string' ? args.method : '';
      const params = args && Array.isArray(args.params) ? args.params : [];
      const answer = await call(method, params);
      if ('error' in answer) {
        const e = new Error(answer.error.message);
        e.code = answer.error.code;
        throw e;
      }
      return answer.result;
    },
  });
})();`;

/**
 * Installs `window.ethereum` in `page` (call before navigating): an EIP-1193
 * provider for the wallet of `privateKeyHex`, answering eth_requestAccounts,
 * eth_accounts, eth_chainId and personal_sign (params [0x-hex message,
 * address]; EIP-191 over the message bytes). The key signs in this process;
 * the page never sees it. Other methods reject with code 4200.
 */
export async function injectWallet(
  page: Page,
  privateKeyHex: string,
  options: { chainId?: number } = {},
): Promise<{ address: string }> {
  const match = PRIVATE_KEY_HEX.exec(privateKeyHex);
  if (match?.[1] === undefined) throw new Error('injectWallet: expected 32 bytes of hex');
  const privateKey = Hex.toBytes(`0x${match[1]}`);
  const address = Address.fromPublicKey(Secp256k1.getPublicKey({ privateKey }), {
    checksum: true,
  });
  const chainId = Hex.fromNumber(options.chainId ?? DEFAULT_CHAIN_ID);
  const error = (code: number, message: string): ProviderAnswer => ({ error: { code, message } });

  const answer = (method: unknown, params: unknown): ProviderAnswer => {
    switch (method) {
      case 'eth_requestAccounts':
      case 'eth_accounts':
        return { result: [address] };
      case 'eth_chainId':
        return { result: chainId };
      case 'personal_sign': {
        const [data, account] = Array.isArray(params) ? (params as unknown[]) : [];
        if (typeof data !== 'string' || !DATA_HEX.test(data) || typeof account !== 'string')
          return error(-32602, 'personal_sign: expected params [0x-hex message, address]');
        if (account.toLowerCase() !== address.toLowerCase())
          return error(4100, 'personal_sign: not an account of this wallet');
        const payload = PersonalMessage.getSignPayload(data as Hex.Hex);
        return { result: Signature.toHex(Secp256k1.sign({ payload, privateKey })) };
      }
      default:
        return error(4200, `unsupported method: ${String(method)}`);
    }
  };
  await page.exposeFunction('__qkmsTestWallet', answer);
  await page.addInitScript(PROVIDER_SCRIPT);
  return { address };
}
