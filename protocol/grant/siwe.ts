// Sign-In with Ethereum, EIP-4361 (https://eips.ethereum.org/EIPS/eip-4361):
// a strict parser and the one serializer of the message text, RFC 3339
// timestamps (https://www.rfc-editor.org/rfc/rfc3339#section-5.6), and the
// EIP-191 personal_sign signer recovery (https://eips.ethereum.org/EIPS/eip-191).
//
// Why a hand-written parser: ox's `Siwe.parseMessage` (our maintained SIWE
// library) is a pair of unanchored regular expressions. It accepts text around
// and between the fields, cannot parse authorities the EIP allows (userinfo,
// IP literals: two of the reference vectors), and turns timestamps into Date
// objects, which loses the exact text a byte-exact round trip needs. So this
// file follows the EIP's ABNF line by line and re-serializes what it parsed,
// refusing any text that does not come back byte for byte. ox still does the
// parts it does well: RFC 3986 URI checks, EIP-55 checksums, EIP-191 payloads
// and secp256k1 recovery (with the curve from @noble/curves). And
// protocol/grant/delegation.ts still runs ox's parser over every delegation as
// a second opinion: the two must agree on every field.
import * as Address from 'ox/Address';
import * as Bytes from 'ox/Bytes';
import * as Hex from 'ox/Hex';
import * as PersonalMessage from 'ox/PersonalMessage';
import * as Secp256k1 from 'ox/Secp256k1';
import * as Siwe from 'ox/Siwe';
import { MAX_DELEGATION_MESSAGE_BYTES, WALLET_SIGNATURE_BYTES } from '../constants.ts';
import { ErrorCode, QkmsError } from '../errors.ts';

/** An EIP-4361 message, field by field; timestamps stay the exact text that was signed. */
export interface SiweMessage {
  /** RFC 3986 scheme before `://` on the first line, if any. */
  readonly scheme: string | undefined;
  /** RFC 3986 authority that requests the signing. */
  readonly domain: string;
  /** EIP-55 checksummed address. */
  readonly address: string;
  readonly statement: string | undefined;
  readonly uri: string;
  readonly version: '1';
  readonly chainId: number;
  readonly nonce: string;
  /** RFC 3339 date-time, as written. */
  readonly issuedAt: string;
  readonly expirationTime: string | undefined;
  readonly notBefore: string | undefined;
  readonly requestId: string | undefined;
  /** `undefined` when the message has no `Resources:` line; `[]` when it has one and no entries. */
  readonly resources: readonly string[] | undefined;
}

/** Bounds a message and its fields must respect before anything else looks at them. */
export const SIWE_LIMITS = {
  /** The whole text: a delegation is a few hundred bytes plus its ReCap. */
  messageBytes: MAX_DELEGATION_MESSAGE_BYTES,
  /** A DNS name is at most 253 characters; a little room for userinfo and port. */
  domainChars: 255,
  /** URI schemes are short words. */
  schemeChars: 32,
  /** The `URI:` field; qkms's is 71 characters. */
  uriChars: 2048,
  /** ox's own nonce generator makes 96 characters. */
  nonceChars: 128,
  requestIdChars: 256,
  /** A chain id is a safe integer: at most 16 decimal digits. */
  chainIdDigits: 16,
  /** qkms uses two resources; plain SIWE messages rarely list more than a handful. */
  resources: 32,
  /** Digits of a fraction of a second; nanoseconds is already more than any clock gives. */
  fractionDigits: 9,
} as const;

const HEADER_SUFFIX = ' wants you to sign in with your Ethereum account:';

