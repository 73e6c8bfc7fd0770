// Refused streams (issue 12 item 5), against in-process daemons over real
// TCP on loopback: a client outside the node set that opens a burst of
// streams right after connecting — /qkms/revsync/1 (node-only), and more
// /qkms/info/1 and /qkms/channel/1 streams than the per-protocol limit —
// must see every refused one reset (or fail to open) promptly, and the slots
// must come back: the same connection serves a request afterwards, and a
// member's revsync still works.
import type { Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../protocol/internal.ts';
import { REVSYNC_PROTOCOL } from '../../node/revocation/sync.ts';
import { startQuorum, stopQuorum, type Quorum } from '../support/in-process.ts';
import { ask, createClient } from '../support/quorum.ts';

/** Generous cap on each wait: the test asserts that streams end, never how fast. */
const WAIT_MS = 10_000;
const STREAMS_PER_PROTOCOL = 4;
const BURST = 40;

let q: Quorum | undefined;
const clients: Libp2p[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.stop();
  await stopQuorum(q);
  q = undefined;
});

/**
 * How a stream the server refuses ends, as its opener sees it: `failed` (the
 * open itself failed), `reset`/`closed`/`aborted` (its status once it
 * ended), or `open` if nothing happened within WAIT_MS.
 */
async function ending(opened: Promise<Stream>, bytes: boolean): Promise<string> {
  let stream: Stream;
  try {
    stream = await opened;
  } catch {
    return 'failed';
  }
  if (stream.status !== 'open') return stream.status;
  const closed = new Promise<string>((resolve) => {
    const timer = setTimeout(() => {
      resolve(stream.status);
    }, WAIT_MS);
    stream.addEventListener(
      'close',
      () => {
        clearTimeout(timer);
        resolve(stream.status);
      },
      { once: true },
    );
  });
  try {
    if (bytes) stream.send(Uint8Array.of(3, 1, 2, 3));
  } catch {
    // already reset under us
  }
  return closed;
}

describe('refused streams', () => {
  it('resets every refused stream of a burst from a non-member, and the slots come back', async () => {
    q = await startQuorum(2, 2, {
      node: () => ({ args: ['--max-streams-per-protocol', String(STREAMS_PER_PROTOCOL)] }),
    });
    const [node1, node2] = q.nodes;
    if (node1 === undefined || node2 === undefined) throw new Error('quorum not up');
    const node = q.files.nodeSet.nodes[0];
    const target = multiaddr(`${node?.multiaddrs[0] ?? ''}/p2p/${node1.peerId}`);
    const outsider = await createClient();
    clients.push(outsider);

    const endings: string[] = [];
    for (const bytes of [false, true]) {
      // A burst right after connecting: the streams arrive with the connection.
      const connection = await outsider.dial(target, { signal: AbortSignal.timeout(WAIT_MS) });
      const burst = Array.from({ length: BURST }, async () =>
        ending(
          connection.newStream(REVSYNC_PROTOCOL, { signal: AbortSignal.timeout(WAIT_MS) }),
          bytes,
        ),
      );
      endings.push(...(await Promise.all(burst)));
      // The refused streams gave their slots back: this connection still serves a request.
      const answer = await ask(
        outsider,
        q.files,
        1,
        'info',
        encodeMessage({ type: 'info' }),
        'info-ok',
      );
      expect(answer.type).toBe('info-ok');
      await outsider.hangUp(target);
    }
    expect(endings.filter((e) => e === 'open')).toEqual([]);
    expect(endings).toHaveLength(2 * BURST);

    // Past the per-protocol limit, on protocols a client may use: the extra streams are reset.
    const connection = await outsider.dial(target, { signal: AbortSignal.timeout(WAIT_MS) });
    for (const protocol of ['/qkms/channel/1', '/qkms/info/1']) {
      const extra = STREAMS_PER_PROTOCOL * 2;
      const ended = Promise.withResolvers<undefined>();
      let count = 0;
      const end = (): void => {
        if (++count === extra) ended.resolve(undefined);
      };
      const held = await Promise.all(
        Array.from({ length: STREAMS_PER_PROTOCOL + extra }, async () =>
          connection.newStream(protocol, { signal: AbortSignal.timeout(WAIT_MS) }).then(
            (s) => {
              if (s.status === 'open') s.addEventListener('close', end, { once: true });
              else end();
              return s;
            },
            () => {
              end();
              return undefined;
            },
          ),
        ),
      );
      const timer = setTimeout(() => {
        ended.reject(new Error(`only ${count} of ${extra} refused ${protocol} streams ended`));
      }, WAIT_MS);
      await ended.promise.finally(() => {
        clearTimeout(timer);
      });
      for (const s of held) s?.abort(new Error('done'));
    }
    const answer = await ask(
      outsider,
      q.files,
      1,
      'info',
      encodeMessage({ type: 'info' }),
      'info-ok',
    );
    expect(answer.type).toBe('info-ok');

    // A member's revsync still works.
    const syncs = async (): Promise<number> =>
      (await node2.metrics.revocationSyncs.get()).values.find((v) => v.labels.result === 'ok')
        ?.value ?? 0;
    const before = await syncs();
    await node2.revocations.syncNow();
    expect(await syncs()).toBe(before + 1);
  });
});
