// A kill -9 at any moment loses no acknowledged write (DESIGN.md, Storage):
// a child process writes records and prints each one only after its synced
// write resolved; the parent SIGKILLs it mid-stream, reopens the store and
// finds every acknowledged record, authenticated.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultSuite, toHex } from '../../protocol/index.ts';
import { NodeStore } from './db.ts';
import { crashContent, crashNonces } from '../../test/support/store-crash-records.ts';

const suite = defaultSuite();
const WRITER = join(import.meta.dirname, '..', '..', 'test', 'support', 'store-crash-writer.ts');
/** Acknowledged content records before the kill: enough to land mid-stream, quick to reach. */
const KILL_AFTER = 40;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) {
    rmSync(d, { recursive: true, force: true });
    rmSync(`${d}-integrity`, { recursive: true, force: true });
  }
});

interface Acks {
  readonly content: number[];
  readonly nonces: number[];
}

/** Runs the writer, SIGKILLs it after KILL_AFTER content acks, returns what it acknowledged. */
function runAndKill(path: string, storageKey: Uint8Array): Promise<Acks> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, path, toHex(storageKey)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Acks = { content: [], nonces: [] };
    let stderr = '';
    let buffered = '';
    let killed = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [kind, index] = line.split(' ');
        if (kind === 'content') acks.content.push(Number(index));
        if (kind === 'nonces') acks.nonces.push(Number(index));
      }
      if (!killed && acks.content.length >= KILL_AFTER) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`writer exited ${String(code)} before the kill: ${stderr}`));
    });
  });
}

describe('NodeStore under kill -9', () => {
  it('keeps every acknowledged content record and nonce batch, authenticated, and reports the unclean shutdown', async () => {
    const path = mkdtempSync(join(tmpdir(), 'qkms-'));
    dirs.push(path);
    const storageKey = suite.randomBytes(32);

    const acks = await runAndKill(path, storageKey);
    expect(acks.content.length).toBeGreaterThanOrEqual(KILL_AFTER);

    const store = await NodeStore.open({ path, storageKey, suite });
    try {
      expect(store.previousShutdownClean).toBe(false);
      expect(store.replayEpochStart).toBe(store.openedAt);
      for (const i of acks.content) {
        expect(await store.getContent(crashContent(suite, i).contentId)).toEqual(
          crashContent(suite, i),
        );
      }
      const stored = new Set(
        (await store.listNonces(0)).map((e) => toHex(e.sessionKey) + toHex(e.nonce)),
      );
      for (const i of acks.nonces) {
        for (const e of crashNonces(suite, i)) {
          expect(stored.has(toHex(e.sessionKey) + toHex(e.nonce))).toBe(true);
        }
      }
      // Nothing half-written shows up: the record in flight at the kill is absent or whole.
      const count = await store.countContent();
      expect(count).toBeGreaterThanOrEqual(acks.content.length);
      expect(count).toBeLessThanOrEqual(acks.content.length + 1);
      const inFlight = crashContent(suite, acks.content.length);
      const last = await store.getContent(inFlight.contentId);
      if (last !== undefined) expect(last).toEqual(inFlight);
    } finally {
      await store.close();
    }
  });
});