function invalid(message: string, cause?: unknown): QkmsError {
  return new QkmsError(
    ErrorCode.DELEGATION_INVALID,
    `siwe: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** The one serialization of a SIWE message (EIP-4361, "Message Format"); it validates nothing. */
export function formatSiweMessage(m: SiweMessage): string {
  const origin = m.scheme === undefined ? m.domain : `${m.scheme}://${m.domain}`;
  let text = `${origin}${HEADER_SUFFIX}\n${m.address}\n\n`;
  if (m.statement !== undefined) text += `${m.statement}\n`;
  text += `\nURI: ${m.uri}\nVersion: ${m.version}\nChain ID: ${String(m.chainId)}`;
  text += `\nNonce: ${m.nonce}\nIssued At: ${m.issuedAt}`;
  if (m.expirationTime !== undefined) text += `\nExpiration Time: ${m.expirationTime}`;
  if (m.notBefore !== undefined) text += `\nNot Before: ${m.notBefore}`;
  if (m.requestId !== undefined) text += `\nRequest ID: ${m.requestId}`;
  if (m.resources !== undefined) {
    text += '\nResources:';
    for (const resource of m.resources) text += `\n- ${resource}`;
  }
  return text;
}

// ABNF pieces of EIP-4361 and RFC 3986, as regular expressions over ASCII.
/** Printable ASCII and LF: everything the grammar can produce (no CR, tab or non-ASCII). */
const MESSAGE_CHARS = /^[\x20-\x7e\n]*$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+\-.]*$/;
/** authority = [ userinfo "@" ] host [ ":" port ]; host = IP-literal / IPv4address / reg-name (non-empty). */
const AUTHORITY =
  /^(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*@)?(?:\[(?<ip6>[0-9A-Fa-f:.]+)\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)(?::[0-9]*)?$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
/** statement = 1*( reserved / unreserved / " " ) */
const STATEMENT = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;= ]+$/;
const CHAIN_ID = /^[0-9]+$/;
/** request-id = *pchar */
const REQUEST_ID = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

function isAuthority(value: string): boolean {
  const match = AUTHORITY.exec(value);
  if (match === null) return false;
  const ip6 = match.groups?.['ip6'];
  if (ip6 === undefined) return true;
  try {
    // The WHATWG URL parser validates an IPv6 literal the same way a browser would.
    new URL(`http://[${ip6}]/`);
    return true;
  } catch {
    return false;
  }
}

