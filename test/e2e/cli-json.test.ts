// `--json` as a script sees it, against a real quorum on loopback (in-process
// nodes, the CLI in this process): one object per command on stdout, bytes as
// hex (a receipt's signature, never {"0":245,…}), identifiers in full (admin
// revoke and revocations), never a key; and a failure is that one object
// ({"ok": false, "exit": N, "error": …}) with nothing on stderr, or without
// --json one message on stderr with nothing on stdout (cli/exit.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../support/cli.ts';
import { startQuorum, stopQuorum, type Quorum } from '../support/in-process.ts';

/** cli/exit.ts EXIT. */
const EXIT = { ok: 0, usage: 2, revoked: 6, output: 7 } as const;
const HEX = /^[0-9a-f]+$/;

let q: Quorum;
let work: string;
let address: string;

function cli(argv: readonly string[]): Promise<CliRun> {
  return runCli(argv, { cwd: work });
}

/** The one JSON object a --json run printed (and that it printed only one line). */
function json(run: CliRun): Record<string, unknown> {
  expect(run.stdout.endsWith('\n'), run.stderr).toBe(true);
  expect(run.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

beforeAll(async () => {
  q = await startQuorum(3, 2);
  work = mkdtempSync(join(tmpdir(), 'qkms-cli-json-'));
  const made = await cli(['wallet', 'new', '--out', 'wallet.key', '--json']);
  expect(made.code, made.stderr).toBe(EXIT.ok);
  const wallet = json(made);
  expect(wallet).toEqual({
    ok: true,
    address: expect.stringMatching(/^0x[0-9a-fA-F]{40}$/) as unknown,
    keyFile: join(work, 'wallet.key'),
  });
  address = String(wallet['address']);
  expect(made.stdout).not.toContain(readFileSync(join(work, 'wallet.key'), 'utf8').trim().slice(2));
});
afterAll(async () => {
  await stopQuorum(q);
  rmSync(work, { recursive: true, force: true });
});

describe('--json output is complete and usable by scripts', () => {
  let contentId = '';

  it('content publish: receipts with their bytes as hex, and no key', async () => {
    const run = await cli([
      'content',
      'publish',
      '--quorum',
      q.files.nodeSetPath,
      '--wallet-key',
      'wallet.key',
      '--cek-out',
      'cek.hex',
      '--out',
      'manifest.json',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const out = json(run);
    expect(out).toMatchObject({ ok: true, recoverable: true, complete: true, stored: [1, 2, 3] });
    contentId = String(out['contentId']);
    expect(contentId).toMatch(/^[0-9a-f]{64}$/);
    const nodes = out['nodes'] as { index: number; receipt: Record<string, unknown> }[];
    expect(nodes).toHaveLength(3);
    for (const node of nodes) {
      const body = node.receipt['body'] as Record<string, unknown>;
      expect(node.receipt['signature']).toMatch(HEX);
      expect(body['contentId']).toBe(contentId);
      expect(body['nodeSetId']).toMatch(/^[0-9a-f]{64}$/);
      expect(body['manifestHash']).toMatch(HEX);
      expect(body['node']).toBe(node.index);
    }
    expect(run.stdout).not.toMatch(/"0":\d/);
    expect(run.stdout).not.toContain(readFileSync(join(work, 'cek.hex'), 'utf8').trim());
  });

  it('content recover: ok, the key file, the per-node report; never the key', async () => {
    const run = await cli([
      'content',
      'recover',
      '--quorum',
      q.files.nodeSetPath,
      '--manifest',
      'manifest.json',
      '--wallet-key',
      'wallet.key',
      '--out',
      'recovered.hex',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const out = json(run);
    expect(out).toMatchObject({ ok: true, contentId, cekFile: join(work, 'recovered.hex') });
    expect(readFileSync(join(work, 'recovered.hex'), 'utf8')).toBe(
      readFileSync(join(work, 'cek.hex'), 'utf8'),
    );
    expect(run.stdout).not.toContain(readFileSync(join(work, 'cek.hex'), 'utf8').trim());
  });

  it('admin revoke and admin revocations: the record id and target in full; the human text shortens them', async () => {
    const [adminKey] = q.files.adminKeyFiles;
    const target = address.slice(2).toLowerCase();
    const revoke = await cli([
      'admin',
      'revoke',
      '--quorum',
      q.files.nodeSetPath,
      '--admin-key',
      adminKey ?? '',
      '--wallet',
      address,
      '--json',
    ]);
    expect(revoke.code, revoke.stderr).toBe(EXIT.ok);
    const out = json(revoke);
    expect(out).toMatchObject({ ok: true, sent: true, effective: true });
    const record = out['record'] as { id: string; kind: string; target: string };
    expect(record.id).toMatch(/^[0-9a-f]{64}$/);
    expect(record).toMatchObject({ kind: 'wallet', target });

    const list = await cli([
      'admin',
      'revocations',
      '--quorum',
      q.files.nodeSetPath,
      '--node',
      '2',
      '--json',
    ]);
    expect(list.code, list.stderr).toBe(EXIT.ok);
    expect(json(list)).toMatchObject({
      ok: true,
      node: 2,
      count: 1,
      records: [{ id: record.id, kind: 'wallet', target }],
    });
    const human = await cli(['admin', 'revocations', '--quorum', q.files.nodeSetPath]);
    expect(human.stdout).toContain(`${record.id.slice(0, 8)}…${record.id.slice(-4)}`);
    expect(human.stdout).not.toContain(record.id);
  });

  it('a recover that fails (revoked): with --json one object on stdout and no message on stderr; without, the message on stderr only', async () => {
    const argv = [
      'content',
      'recover',
      '--quorum',
      q.files.nodeSetPath,
      '--manifest',
      'manifest.json',
      '--wallet-key',
      'wallet.key',
    ];
    const machine = await cli([...argv, '--out', 'again.hex', '--json']);
    expect(machine.code, machine.stderr).toBe(EXIT.revoked);
    const out = json(machine);
    expect(out).toMatchObject({ ok: false, exit: EXIT.revoked, reason: 'revoked' });
    expect(out['error']).toMatch(/^failed: /);
    expect(out['nodes']).toHaveLength(3);
    expect(machine.stderr).not.toMatch(/failed|REVOKED/);

    const person = await cli([...argv, '--out', 'again2.hex']);
    expect(person.code).toBe(EXIT.revoked);
    expect(person.stdout).toBe('');
    expect(person.stderr).toMatch(/^qkms content recover: failed: /m);
    expect(person.stderr).toMatch(/^ {2}node 1 {2}/m);
  });

  it('an output file that exists: exit 7, as JSON with --json', async () => {
    const run = await cli(['wallet', 'new', '--out', 'wallet.key', '--json']);
    expect(run.code).toBe(EXIT.output);
    expect(run.stderr).toBe('');
    expect(json(run)).toEqual({
      ok: false,
      exit: EXIT.output,
      error: `--out ${join(work, 'wallet.key')} already exists; refusing to overwrite it`,
    });
  });
});
