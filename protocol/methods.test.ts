// The method table (methods.ts) is the contract docs/protocol.md §1 states:
// the ids, audiences and caps are the published ones; every request and
// answer type it names is a wire message type, every request may be answered
// `reject`; the channel carries exactly the methods of §1b, under the
// largest of their caps; and a protocol id maps back to its method.
import { describe, expect, it } from 'vitest';
import {
  CHANNEL_KINDS,
  CHANNEL_PROTOCOL,
  MAX_CHANNEL_FRAME_BYTES,
  type MessageType,
} from './internal.ts';
import {
  METHODS,
  METHOD_NAMES,
  methodOfProtocol,
  requestTypesOf,
  type Method,
  type MethodSpec,
} from './methods.ts';

const KIB = 1024;

type Exchanges<M extends Method> = (typeof METHODS)[M]['exchanges'];
/** The request and answer types method M names. */
type NamedBy<M extends Method> = {
  [R in keyof Exchanges<M>]: R | (Exchanges<M>[R] extends readonly (infer A)[] ? A : never);
}[keyof Exchanges<M>];

/**
 * Every message type the table names, as the compiler sees them: the
 * assignment to MessageType[] fails to compile for a type the registry lacks.
 */
const NAMED: readonly MessageType[] = METHOD_NAMES.flatMap((m) =>
  Object.entries<readonly string[]>(METHODS[m].exchanges).flatMap(([r, a]) => [r, ...a]),
) as { [M in Method]: NamedBy<M> }[Method][];

describe('the method table', () => {
  it('lists every method once, under the protocol id docs/protocol.md §1 publishes', () => {
    const ids = Object.fromEntries(METHOD_NAMES.map((m) => [m, METHODS[m].protocol]));
    expect(ids).toEqual({
      recover: '/qkms/recover/1',
      publish: '/qkms/publish/1',
      info: '/qkms/info/1',
      revoke: '/qkms/revoke/1',
      revsync: '/qkms/revsync/1',
      reshare: '/qkms/reshare/1',
      channel: '/qkms/channel/1',
    });
    expect(Object.keys(METHODS).sort()).toEqual([...METHOD_NAMES].sort());
    expect(new Set(Object.values(ids)).size).toBe(METHOD_NAMES.length);
  });

  it('keeps the frame caps of docs/protocol.md §1, answers under the same cap as requests but recover', () => {
    const caps = Object.fromEntries(METHOD_NAMES.map((m) => [m, METHODS[m].maxRequestBytes]));
    expect(caps).toEqual({
      recover: 16 * KIB,
      publish: 64 * KIB,
      info: 4 * KIB,
      revoke: 64 * KIB,
      revsync: 1024 * KIB,
      reshare: 16 * 1024 * KIB,
      channel: 64 * KIB,
    });
    // A share of redistributed content carries its sharing record (decision 0017).
    const replies: Record<string, number | undefined> = { ...caps, recover: 64 * KIB };
    for (const m of METHOD_NAMES) expect(METHODS[m].maxReplyBytes, m).toBe(replies[m]);
  });

  it('opens only revsync to node-set members alone', () => {
    const nodeOnly = METHOD_NAMES.filter((m) => METHODS[m].audience === 'node-set');
    expect(nodeOnly).toEqual(['revsync']);
  });

  it('gives every method positive limits and a deadline, and lets every request be answered reject', () => {
    for (const m of METHOD_NAMES) {
      const spec: MethodSpec = METHODS[m];
      expect(spec.maxRequestBytes, m).toBeGreaterThan(0);
      expect(spec.answerDeadlineMs, m).toBeGreaterThan(0);
      for (const limit of [spec.streams.inbound, spec.streams.outbound])
        expect(limit === 'option' || (Number.isSafeInteger(limit) && limit > 0), m).toBe(true);
      for (const [request, answers] of Object.entries(spec.exchanges)) {
        expect(answers, `${m} ${request}`).toContain('reject');
        expect(answers, `${m} ${request}`).not.toContain(request);
      }
    }
  });

  it('names each request type under one method only, so a node decodes a request by its method', () => {
    const requests = METHOD_NAMES.flatMap((m) => requestTypesOf(m));
    expect(new Set(requests).size).toBe(requests.length);
    expect(NAMED).toEqual(expect.arrayContaining([...requests, 'share', 'receipt', 'reject']));
  });

  it('maps each protocol id back to its method, and nothing else to any', () => {
    for (const m of METHOD_NAMES) expect(methodOfProtocol(METHODS[m].protocol)).toBe(m);
    for (const other of ['/qkms/test/1', '/qkms/recover/2', 'recover', ''])
      expect(methodOfProtocol(other), other).toBeUndefined();
  });
});

describe('the channel, from the table', () => {
  it('carries recover, publish, info and revoke with the wire codes 1 to 4 of §1b', () => {
    expect(CHANNEL_KINDS).toEqual(['recover', 'publish', 'info', 'revoke']);
    expect(CHANNEL_PROTOCOL).toBe(METHODS.channel.protocol);
  });

  it('caps its messages at the largest cap of the methods it carries, plus its 5-byte header', () => {
    const largest = Math.max(...CHANNEL_KINDS.map((k) => METHODS[k].maxRequestBytes));
    expect(METHODS.channel.maxRequestBytes).toBe(largest);
    expect(MAX_CHANNEL_FRAME_BYTES).toBe(largest + 5);
  });
});
