// The parsers of the node's settings (./node-settings.ts): each takes a raw
// value, from a flag or a variable (text) or from the JSON config file, and
// returns it typed or throws Expected("expected …, got …"), which the caller
// prefixes with where the value came from (./node-options.ts).
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { LOG_LEVELS, isLogLevel, type HttpAddress, type LogLevel } from '../node/index.ts';

/** Listen addresses: a few transports over IPv4 and IPv6 (the node-set limit too). */
export const MAX_LISTEN_ADDRS = 8;

export class Expected extends Error {}

export interface ParseContext {
  /** The value came from a flag or variable (text), not from JSON. */
  readonly text: boolean;
  /** Base of relative paths. */
  readonly baseDir: string;
}

export function show(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

export function expected(what: string, got: unknown): Expected {
  return new Expected(`expected ${what}, got ${show(got)}`);
}

export function parsePath(value: unknown, ctx: ParseContext): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw expected('a file path', value);
  }
  return isAbsolute(value) ? value : resolve(ctx.baseDir, value);
}

const DECIMAL_INT = /^(?:0|[1-9][0-9]{0,15})$/;
const DECIMAL = /^(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,6})?$/;

function parseNumber(value: unknown, ctx: ParseContext, integer: boolean): number | undefined {
  if (ctx.text) {
    return typeof value === 'string' && (integer ? DECIMAL_INT : DECIMAL).test(value)
      ? Number(value)
      : undefined;
  }
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function intParser(min: number, max: number, unit: string) {
  return (value: unknown, ctx: ParseContext): number => {
    const n = parseNumber(value, ctx, true);
    if (n === undefined || !Number.isSafeInteger(n) || n < min || n > max) {
      throw expected(`an integer ${unit} in [${min}, ${max}]`, value);
    }
    return n;
  };
}

export function rateParser(max: number, unit: string) {
  return (value: unknown, ctx: ParseContext): number => {
    const n = parseNumber(value, ctx, false);
    if (n === undefined || n <= 0 || n > max) throw expected(`${unit} in (0, ${max}]`, value);
    return n;
  };
}

export function parseBoolean(value: unknown, ctx: ParseContext): boolean {
  if (value === true || value === false) return value; // a flag, or JSON
  if (ctx.text && (value === '1' || value === 'true')) return true;
  if (ctx.text && (value === '0' || value === 'false')) return false;
  throw expected(ctx.text ? '1, 0, true or false' : 'true or false', value);
}

export function parseLogLevel(value: unknown): LogLevel {
  if (!isLogLevel(value)) throw expected(`one of ${LOG_LEVELS.join(', ')}`, value);
  return value;
}

/**
 * A listen address: /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT, optionally with
 * /ws (WebSocket) or /tls/ws (secure WebSocket); or /ip4|ip6/IP/udp/PORT/webrtc-direct.
 * Valid to the multiaddr parser too.
 */
const LISTEN_ADDR =
  /^(?:\/(?:ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/[0-9]+(?:\/ws|\/tls\/ws)?|\/(?:ip4|ip6)\/[^/]+\/udp\/[0-9]+\/webrtc-direct)$/;

export function parseListen(value: unknown, ctx: ParseContext): readonly string[] {
  let list: readonly unknown[];
  if (typeof value === 'string' && ctx.text) list = value.split(',').map((s) => s.trim());
  else if (Array.isArray(value)) list = value as readonly unknown[];
  else throw expected(ctx.text ? 'comma-separated multiaddrs' : 'an array of multiaddrs', value);
  if (list.length < 1 || list.length > MAX_LISTEN_ADDRS) {
    throw new Expected(`expected 1 to ${MAX_LISTEN_ADDRS} multiaddrs, got ${list.length}`);
  }
  const out: string[] = [];
  for (const addr of list) {
    if (typeof addr !== 'string' || !LISTEN_ADDR.test(addr)) {
      throw expected(
        'a TCP, WebSocket or WebRTC-direct multiaddr like /ip4/127.0.0.1/tcp/7101, /ip4/127.0.0.1/tcp/8101/ws or /ip4/127.0.0.1/udp/8101/webrtc-direct',
        addr,
      );
    }
    try {
      multiaddr(addr);
    } catch (e) {
      throw new Expected(
        `expected a valid multiaddr, got ${show(addr)} (${e instanceof Error ? e.message : 'invalid'})`,
      );
    }
    if (out.includes(addr))
      throw new Expected(`expected distinct multiaddrs, got ${show(addr)} twice`);
    out.push(addr);
  }
  return out;
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/;

export function parseHttp(value: unknown): HttpAddress {
  const what = 'HOST:PORT (e.g. 127.0.0.1:9101, [::1]:9101)';
  if (typeof value !== 'string') throw expected(what, value);
  const m = HOST_PORT.exec(value);
  const ipv6 = m?.[1];
  const host = ipv6 ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !(port >= 0 && port <= 65_535)) throw expected(what, value);
  if (ipv6 !== undefined && isIP(ipv6) !== 6) throw expected(`${what} with a valid IPv6`, value);
  if (ipv6 === undefined && /^[0-9.]+$/.test(host) && isIP(host) !== 4) {
    throw expected(`${what} with a valid IPv4`, value);
  }
  return { host, port };
}

/** Endpoints a node may list, all chains together. */
export const MAX_EVM_ENDPOINTS = 16;

/** What an RPC URL may be shown as: scheme and host only (the path and query often hold an API key). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return 'a value that is not a URL';
  }
}

/** `CHAIN_ID=URL` entries (the flag repeated, the variable comma-separated, or a JSON array). */
export function parseEvmRpc(
  value: unknown,
  ctx: ParseContext,
): readonly { chainId: number; url: string }[] {
  let list: readonly unknown[];
  if (typeof value === 'string' && ctx.text)
    list = value === '' ? [] : value.split(',').map((s) => s.trim());
  else if (Array.isArray(value)) list = value as readonly unknown[];
  else
    throw new Expected(ctx.text ? 'expected CHAIN_ID=URL' : 'expected an array of "CHAIN_ID=URL"');
  if (list.length > MAX_EVM_ENDPOINTS)
    throw new Expected(`expected at most ${MAX_EVM_ENDPOINTS} endpoints, got ${list.length}`);
  const out: { chainId: number; url: string }[] = [];
  for (const entry of list) {
    const match = typeof entry === 'string' ? /^([1-9][0-9]{0,15})=(.+)$/.exec(entry) : null;
    if (match === null)
      throw new Expected('expected CHAIN_ID=URL, such as 31337=http://127.0.0.1:8545');
    const chainId = Number(match[1]);
    const url = match[2] ?? '';
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Expected(`chain ${chainId}: expected an http(s) URL after "="`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new Expected(`chain ${chainId}: expected an http or https URL, got ${redactUrl(url)}`);
    if (!Number.isSafeInteger(chainId)) throw new Expected(`expected a chain id below 2^53`);
    if (out.some((o) => o.chainId === chainId && o.url === url))
      throw new Expected(`chain ${chainId}: ${redactUrl(url)} given twice`);
    out.push({ chainId, url });
  }
  return out;
}
