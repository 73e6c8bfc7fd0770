// Sign-In with Ethereum Capabilities, EIP-5573 "ReCaps"
// (https://eips.ethereum.org/EIPS/eip-5573), in qkms's profile: the ReCap
// details object is `{"att":{<resource>:{<ability>:[{}],…},…}}` where a
// resource is `urn:qkms:content:<64 lower-hex contentId>` or
// `urn:qkms:content:*` (all content), an ability is `qkms/publish` or
// `qkms/recover`, the only caveat array is `[{}]` (no restriction), there is no
// `prf`, keys are in the EIP's order (JavaScript's default sort) and the JSON
// has no whitespace. Every resource carries the same abilities. A ReCap URI is
// `urn:recap:` + unpadded base64url of that JSON.
//
// Decoding is strict: a ReCap is accepted only if it re-encodes to the same
// URI, so each capability set has exactly one accepted text.
import { base64urlnopad } from '@scure/base';
import { abytes } from '../assert.ts';
import { fromHex, toHex, utf8 } from '../bytes.ts';
import { ID_BYTES } from '../constants.ts';
import { ErrorCode, QkmsError } from '../errors.ts';

/** What a delegation may let a session do, in EIP-5573 sort order. */
export const ABILITIES = ['publish', 'recover'] as const;
export type Ability = (typeof ABILITIES)[number];

export interface Capabilities {
  /** Non-empty, no duplicates. A parsed delegation lists them sorted. */
  readonly actions: readonly Ability[];
  /** Every content id, or 1..MAX_CAPABILITY_CONTENT_IDS 32-byte ids (sorted when parsed). */
  readonly content: 'all' | readonly Uint8Array[];
}

/** The ability namespace of qkms's ReCap. */
export const RECAP_NAMESPACE = 'qkms';
export const RECAP_URI_PREFIX = 'urn:recap:';
export const CONTENT_RESOURCE_PREFIX = 'urn:qkms:content:';
export const ALL_CONTENT_RESOURCE = `${CONTENT_RESOURCE_PREFIX}*`;
/**
 * Content ids one delegation may list. Each id appears twice (statement and
 * ReCap), so about a dozen fit in MAX_DELEGATION_MESSAGE_BYTES; 8 stays under
 * it with both abilities and a long domain. A player that needs more asks for
 * `all` or holds several sessions.
 */
export const MAX_CAPABILITY_CONTENT_IDS = 8;
/** EIP-5573 `recap-preamble`. */
export const RECAP_PREAMBLE =
  'I further authorize the stated URI to perform the following actions on my behalf:';

/** A ReCap details object's `att`: resource URI → ability string → caveats. */
export type RecapAttenuations = Readonly<
  Record<string, Readonly<Record<string, readonly unknown[]>>>
>;

/**
 * EIP-5573 "ReCap Translation Algorithm", without the leading statement and
 * its separating space: the preamble, then for each resource (in the object's
 * order, which the EIP requires sorted) and each ability namespace in it,
 * ` (N) '<namespace>': '<ability>', '<ability>' for '<resource>'.`. Separators
 * follow the EIP's worked examples (", " between abilities, " for ").
 */
export function recapTranslation(att: RecapAttenuations): string {
  let out = RECAP_PREAMBLE;
  let numbering = 1;
  for (const [resource, abilities] of Object.entries(att)) {
    const groups = new Map<string, string[]>();
    for (const ability of Object.keys(abilities)) {
      const slash = ability.indexOf('/');
      const namespace = ability.slice(0, slash);
      const names = groups.get(namespace) ?? [];
      names.push(ability.slice(slash + 1));
      groups.set(namespace, names);
    }
    for (const [namespace, names] of groups) {
      const list = names.map((n) => `'${n}'`).join(', ');
      out += ` (${numbering}) '${namespace}': ${list} for '${resource}'.`;
      numbering++;
    }
  }
  return out;
}

interface Normalized {
  readonly actions: readonly Ability[];
  /** Sorted resource URIs: [ALL_CONTENT_RESOURCE] or content resources. */
  readonly resources: readonly string[];
}

function argument(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, `capabilities: ${message}`);
}

function normalize(caps: unknown): Normalized {
  if (!isPlainObject(caps)) throw argument('expected a plain object');
  for (const key of Object.keys(caps)) {
    if (key !== 'actions' && key !== 'content') throw argument('unknown key');
  }
  const actions: unknown = caps['actions'];
  const content: unknown = caps['content'];
  if (!isArray(actions) || actions.length === 0) {
    throw argument('actions: expected a non-empty array');
  }
  for (const a of actions) {
    if (!(ABILITIES as readonly unknown[]).includes(a)) {
      throw argument(`actions: expected ${ABILITIES.join(' or ')}`);
    }
  }
  const sortedActions = ABILITIES.filter((a) => actions.includes(a));
  if (sortedActions.length !== actions.length) throw argument('actions: duplicate ability');

  let resources: string[];
  if (content === 'all') {
    resources = [ALL_CONTENT_RESOURCE];
  } else {
    if (!isArray(content)) throw argument("content: expected 'all' or an array of ids");
    if (content.length === 0 || content.length > MAX_CAPABILITY_CONTENT_IDS) {
      throw argument(
        `content: expected 1..${MAX_CAPABILITY_CONTENT_IDS} ids, got ${content.length}`,
      );
    }
    resources = content.map(
      (id, i) => CONTENT_RESOURCE_PREFIX + toHex(abytes(id, `content[${i}]`, ID_BYTES)),
    );
    resources.sort();
    for (let i = 1; i < resources.length; i++) {
      if (resources[i] === resources[i - 1]) throw argument('content: duplicate id');
    }
  }
  return { actions: sortedActions, resources };
}

