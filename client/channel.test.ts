// Long file: one in-memory node plays every ordering, cap and abort case of the channel; split, each half would rebuild it.
// Channel over an in-memory stream pair whose far end plays the node: it
// splits the request frames, and answers by id whenever and in whatever order
// a test says. Each request gets its own answer whatever the order; an answer
// over the caller's cap is TOO_LARGE; an aborted request rejects with its
// signal's reason and its late answer is dropped without harming the next; a
// reset fails every pending request and the channel, and a failed channel
// refuses new requests at once; every request frame carries its kind code, a
// fresh id and the message bytes. A lying node is bounded: an answer over its
// request's cap fails that request as soon as its id is read, before its
// message arrives; an answer to an id nobody waits for is skipped; an answer
// trickled past the read deadline fails the channel with TIMEOUT (a transport
// fault), while an idle channel has no deadline at all.
import type { Connection, Stream } from '@libp2p/interface';
import { streamPair, type StreamPairOptions } from '@libp2p/utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  FrameSplitter,
  MAX_CHANNEL_FRAME_BYTES,
  QkmsError,
  decodeChannelRequest,
  encodeChannelAnswer,
  encodeFrame,
  type ChannelKind,
} from '../protocol/internal.ts';
import { ANSWER_READ_DEADLINE_MS, Channel, type ChannelOptions } from './channel.ts';

/** Bounds a broken run only: every test settles long before it. */
const LONG_MS = 5_000;
const CAP = 1024;
let open: Stream[] = [];

afterEach(() => {
  for (const s of open) s.abort(new Error('test done'));
  open = [];
});

interface Received {
  readonly kind: ChannelKind;
  readonly id: number;
  readonly message: Uint8Array;
}

/** The far end of the channel, acting as a node. */
interface FarEnd {
  readonly stream: Stream;
  /** Request frames received so far, decoded. */
  readonly requests: Received[];
  /** Resolves once `n` requests have arrived. */
  arrived(n: number): Promise<readonly Received[]>;
  answer(id: number, message: Uint8Array): void;
}

function farEnd(stream: Stream): FarEnd {
  const requests: Received[] = [];
  const splitter = new FrameSplitter(MAX_CHANNEL_FRAME_BYTES);
  const waiting: { n: number; resolve: (r: readonly Received[]) => void }[] = [];
  stream.addEventListener('message', (evt) => {
    for (const body of splitter.push(evt.data.subarray()))
      requests.push(decodeChannelRequest(body));
    for (const w of waiting.filter((x) => requests.length >= x.n)) w.resolve(requests);
  });
  return {
    stream,
    requests,
    arrived: (n) =>
      requests.length >= n
        ? Promise.resolve(requests)
        : new Promise((resolve) => waiting.push({ n, resolve })),
    answer: (id, message) => {
      stream.send(encodeFrame(encodeChannelAnswer(id, message)));
    },
  };
}

/** A channel opened on a fake connection whose one new stream is the near end of a pair. */
async function channelPair(
  options: StreamPairOptions = {},
  channelOptions: ChannelOptions = {},
): Promise<{ channel: Channel; node: FarEnd; local: Stream; opened: string[] }> {
  const [local, remote] = await streamPair(options);
  open.push(local, remote);
  const opened: string[] = [];
  const fake = {
    newStream: (protocol: string) => {
      opened.push(protocol);
      return Promise.resolve(local);
    },
  } as unknown as Connection;
  const channel = await Channel.open(fake, AbortSignal.timeout(LONG_MS), channelOptions);
  return { channel, node: farEnd(remote), local, opened };
}

function ask(
  channel: Channel,
  message: Uint8Array,
  options: { kind?: ChannelKind; cap?: number; signal?: AbortSignal } = {},
): Promise<Uint8Array> {
  return channel.request(options.kind ?? 'recover', message, {
    signal: options.signal ?? AbortSignal.timeout(LONG_MS),
    maxReplyBytes: options.cap ?? CAP,
  });
}

