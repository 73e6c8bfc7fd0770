// Progress lines: on stderr only, one before and one after with the time it
// took; whenSlow says nothing about a quick step.
import { describe, expect, it } from 'vitest';
import { formatElapsed, step, stepSync, whenSlow, type ProgressClock } from './progress.ts';

function capture(): { io: { stderr: { write(t: string): void } }; lines: string[] } {
  const lines: string[] = [];
  return { io: { stderr: { write: (t: string) => lines.push(t) } }, lines };
}

/** A clock the test moves, and timers that fire when the test says. */
function fakeClock(): ProgressClock & { at: number; fire(): void } {
  const pending: (() => void)[] = [];
  const clock = {
    at: 0,
    now: () => clock.at,
    setTimeout: (fn: () => void) => {
      pending.push(fn);
      return pending.length - 1;
    },
    clearTimeout: (h: unknown) => {
      pending[h as number] = () => undefined;
    },
    fire: () => {
      for (const fn of pending.splice(0)) fn();
    },
  };
  return clock;
}

const TEXT = { prefix: 'qkms x', start: 'unlocking the keystore', done: 'keystore unlocked' };

describe('formatElapsed', () => {
  it('shows milliseconds under a second, one decimal under ten, whole seconds above', () => {
    expect(formatElapsed(420.4)).toBe('420 ms');
    expect(formatElapsed(1_234)).toBe('1.2 s');
    expect(formatElapsed(10_800)).toBe('11 s');
    expect(formatElapsed(-1)).toBe('0 ms');
  });
});

describe('stepSync and step', () => {
  it('print a line before and one after with the elapsed time, and return the result', async () => {
    const { io, lines } = capture();
    const clock = fakeClock();
    const value = stepSync(
      io,
      TEXT,
      () => {
        expect(lines).toEqual(['qkms x: unlocking the keystore…\n']);
        clock.at += 10_800;
        return 7;
      },
      clock,
    );
    expect(value).toBe(7);
    expect(lines).toEqual([
      'qkms x: unlocking the keystore…\n',
      'qkms x: keystore unlocked in 11 s\n',
    ]);
    lines.length = 0;
    await expect(
      step(
        io,
        TEXT,
        () => {
          clock.at += 1_500;
          return Promise.resolve('ok');
        },
        clock,
      ),
    ).resolves.toBe('ok');
    expect(lines[1]).toBe('qkms x: keystore unlocked in 1.5 s\n');
  });

  it('print no "done" line when the step throws, and let the error through', async () => {
    const { io, lines } = capture();
    expect(() =>
      stepSync(io, TEXT, () => {
        throw new Error('wrong passphrase');
      }),
    ).toThrow('wrong passphrase');
    await expect(step(io, TEXT, () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(lines).toEqual([
      'qkms x: unlocking the keystore…\n',
      'qkms x: unlocking the keystore…\n',
    ]);
  });
});

describe('whenSlow', () => {
  it('says nothing about a step that ends before the notice is due', async () => {
    const { io, lines } = capture();
    const clock = fakeClock();
    await expect(whenSlow(io, TEXT, () => Promise.resolve(1), clock)).resolves.toBe(1);
    clock.fire(); // cancelled: nothing
    expect(lines).toEqual([]);
  });

  it('announces a slow step when the notice is due, then its end with the time, or its failure', async () => {
    const { io, lines } = capture();
    const clock = fakeClock();
    const slow = whenSlow(
      io,
      TEXT,
      async () => {
        await Promise.resolve();
        clock.at += 1_200;
        clock.fire();
        clock.at += 1_000;
        return 'done';
      },
      clock,
    );
    await expect(slow).resolves.toBe('done');
    expect(lines).toEqual([
      'qkms x: unlocking the keystore…\n',
      'qkms x: keystore unlocked in 2.2 s\n',
    ]);
    lines.length = 0;
    const failing = whenSlow(
      io,
      TEXT,
      async () => {
        await Promise.resolve();
        clock.at += 3_000;
        clock.fire();
        throw new Error('nodes down');
      },
      clock,
    );
    await expect(failing).rejects.toThrow('nodes down');
    expect(lines).toEqual(['qkms x: unlocking the keystore…\n', 'qkms x: failed after 3.0 s\n']);
  });

  it('uses real timers by default: a quick step prints nothing', async () => {
    const { io, lines } = capture();
    await whenSlow(io, TEXT, () => Promise.resolve(), { afterMs: 50 });
    await new Promise((r) => setTimeout(r, 80));
    expect(lines).toEqual([]);
  });
});
