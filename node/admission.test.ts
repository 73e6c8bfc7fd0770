// Admission control refuses before any work: BUSY past the in-flight bound,
// RATE_LIMITED past a source block's, a peer's or a wallet's token bucket,
// with a bounded number of buckets (least recently used forgotten first).
import type { Gauge } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Admission, InflightLimiter, TokenBuckets } from './admission.ts';
import type { RequestContext } from './network/index.ts';

describe('InflightLimiter', () => {
  it('admits up to max at once, refuses the next at once, and frees a slot on release (once)', () => {
    const limiter = new InflightLimiter(2);
    const a = limiter.tryAcquire();
    const b = limiter.tryAcquire();
    expect(a).toBeTypeOf('function');
    expect(b).toBeTypeOf('function');
    expect(limiter.tryAcquire()).toBeUndefined();
    a?.();
    a?.();
    expect(limiter.inflight).toBe(1);
    expect(limiter.tryAcquire()).toBeTypeOf('function');
    expect(limiter.tryAcquire()).toBeUndefined();
  });
});

describe('TokenBuckets', () => {
  it('allows a burst, then the rate, per key independently', () => {
    let now = 0;
    const buckets = new TokenBuckets(
      { ratePerSecond: 2, burst: 3 },
      { maxKeys: 10, clock: () => now },
    );
    expect([1, 2, 3, 4].map(() => buckets.take('a'))).toEqual([true, true, true, false]);
    expect(buckets.take('b')).toBe(true);
    now += 500; // one token back for 'a'
    expect(buckets.take('a')).toBe(true);
    expect(buckets.take('a')).toBe(false);
    now += 10_000; // refills to the burst, not beyond
    expect([1, 2, 3, 4].map(() => buckets.take('a'))).toEqual([true, true, true, false]);
  });

  it('a wall clock stepped back neither drains nor refills a bucket (issue 13, item 5)', () => {
    let now = 600_000;
    const buckets = new TokenBuckets(
      { ratePerSecond: 2, burst: 3 },
      { maxKeys: 10, clock: () => now },
    );
    expect(buckets.take('a')).toBe(true);
    now = 0; // ten minutes back
    expect([1, 2, 3].map(() => buckets.take('a'))).toEqual([true, true, false]);
    now += 500;
    expect(buckets.take('a')).toBe(true);
  });

  it('keeps at most maxKeys buckets, dropping the least recently used', () => {
    const buckets = new TokenBuckets(
      { ratePerSecond: 1, burst: 1 },
      { maxKeys: 2, clock: () => 0 },
    );
    buckets.take('a');
    buckets.take('b');
    buckets.take('c');
    expect(buckets.size).toBe(2);
    expect(buckets.take('a')).toBe(true); // 'a' was forgotten: a fresh bucket
    expect(buckets.take('c')).toBe(false); // 'c' is remembered and empty
  });
});

describe('Admission', () => {
  const rate = (perSecond: number, burst: number): { perSecond: number; burst: number } => ({
    perSecond,
    burst,
  });
  const NODE_PEER = 'node-peer';

  function admission(options: Partial<ConstructorParameters<typeof Admission>[0]> = {}): {
    admission: Admission;
    inflight: () => number;
  } {
    let gauge = 0;
    const a = new Admission(
      {
        maxInflight: 8,
        perPeerRate: rate(1, 100),
        perIpRate: rate(1, 100),
        perWalletRate: rate(1, 100),
        ...options,
      },
      {
        metrics: {
          inflight: {
            inc: () => {
              gauge++;
            },
            dec: () => {
              gauge--;
            },
          } as unknown as Gauge,
        },
        clock: () => 0,
        nodeSetPeers: new Set([NODE_PEER]),
      },
    );
    return { admission: a, inflight: () => gauge };
  }

  const ctx = (remotePeer: string, remoteBlock = '203.0.113.0'): RequestContext => ({
    remotePeer,
    remoteBlock,
    signal: new AbortController().signal,
  });
  const echo = (r: Uint8Array): Promise<Uint8Array> => Promise.resolve(r);
  const code = (c: string): unknown => expect.objectContaining({ code: c });

  it('refuses a source address block past its rate, whatever PeerIds it uses, and exempts node-set peers', async () => {
    const { admission: a } = admission({ perIpRate: rate(1, 2) });
    const h = a.admit(echo);
    await h(Uint8Array.of(1), ctx('peer-a'));
    await h(Uint8Array.of(2), ctx('peer-b'));
    await expect(h(Uint8Array.of(3), ctx('peer-c'))).rejects.toThrow(code('RATE_LIMITED'));
    // Another block has its own bucket; a node-set peer behind the spent block is not refused.
    await expect(h(Uint8Array.of(4), ctx('peer-d', '198.51.100.0'))).resolves.toEqual(
      Uint8Array.of(4),
    );
    await expect(h(Uint8Array.of(5), ctx(NODE_PEER))).resolves.toEqual(Uint8Array.of(5));
  });

  it('refuses a peer past its own rate, node-set peers included', async () => {
    const { admission: a } = admission({ perPeerRate: rate(1, 1) });
    const h = a.admit(echo);
    await h(Uint8Array.of(1), ctx(NODE_PEER));
    await expect(h(Uint8Array.of(2), ctx(NODE_PEER))).rejects.toThrow(code('RATE_LIMITED'));
  });

  it('answers BUSY past maxInflight before any work, and frees the slot when a handler fails', async () => {
    const { admission: a, inflight } = admission({ maxInflight: 1 });
    const gate = Promise.withResolvers<undefined>();
    let calls = 0;
    const held = a.admit(async (r) => {
      calls++;
      await gate.promise;
      return r;
    });
    const first = held(Uint8Array.of(1), ctx('peer-a'));
    expect(inflight()).toBe(1);
    await expect(held(Uint8Array.of(2), ctx('peer-b'))).rejects.toThrow(code('BUSY'));
    expect(calls).toBe(1);
    gate.resolve(undefined);
    await first;
    expect(inflight()).toBe(0);
    const failing = a.admit(() => Promise.reject(new Error('boom')));
    await expect(failing(Uint8Array.of(3), ctx('peer-c'))).rejects.toThrow('boom');
    expect(inflight()).toBe(0);
    await expect(held(Uint8Array.of(4), ctx('peer-d'))).resolves.toEqual(Uint8Array.of(4));
  });

  it('keeps a rate per wallet', () => {
    const { admission: a } = admission({ perWalletRate: rate(1, 2) });
    const wallet = new Uint8Array(20).fill(7);
    expect([1, 2, 3].map(() => a.takeWallet(wallet))).toEqual([true, true, false]);
    expect(a.takeWallet(new Uint8Array(20))).toBe(true);
  });
});