/** How a promise settled, without letting a rejection go unobserved. */
type Settled = { ok: true; value: Uint8Array } | { ok: false; error: unknown };
function settle(p: Promise<Uint8Array>): Promise<Settled> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Lets queued stream events (the pair delivers on later ticks) run. */
async function ticks(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

describe('Channel', () => {
  it('opens the channel protocol on the connection', async () => {
    const { opened, channel } = await channelPair();
    expect(opened).toEqual(['/qkms/channel/1']);
    expect(channel.usable).toBe(true);
  });

  it('sends each request as one frame with its kind code, a fresh id and the message bytes', async () => {
    const { channel, node } = await channelPair();
    const kinds: ChannelKind[] = ['recover', 'publish', 'info', 'revoke', 'info'];
    const pending = kinds.map((kind, i) =>
      settle(ask(channel, Uint8Array.of(i, 0xab, i), { kind })),
    );
    const got = await node.arrived(kinds.length);
    expect(got.map((r) => r.kind)).toEqual(kinds);
    expect(got.map((r) => [...r.message])).toEqual(kinds.map((_, i) => [i, 0xab, i]));
    expect(new Set(got.map((r) => r.id)).size).toBe(kinds.length);
    for (const r of got) node.answer(r.id, Uint8Array.of(r.message[0] ?? 0));
    expect((await Promise.all(pending)).map((s) => (s.ok ? [...s.value] : s.error))).toEqual(
      kinds.map((_, i) => [i]),
    );
  });

  it('puts the spec’s kind byte on the wire (1 recover, 2 publish, 3 info, 4 revoke)', async () => {
    const [local, remote] = await streamPair();
    open.push(local, remote);
    const bytes: number[] = [];
    remote.addEventListener('message', (evt) => {
      bytes.push(...evt.data.subarray());
    });
    const fake = { newStream: () => Promise.resolve(local) } as unknown as Connection;
    const channel = await Channel.open(fake, AbortSignal.timeout(LONG_MS));
    const controller = new AbortController();
    const pending = (['recover', 'publish', 'info', 'revoke'] as const).map((kind) =>
      settle(ask(channel, Uint8Array.of(0xcc), { kind, signal: controller.signal })),
    );
    const until = Date.now() + LONG_MS;
    while (bytes.length < 4 * 7 && Date.now() < until) await ticks(1);
    // Each frame: prefix 6, kind, 4 id bytes, the message byte.
    const kindBytes = [0, 1, 2, 3].map((i) => bytes[i * 7 + 1]);
    expect(kindBytes).toEqual([1, 2, 3, 4]);
    expect([0, 1, 2, 3].map((i) => bytes[i * 7])).toEqual([6, 6, 6, 6]);
    controller.abort(new Error('done'));
    await Promise.all(pending);
  });

  it('pairs answers with requests by id: two concurrent requests answered in reverse order', async () => {
    const { channel, node } = await channelPair();
    const first = ask(channel, Uint8Array.of(1));
    const second = ask(channel, Uint8Array.of(2));
    const [a, b] = await node.arrived(2);
    if (a === undefined || b === undefined) throw new Error('unreachable');
    expect(a.id).not.toBe(b.id);
    node.answer(b.id, Uint8Array.of(0xb2));
    expect(await second).toEqual(Uint8Array.of(0xb2));
    node.answer(a.id, Uint8Array.of(0xa1));
    expect(await first).toEqual(Uint8Array.of(0xa1));
    expect(channel.usable).toBe(true);
  });

  it('rejects an answer over the caller’s maxReplyBytes with TOO_LARGE, and the channel goes on', async () => {
    const { channel, node } = await channelPair();
    const big = settle(ask(channel, Uint8Array.of(1), { cap: 10 }));
    const [r] = await node.arrived(1);
    node.answer(r?.id ?? -1, new Uint8Array(11));
    const result = await big;
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toEqual(
      expect.objectContaining({ code: ErrorCode.TOO_LARGE }),
    );
    // Exactly the cap is fine, on the same channel.
    const fits = ask(channel, Uint8Array.of(2), { cap: 10 });
    const [, r2] = await node.arrived(2);
    node.answer(r2?.id ?? -1, new Uint8Array(10));
    expect(await fits).toHaveLength(10);
    expect(channel.usable).toBe(true);
  });

  it('rejects an aborted request with its signal’s reason, drops its late answer, and serves the next', async () => {
    const { channel, node } = await channelPair();
    const controller = new AbortController();
    const reason = new Error('hedged elsewhere');
    const given = settle(ask(channel, Uint8Array.of(1), { signal: controller.signal }));
    const [r1] = await node.arrived(1);
    controller.abort(reason);
    const result = await given;
    expect(result).toEqual({ ok: false, error: reason });
    const next = ask(channel, Uint8Array.of(2));
    const [, r2] = await node.arrived(2);
    if (r1 === undefined || r2 === undefined) throw new Error('unreachable');
    expect(r2.id).not.toBe(r1.id);
    node.answer(r1.id, Uint8Array.of(0xdd)); // the late answer
    node.answer(r2.id, Uint8Array.of(0x22));
    expect(await next).toEqual(Uint8Array.of(0x22));
    expect(channel.usable).toBe(true);
  });

  it('rejects with the reason of a signal aborted before the call, sending nothing', async () => {
    const { channel, node } = await channelPair();
    const reason = new Error('already over');
    await expect(
      ask(channel, Uint8Array.of(1), { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    await ticks();
    expect(node.requests).toHaveLength(0);
  });

  it('fails every pending request when the node resets the stream, and is no longer usable', async () => {
    const { channel, node } = await channelPair();
    const pending = [1, 2, 3].map((i) => settle(ask(channel, Uint8Array.of(i))));
    await node.arrived(3);
    node.stream.abort(new Error('node went away'));
    const results = await Promise.all(pending);
    expect(results.map((r) => r.ok)).toEqual([false, false, false]);
    expect(channel.usable).toBe(false);
  });

  it('fails pending requests when the node closes its end, and is no longer usable', async () => {
    const { channel, node } = await channelPair();
    const pending = settle(ask(channel, Uint8Array.of(1)));
    await node.arrived(1);
    await node.stream.close();
    expect((await pending).ok).toBe(false);
    expect(channel.usable).toBe(false);
  });

  it('rejects a request on a failed channel at once, without sending it', async () => {
    const { channel, node } = await channelPair();
    const pending = settle(ask(channel, Uint8Array.of(1)));
    await node.arrived(1);
    node.stream.abort(new Error('node went away'));
    const first = await pending;
    expect(first.ok).toBe(false);
    // A signal that never fires: the rejection cannot come from a deadline.
    const never = new AbortController().signal;
    const again = await settle(ask(channel, Uint8Array.of(2), { signal: never }));
    expect(again.ok).toBe(false);
    // The channel's failure, again: not a new error from trying the stream.
    expect(!again.ok && again.error).toBe(!first.ok && first.error);
    expect(node.requests).toHaveLength(1);
  });

  it('fails the channel and every pending request on an answer frame too short for its id', async () => {
    const { channel, node, local } = await channelPair();
    const pending = [1, 2].map((i) => settle(ask(channel, Uint8Array.of(i))));
    await node.arrived(2);
    node.stream.send(encodeFrame(Uint8Array.of(0, 0, 1)));
    const results = await Promise.all(pending);
    for (const r of results)
      expect(!r.ok && r.error).toEqual(expect.objectContaining({ code: ErrorCode.MALFORMED }));
    expect(channel.usable).toBe(false);
    expect(local.status).not.toBe('open');
  });

  it('fails the channel on an answer frame over the channel cap, from its prefix alone', async () => {
    const { channel, node } = await channelPair();
    const pending = settle(ask(channel, Uint8Array.of(1)));
    await node.arrived(1);
    const prefix = encodeFrame(new Uint8Array(MAX_CHANNEL_FRAME_BYTES + 1)).subarray(0, 3);
    node.stream.send(prefix);
    const result = await pending;
    expect(!result.ok && result.error).toEqual(
      expect.objectContaining({ code: ErrorCode.TOO_LARGE }),
    );
    expect(channel.usable).toBe(false);
  });

  it('close() fails pending requests and resets the stream', async () => {
    const { channel, node, local } = await channelPair();
    const pending = settle(ask(channel, Uint8Array.of(1)));
    await node.arrived(1);
    channel.close();
    expect((await pending).ok).toBe(false);
    expect(channel.usable).toBe(false);
    expect(local.status).not.toBe('open');
    await expect(ask(channel, Uint8Array.of(2))).rejects.toThrow();
  });

  it('numbers the requests of a channel 0, 1, 2, … in the order they are sent', async () => {
    const { channel, node } = await channelPair();
    const pending = [0, 1, 2].map((i) => ask(channel, Uint8Array.of(i)));
    const got = await node.arrived(3);
    expect(got.map((r) => r.id)).toEqual([0, 1, 2]);
    for (const r of got) node.answer(r.id, new Uint8Array(0));
    await Promise.all(pending);
  });

  describe('a request waiting for the stream to drain', () => {
    /** Runs `body` and returns the rejections no one observed meanwhile. */
    async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on('unhandledRejection', onUnhandled);
      try {
        await body();
        await new Promise((r) => setTimeout(r, 50)); // unhandledRejection fires after a turn
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      return unhandled;
    }

    it('rejects with its signal’s reason on abort and leaves no unhandled rejection behind', async () => {
      // capacity 1: every frame queued makes send() return false until the pair drains.
      const { channel } = await channelPair({ capacity: 1, delay: 50 });
      const unhandled = await unhandledDuring(async () => {
        const controller = new AbortController();
        const reason = new QkmsError(ErrorCode.TIMEOUT, 'gave up');
        const pending = [1, 2, 3].map((i) =>
          settle(ask(channel, Uint8Array.of(i), { signal: controller.signal })),
        );
        controller.abort(reason); // before the event loop could drain anything
        expect(await Promise.all(pending)).toEqual(
          [1, 2, 3].map(() => ({ ok: false, error: reason })),
        );
      });
      expect(unhandled).toEqual([]);
    });

    it('fails when its connection goes away and leaves no unhandled rejection behind', async () => {
      const { channel, local } = await channelPair({ capacity: 1, delay: 50 });
      const unhandled = await unhandledDuring(async () => {
        const pending = [1, 2, 3].map((i) => settle(ask(channel, Uint8Array.of(i))));
        local.abort(new Error('connection closed')); // what a closing connection does to its streams
        expect((await Promise.all(pending)).map((r) => r.ok)).toEqual([false, false, false]);
      });
      expect(unhandled).toEqual([]);
      expect(channel.usable).toBe(false);
    });
  });
});

describe('Channel against a lying node', () => {
  const tooLarge = expect.objectContaining({ code: ErrorCode.TOO_LARGE });

  it('fails a request TOO_LARGE as soon as its answer’s prefix and id are in, before any message byte, and goes on', async () => {
    const { channel, node } = await channelPair();
    const big = settle(ask(channel, Uint8Array.of(1), { cap: 10 }));
    const [r] = await node.arrived(1);
    const frame = encodeFrame(encodeChannelAnswer(r?.id ?? -1, new Uint8Array(11).fill(7)));
    const head = frame.length - 11; // prefix and id
    node.stream.send(frame.subarray(0, head));
    expect(await big).toEqual({ ok: false, error: tooLarge });
    // The message bytes that follow are skipped, and the channel serves the next request.
    node.stream.send(frame.subarray(head));
    const next = ask(channel, Uint8Array.of(2), { cap: 10 });
    const [, r2] = await node.arrived(2);
    node.answer(r2?.id ?? -1, Uint8Array.of(0x22));
    expect(await next).toEqual(Uint8Array.of(0x22));
    expect(channel.usable).toBe(true);
  });

  it('skips a maximum answer to an id nobody waits for, and serves the next request', async () => {
    const { channel, node } = await channelPair();
    const pending = ask(channel, Uint8Array.of(1));
    const [r] = await node.arrived(1);
    // Bigger than any request's cap here, under the channel's: skipped, not a failure.
    node.answer(0x7777, new Uint8Array(MAX_CHANNEL_FRAME_BYTES - 4));
    node.answer(r?.id ?? -1, Uint8Array.of(5));
    expect(await pending).toEqual(Uint8Array.of(5));
    expect(channel.usable).toBe(true);
  });

  it('fails the channel and its requests with TIMEOUT when an answer is trickled past the read deadline', async () => {
    const { channel, node, local } = await channelPair({}, { readDeadlineMs: 200 });
    const pending = settle(ask(channel, Uint8Array.of(1)));
    const other = settle(ask(channel, Uint8Array.of(2)));
    const [r] = await node.arrived(2);
    // 104 bytes, one every 20 ms: each gap a tenth of the deadline, the whole ten times it.
    const frame = encodeFrame(encodeChannelAnswer(r?.id ?? -1, new Uint8Array(100)));
    let sent = 0;
    for (const byte of frame) {
      if (local.status !== 'open') break;
      node.stream.send(Uint8Array.of(byte));
      sent++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const timeout = expect.objectContaining({ code: ErrorCode.TIMEOUT });
    expect(await pending).toEqual({ ok: false, error: timeout });
    expect(await other).toEqual({ ok: false, error: timeout });
    expect(sent).toBeLessThan(frame.length);
    expect(channel.usable).toBe(false);
    expect(local.status).not.toBe('open');
  });

  it('runs no read deadline while no answer frame has begun: an idle channel stays usable', async () => {
    const { channel, node } = await channelPair({}, { readDeadlineMs: 50 });
    const pending = ask(channel, Uint8Array.of(1));
    const [r] = await node.arrived(1);
    await new Promise((resolve) => setTimeout(resolve, 200)); // four deadlines of silence
    expect(channel.usable).toBe(true);
    node.answer(r?.id ?? -1, Uint8Array.of(3));
    expect(await pending).toEqual(Uint8Array.of(3));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(channel.usable).toBe(true);
  });

  it('refuses a read deadline that is not a positive integer, and defaults to ANSWER_READ_DEADLINE_MS', async () => {
    const fake = {
      newStream: () => Promise.reject(new Error('not reached')),
    } as unknown as Connection;
    for (const readDeadlineMs of [0, -1, 1.5, Number.NaN])
      await expect(
        Channel.open(fake, AbortSignal.timeout(LONG_MS), { readDeadlineMs }),
        String(readDeadlineMs),
      ).rejects.toEqual(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(ANSWER_READ_DEADLINE_MS).toBe(5_000);
  });
});