function attenuations(n: Normalized): Record<string, Record<string, [Record<string, never>]>> {
  const att: Record<string, Record<string, [Record<string, never>]>> = {};
  for (const resource of n.resources) {
    const abilities: Record<string, [Record<string, never>]> = {};
    for (const action of n.actions) abilities[`${RECAP_NAMESPACE}/${action}`] = [{}];
    att[resource] = abilities;
  }
  return att;
}

function uriOf(n: Normalized): string {
  const json = JSON.stringify({ att: attenuations(n) });
  return RECAP_URI_PREFIX + base64urlnopad.encode(utf8(json));
}

/** The ReCap URI (`urn:recap:…`) for these capabilities. Throws INVALID_ARGUMENT / INVALID_LENGTH on bad input. */
export function encodeRecap(caps: Capabilities): string {
  return uriOf(normalize(caps));
}

/** EIP-5573's transformed statement for these capabilities (what the wallet shows). */
export function capabilitiesStatement(caps: Capabilities): string {
  return recapTranslation(attenuations(normalize(caps)));
}

function denied(message: string, cause?: unknown): QkmsError {
  return new QkmsError(
    ErrorCode.DELEGATION_INVALID,
    `recap: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

function isArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/** The only caveat array qkms accepts: one empty object (no restriction). */
function isUnrestricted(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.length === 1 &&
    isPlainObject(value[0]) &&
    Object.keys(value[0]).length === 0
  );
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const CONTENT_RESOURCE = /^urn:qkms:content:(?:\*|[0-9a-f]{64})$/;
const ABILITY_KEYS: readonly string[] = ABILITIES.map((a) => `${RECAP_NAMESPACE}/${a}`);
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a qkms ReCap URI into capabilities (actions sorted, ids sorted).
 * Throws QkmsError DELEGATION_INVALID for anything but the exact text
 * encodeRecap() produces for some capability set.
 */
export function decodeRecap(uri: string): Capabilities {
  if (typeof uri !== 'string' || !uri.startsWith(RECAP_URI_PREFIX)) {
    throw denied('not a urn:recap: URI');
  }
  const encoded = uri.slice(RECAP_URI_PREFIX.length);
  if (!BASE64URL.test(encoded)) throw denied('payload is not unpadded base64url');
  let details: unknown;
  try {
    details = JSON.parse(utf8Strict.decode(base64urlnopad.decode(encoded)));
  } catch (e) {
    throw denied('payload is not base64url of UTF-8 JSON', e);
  }
  if (!isPlainObject(details) || Object.keys(details).join() !== 'att') {
    throw denied('details object must hold exactly "att"');
  }
  const att = details['att'];
  if (!isPlainObject(att)) throw denied('att is not an object');
  const resources = Object.keys(att);
  if (resources.length === 0 || resources.length > MAX_CAPABILITY_CONTENT_IDS) {
    throw denied(`att: expected 1..${MAX_CAPABILITY_CONTENT_IDS} resources`);
  }
  let abilityKeys: string | undefined;
  const content: Uint8Array[] = [];
  let all = false;
  for (const resource of resources) {
    if (!CONTENT_RESOURCE.test(resource)) throw denied('att: a resource is not urn:qkms:content');
    const abilities = att[resource];
    if (!isPlainObject(abilities)) throw denied('att: abilities are not an object');
    const keys = Object.keys(abilities);
    if (keys.length === 0) throw denied('att: a resource has no ability');
    for (const key of keys) {
      if (!ABILITY_KEYS.includes(key)) throw denied('att: unknown ability');
      if (!isUnrestricted(abilities[key])) throw denied('att: caveats other than [{}]');
    }
    const joined = keys.join();
    if (abilityKeys !== undefined && joined !== abilityKeys) {
      throw denied('att: resources carry different abilities');
    }
    abilityKeys = joined;
    if (resource === ALL_CONTENT_RESOURCE) all = true;
    else content.push(fromHex(resource.slice(CONTENT_RESOURCE_PREFIX.length)));
  }
  if (all && resources.length > 1) throw denied('att: "*" together with content ids');
  const actions = ABILITIES.filter((a) =>
    abilityKeys?.split(',').includes(`${RECAP_NAMESPACE}/${a}`),
  );
  content.sort(compareBytes);
  const caps: Capabilities = Object.freeze({
    actions: Object.freeze(actions),
    content: all ? 'all' : Object.freeze(content),
  });
  // Order of keys, whitespace, duplicate keys, escapes and base64 variants all
  // show up here: only the canonical encoding is accepted.
  if (encodeRecap(caps) !== uri) {
    throw denied('not in canonical form (key order, whitespace or encoding)');
  }
  return caps;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Whether `caps` grant `action` on `contentId` (ids are public: plain comparison). */
export function capabilitiesCover(
  caps: Capabilities,
  action: Ability,
  contentId: Uint8Array,
): boolean {
  if (!caps.actions.includes(action)) return false;
  if (caps.content === 'all') return true;
  return caps.content.some(
    (id) => id.length === contentId.length && id.every((b, i) => b === contentId[i]),
  );
}
