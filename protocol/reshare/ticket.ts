// The reshare ticket (decision 0016, docs/protocol.md §7d): one admin of the
// old node set authorises a handover to a named successor until a deadline.
//   body   = { v: 1, from: nodeSetId, to: nodeSetId, notAfter: ms }
//   signed = hybrid signature over RESHARE_TICKET tag || canonical CBOR of body
//   ticket = { body, admin, sig }          admin: position in from.admins.keys
// The successor itself carries k of m old admins' signatures (the node-set
// chain); the ticket only says that an admin wants the handover run now, so
// that a stranger holding the public successor document cannot make nodes deal.
import { concatBytes } from '../bytes.ts';
import { encodeCanonical, type CborValue } from '../codec/cbor.ts';
import { readBytes, readLiteral, readMap, readUint } from '../codec/read.ts';
import { ID_BYTES } from '../constants.ts';
import { DomainTag, tagBytes } from '../domain-tags.ts';
import { ErrorCode, QkmsError } from '../errors.ts';
import type { NodeSetAdmins } from '../node-set/types.ts';
import {
  ED25519_LENGTHS,
  MLDSA65_LENGTHS,
  type CryptoSuite,
  type SigningKey,
} from '../suite/types.ts';

/** A hybrid signature: Ed25519's then ML-DSA-65's. */
const HYBRID_SIGNATURE_BYTES = ED25519_LENGTHS.signature + MLDSA65_LENGTHS.signature;

export const RESHARE_TICKET_VERSION = 1;
/** A ticket may name a deadline at most this far ahead: a lost ticket authorises one handover, not a year of them. */
export const MAX_TICKET_LIFETIME_MS = 7 * 24 * 3_600_000;

export interface ReshareTicketBody {
  readonly from: Uint8Array;
  readonly to: Uint8Array;
  /** ms since the epoch; a node refuses the ticket after it. */
  readonly notAfter: number;
}

export interface ReshareTicket {
  readonly body: ReshareTicketBody;
  /** Position of the signing admin in the old set's admins.keys. */
  readonly admin: number;
  readonly signature: Uint8Array;
}

function bodyToCbor(body: ReshareTicketBody): CborValue {
  return { v: RESHARE_TICKET_VERSION, from: body.from, to: body.to, notAfter: body.notAfter };
}

function signingBytes(body: ReshareTicketBody): Uint8Array {
  return concatBytes(tagBytes(DomainTag.RESHARE_TICKET), encodeCanonical(bodyToCbor(body)));
}

export function ticketToCbor(ticket: ReshareTicket): CborValue {
  return { body: bodyToCbor(ticket.body), admin: ticket.admin, sig: ticket.signature };
}

export function ticketFromCbor(value: unknown, field = 'ticket'): ReshareTicket {
  const m = readMap(value, field, ['body', 'admin', 'sig']);
  const b = readMap(m['body'], `${field}.body`, ['v', 'from', 'to', 'notAfter']);
  readLiteral(b['v'], `${field}.body.v`, [RESHARE_TICKET_VERSION]);
  return {
    body: {
      from: readBytes(b['from'], `${field}.body.from`, ID_BYTES),
      to: readBytes(b['to'], `${field}.body.to`, ID_BYTES),
      notAfter: readUint(b['notAfter'], `${field}.body.notAfter`, 0, Number.MAX_SAFE_INTEGER),
    },
    admin: readUint(m['admin'], `${field}.admin`, 0, 255),
    signature: readBytes(m['sig'], `${field}.sig`, HYBRID_SIGNATURE_BYTES),
  };
}

export function signTicket(
  admin: { readonly position: number; readonly key: SigningKey },
  body: ReshareTicketBody,
): ReshareTicket {
  return { body, admin: admin.position, signature: admin.key.sign(signingBytes(body)) };
}

function denied(message: string): QkmsError {
  return new QkmsError(ErrorCode.RESHARE_DENIED, `reshare ticket: ${message}`);
}

/**
 * Checks `ticket` for the handover from → to at `now`: it names both ids, has
 * not expired, does not reach past MAX_TICKET_LIFETIME_MS, and one of `admins`
 * (the old set's) signed it. Throws RESHARE_DENIED.
 */
export function verifyTicket(
  suite: CryptoSuite,
  ticket: ReshareTicket,
  handover: { readonly from: Uint8Array; readonly to: Uint8Array; readonly admins: NodeSetAdmins },
  now: number,
): void {
  const { body } = ticket;
  if (!suite.equalBytes(body.from, handover.from) || !suite.equalBytes(body.to, handover.to))
    throw denied('it names another handover');
  if (now > body.notAfter) throw denied('it has expired');
  if (body.notAfter - now > MAX_TICKET_LIFETIME_MS) throw denied('its deadline is too far ahead');
  const key = handover.admins.keys[ticket.admin];
  if (key === undefined) throw denied('it names no admin of the old set');
  if (!suite.hybrid.verify(ticket.signature, signingBytes(body), key))
    throw denied('its signature does not verify');
}