function isUri(value: string): boolean {
  return value.length > 0 && Siwe.isUri(value) !== false;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Milliseconds since the epoch of an RFC 3339 date-time (`T`/`Z` in either
 * case, any offset, any number of fraction digits up to a bound, truncated to
 * the millisecond). Calendar-checked: 2022-02-31 is refused, where JS `Date`
 * would silently roll it over to March. Leap seconds (`:60`) are refused:
 * JavaScript time cannot represent them, and no SIWE library emits them.
 */
export function parseRfc3339(text: string): number {
  const m = DATE_TIME.exec(text);
  if (m === null) throw invalid('timestamp is not an RFC 3339 date-time');
  const [, y, mo, d, h, mi, s, frac, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw invalid('timestamp names a day that does not exist');
  }
  if (hour > 23 || minute > 59 || second > 59) throw invalid('timestamp time of day out of range');
  if (frac !== undefined && frac.length > SIWE_LIMITS.fractionDigits) {
    throw invalid(`timestamp fraction longer than ${SIWE_LIMITS.fractionDigits} digits`);
  }
  let offsetMinutes = 0;
  if (sign !== undefined) {
    const offsetHour = Number(oh);
    const offsetMinute = Number(om);
    if (offsetHour > 23 || offsetMinute > 59) throw invalid('timestamp offset out of range');
    offsetMinutes = (sign === '-' ? -1 : 1) * (offsetHour * 60 + offsetMinute);
  }
  const millis = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  date.setUTCFullYear(year, month - 1, day); // Date.UTC maps years 0..99 to 1900..1999
  return date.getTime() - offsetMinutes * 60_000;
}

/** Reads the message line by line; every field is a prefix on its own line. */
class Lines {
  readonly #lines: readonly string[];
  #next = 0;

  constructor(text: string) {
    this.#lines = text.split('\n');
  }

  get done(): boolean {
    return this.#next >= this.#lines.length;
  }

  peek(): string | undefined {
    return this.#lines[this.#next];
  }

  take(what: string): string {
    const line = this.#lines[this.#next];
    if (line === undefined) throw invalid(`message ends before ${what}`);
    this.#next++;
    return line;
  }

  /** The rest of the next line after `prefix`, which it must start with. */
  field(prefix: string): string {
    const line = this.take(`"${prefix}"`);
    if (!line.startsWith(prefix)) throw invalid(`expected a "${prefix}" line`);
    return line.slice(prefix.length);
  }

  /** Like field(), but only if the next line starts with `prefix`. */
  optional(prefix: string): string | undefined {
    return this.peek()?.startsWith(prefix) === true ? this.field(prefix) : undefined;
  }

  empty(what: string): void {
    if (this.take(what) !== '') throw invalid(`expected an empty line ${what}`);
  }
}

function bounded(value: string, max: number, name: string): string {
  if (value.length > max) {
    throw invalid(`${name}: expected at most ${max} characters, got ${value.length}`);
  }
  return value;
}

function optionalTimestamp(value: string | undefined): string | undefined {
  if (value !== undefined) parseRfc3339(value);
  return value;
}

/**
 * Parses EIP-4361 text strictly: the fields in the EIP's order, one per line,
 * LF line ends, nothing before, between or after them, every field valid for
 * its ABNF rule, and the text byte-identical to formatSiweMessage() of the
 * result. Throws QkmsError DELEGATION_INVALID otherwise.
 */
export function parseSiweMessage(text: string): SiweMessage {
  if (typeof text !== 'string') throw invalid(`expected a string, got ${typeof text}`);
  // Length in UTF-16 units first (bounds the work), then ASCII only, so length == bytes.
  if (text.length > SIWE_LIMITS.messageBytes) {
    throw invalid(`message: expected at most ${SIWE_LIMITS.messageBytes} bytes, got more`);
  }
  if (!MESSAGE_CHARS.test(text)) {
    throw invalid('message has characters outside printable ASCII and LF');
  }

  const lines = new Lines(text);
  const header = lines.take('the header');
  if (!header.endsWith(HEADER_SUFFIX)) throw invalid('first line is not a SIWE header');
  const origin = header.slice(0, -HEADER_SUFFIX.length);
  const schemeEnd = origin.indexOf('://');
  const scheme = schemeEnd === -1 ? undefined : origin.slice(0, schemeEnd);
  const domain = schemeEnd === -1 ? origin : origin.slice(schemeEnd + 3);
  if (scheme !== undefined && !SCHEME.test(bounded(scheme, SIWE_LIMITS.schemeChars, 'scheme'))) {
    throw invalid('scheme is not an RFC 3986 scheme');
  }
  if (!isAuthority(bounded(domain, SIWE_LIMITS.domainChars, 'domain'))) {
    throw invalid('domain is not an RFC 3986 authority');
  }

  const address = lines.take('the address');
  if (!ADDRESS.test(address)) throw invalid('address is not 0x and 40 hex digits');
  if (Address.checksum(address) !== address) throw invalid('address is not EIP-55 checksummed');
  lines.empty('after the address');

  let statement: string | undefined;
  if (lines.peek() !== '') {
    statement = lines.take('the statement');
    if (!STATEMENT.test(statement)) {
      throw invalid('statement has characters EIP-4361 does not allow');
    }
    lines.empty('after the statement');
  } else {
    lines.empty('for the absent statement');
  }

  const uri = bounded(lines.field('URI: '), SIWE_LIMITS.uriChars, 'uri');
  if (!isUri(uri)) throw invalid('uri is not an RFC 3986 URI');
  const version = lines.field('Version: ');
  if (version !== '1') throw invalid('version is not 1');
  const chainIdText = bounded(lines.field('Chain ID: '), SIWE_LIMITS.chainIdDigits, 'chain id');
  const chainId = Number(chainIdText);
  if (!CHAIN_ID.test(chainIdText) || !Number.isSafeInteger(chainId)) {
    throw invalid('chain id is not a decimal safe integer');
  }
  const nonce = bounded(lines.field('Nonce: '), SIWE_LIMITS.nonceChars, 'nonce');
  if (!Siwe.nonceRegex.test(nonce)) throw invalid('nonce is not 8 or more alphanumerics');
  const issuedAt = lines.field('Issued At: ');
  parseRfc3339(issuedAt);
  const expirationTime = optionalTimestamp(lines.optional('Expiration Time: '));
  const notBefore = optionalTimestamp(lines.optional('Not Before: '));
  const requestId = lines.optional('Request ID: ');
  if (requestId !== undefined) {
    bounded(requestId, SIWE_LIMITS.requestIdChars, 'request id');
    if (!REQUEST_ID.test(requestId)) throw invalid('request id is not *pchar');
  }
  let resources: string[] | undefined;
  if (lines.peek() === 'Resources:') {
    lines.take('resources');
    resources = [];
    while (!lines.done) {
      const resource = lines.field('- ');
      if (!isUri(resource)) throw invalid('a resource is not an RFC 3986 URI');
      resources.push(resource);
      if (resources.length > SIWE_LIMITS.resources) {
        throw invalid(`resources: expected at most ${SIWE_LIMITS.resources}`);
      }
    }
  }
  if (!lines.done) throw invalid('unexpected line after the last field');

  const message: SiweMessage = {
    scheme,
    domain,
    address,
    statement,
    uri,
    version,
    chainId,
    nonce,
    issuedAt,
    expirationTime,
    notBefore,
    requestId,
    resources,
  };
  // The parser above is exact by construction; the round trip makes "exactly
  // one text per message" a checked property (it also refuses "Chain ID: 01").
  if (formatSiweMessage(message) !== text) throw invalid('message does not re-serialize to itself');
  return message;
}

/** secp256k1 group order, from @noble/curves through ox. */
const SECP256K1_N = Secp256k1.noble.Point.CURVE().n;
const SECP256K1_HALF_N = SECP256K1_N >> 1n;

/**
 * Recovers the EIP-55 address that signed `message` with EIP-191
 * personal_sign. The signature is r || s || v (65 bytes), v in {0, 1, 27, 28};
 * r and s must be in [1, n − 1] and s must be low (s <= n/2), so each
 * signature has one accepted encoding of (r, s). Throws QkmsError
 * DELEGATION_INVALID for anything else; never throws an untyped error.
 */
export function recoverPersonalSigner(message: string, signature: Uint8Array): string {
  if (!(signature instanceof Uint8Array) || signature.length !== WALLET_SIGNATURE_BYTES) {
    const got = signature instanceof Uint8Array ? `${signature.length} bytes` : typeof signature;
    throw invalid(`signature: expected ${WALLET_SIGNATURE_BYTES} bytes, got ${got}`);
  }
  const v = signature[64];
  const yParity = v === 0 || v === 27 ? 0 : v === 1 || v === 28 ? 1 : undefined;
  if (yParity === undefined) throw invalid('signature: v is not 0, 1, 27 or 28');
  const r = Bytes.toBigInt(signature.subarray(0, 32));
  const s = Bytes.toBigInt(signature.subarray(32, 64));
  if (r < 1n || r >= SECP256K1_N) throw invalid('signature: r out of range');
  if (s < 1n || s >= SECP256K1_N) throw invalid('signature: s out of range');
  if (s > SECP256K1_HALF_N) throw invalid('signature: high s (the malleable twin) is refused');
  try {
    const payload = PersonalMessage.getSignPayload(Hex.fromString(message));
    const recovered = Secp256k1.recoverAddress({
      payload,
      signature: {
        r: Hex.fromBytes(signature.subarray(0, 32)),
        s: Hex.fromBytes(signature.subarray(32, 64)),
        yParity,
      },
    });
    return Address.checksum(recovered);
  } catch (e) {
    throw invalid('signature: no public key recovers from it', e);
  }
}

/**
 * Asserts that `signature` is `address`'s EIP-191 personal_sign of `message`
 * (as recoverPersonalSigner, plus the comparison). Throws QkmsError DELEGATION_INVALID.
 */
export function assertPersonalSigner(
  message: string,
  signature: Uint8Array,
  address: string,
): void {
  const signer = recoverPersonalSigner(message, signature);
  if (typeof address !== 'string' || signer.toLowerCase() !== address.toLowerCase()) {
    throw invalid('signature: not made by the address the message names');
  }
}
