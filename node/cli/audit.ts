// `qkms audit verify` and `qkms audit tail`: read a node's custody audit log
// offline, whether the node is stopped or running. Both work on a snapshot
// copy of the node's database (LevelDB allows one process at a time, and a
// reader must never touch the node's own files or its run marker), opened
// with the node's keystore: the records are sealed with its storage key.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import {
  ErrorCode,
  QkmsError,
  isQkmsError,
  requireNativeSuite,
  toHex,
} from '../../protocol/index.ts';
import { decodeAuditRecord, type AuditRecord } from '../audit/record.ts';
import { verifyChain } from '../audit/verify.ts';
import { DB_DIR } from '../daemon.ts';
import { loadKeystore } from '../keystore.ts';
import {
  PASSPHRASE_ENV,
  PASSPHRASE_FILE_ENV,
  resolvePassphrase,
  type PassphraseSource,
} from '../options.ts';
import { NodeStore } from '../store/index.ts';
import { parseArgs } from './args.ts';
import { EXIT, type CliIo } from './main.ts';

export const AUDIT_VERIFY_USAGE = `Usage: qkms audit verify --dir DIR [--json]

Walks the custody audit log of the node whose data directory is DIR, from the
first record to the last, and reports the first break: a record changed
(its bytes, hash or signature), removed, or reordered, by sequence number.
Works while the node runs: it reads a snapshot copy of the database, with
the node's keystore (an encrypted keystore needs ${PASSPHRASE_ENV} or
${PASSPHRASE_FILE_ENV}).

Exit codes: 0 the chain verifies, 1 it is broken, 2 usage error, 3 the
keystore or database cannot be read.`;

export const AUDIT_TAIL_USAGE = `Usage: qkms audit tail --dir DIR [-n N] [--json]

Prints the last N (default 20) custody records of the node whose data
directory is DIR, oldest first: sequence number, time, decision, rejection
code, and the keyed fingerprints of wallet, session and content. Reads a
snapshot copy, like 'qkms audit verify'.`;

interface Opened {
  readonly store: NodeStore;
  readonly publicKey: Uint8Array;
  close(): Promise<void>;
}

/** Copies the node's database aside (without its lock) and opens the copy. */
async function openSnapshot(dir: string, io: CliIo): Promise<Opened> {
  const suite = requireNativeSuite();
  const full = resolve(io.cwd, dir);
  const file = io.env[PASSPHRASE_FILE_ENV];
  const source: PassphraseSource =
    file !== undefined && file !== ''
      ? { kind: 'file', path: resolve(io.cwd, file), origin: PASSPHRASE_FILE_ENV }
      : io.env[PASSPHRASE_ENV] === undefined
        ? { kind: 'none' }
        : { kind: 'env', variable: PASSPHRASE_ENV };
  const passphrase = resolvePassphrase(source, { env: io.env, readFile: io.readFile });
  const keystore = loadKeystore(full, { suite, passphrase });
  const copy = mkdtempSync(join(tmpdir(), 'qkms-audit-'));
  try {
    try {
      cpSync(join(full, DB_DIR), join(copy, DB_DIR), {
        recursive: true,
        filter: (source) => basename(source) !== 'LOCK',
      });
    } catch (e) {
      throw new QkmsError(
        ErrorCode.CONFIG_INVALID,
        `${join(full, DB_DIR)}: cannot read the database`,
        {
          cause: e,
        },
      );
    }
    const store = await NodeStore.open({
      path: join(copy, DB_DIR),
      storageKey: keystore.storageKey,
      suite,
    });
    const publicKey = suite.ed25519.getPublicKey(keystore.identitySeed);
    keystore.wipe();
    return {
      store,
      publicKey,
      close: async () => {
        await store.close();
        rmSync(copy, { recursive: true, force: true });
      },
    };
  } catch (e) {
    keystore.wipe();
    rmSync(copy, { recursive: true, force: true });
    throw e;
  }
}

function dirFlag(dir: string | undefined, positionals: readonly string[]): string {
  if (positionals.length > 0)
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, `unexpected argument ${positionals[0] ?? ''}`);
  if (dir === undefined || dir === '')
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, '--dir DIR: required');
  return dir;
}

export async function auditVerify(argv: readonly string[], io: CliIo): Promise<number> {
  const { flags, positionals } = parseArgs(argv, {
    dir: 'string',
    json: 'boolean',
    help: 'boolean',
  });
  if (flags.help === true) {
    io.stdout.write(`${AUDIT_VERIFY_USAGE}\n`);
    return EXIT.ok;
  }
  const opened = await openSnapshot(dirFlag(flags.dir, positionals), io);
  try {
    const suite = requireNativeSuite();
    let head: Awaited<ReturnType<NodeStore['auditHead']>> | null;
    try {
      head = (await opened.store.auditHead()) ?? null;
    } catch (e) {
      if (!isQkmsError(e, ErrorCode.STORE_CORRUPT)) throw e;
      head = undefined; // reported below, after the records themselves
    }
    const chain = await verifyChain(suite, opened.publicKey, opened.store.auditEntries(), head);
    const report =
      head === undefined && chain.broken === undefined
        ? {
            ...chain,
            broken: {
              seq: chain.verified,
              problem: 'corrupt' as const,
              detail: 'the head the node records with every write fails authentication',
            },
          }
        : chain;
    const last =
      report.head === undefined
        ? null
        : {
            seq: report.head.seq,
            hash: toHex(report.head.hash).slice(0, 16),
            at: new Date(report.head.at).toISOString(),
          };
    if (flags.json === true) {
      io.stdout.write(
        `${JSON.stringify({ ok: report.broken === undefined, verified: report.verified, head: last, broken: report.broken ?? null })}\n`,
      );
    } else if (report.broken === undefined) {
      io.stdout.write(
        last === null
          ? 'audit log is empty\n'
          : `audit chain verifies: ${report.verified} records, head ${last.seq} (${last.hash}…, ${last.at})\n`,
      );
    } else {
      const b = report.broken;
      io.stdout.write(
        `audit chain BROKEN at record ${b.seq}: ${b.problem}: ${b.detail}\n${report.verified} records verified before it\n`,
      );
    }
    return report.broken === undefined ? EXIT.ok : EXIT.failure;
  } finally {
    await opened.close();
  }
}

function line(record: AuditRecord): string {
  const e = record.body.event;
  const parts = [
    String(record.body.seq).padStart(6),
    new Date(record.body.at).toISOString(),
    e.kind.padEnd(19),
    e.code ?? '',
    e.wallet === undefined ? '' : `wallet ${e.wallet}`,
    e.session === undefined ? '' : `session ${e.session}`,
    e.content === undefined ? '' : `content ${e.content}`,
    e.revocation === undefined ? '' : `revocation ${e.revocation} (${e.revocationKind ?? '?'})`,
    e.detail ?? '',
  ];
  return parts.filter((p) => p !== '').join('  ');
}

export async function auditTail(argv: readonly string[], io: CliIo): Promise<number> {
  // -n N is the one short flag, as tail(1) spells it.
  const { flags, positionals } = parseArgs(
    argv.map((a) => (a === '-n' ? '--n' : a)),
    { dir: 'string', n: 'string', json: 'boolean', help: 'boolean' },
  );
  if (flags.help === true) {
    io.stdout.write(`${AUDIT_TAIL_USAGE}\n`);
    return EXIT.ok;
  }
  const n = flags.n === undefined ? 20 : Number(flags.n);
  if (!Number.isSafeInteger(n) || n < 1 || n > 100_000)
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, '-n: an integer in [1, 100000]');
  const opened = await openSnapshot(dirFlag(flags.dir, positionals), io);
  try {
    const records: AuditRecord[] = [];
    let unreadable = 0;
    for await (const entry of opened.store.auditEntries(1, { reverse: true, limit: n })) {
      if ('corrupt' in entry) {
        unreadable += 1;
        continue;
      }
      try {
        records.push(decodeAuditRecord(entry.value));
      } catch {
        unreadable += 1;
      }
    }
    records.reverse();
    if (flags.json === true) {
      for (const r of records)
        io.stdout.write(
          `${JSON.stringify({ seq: r.body.seq, at: r.body.at, ...r.body.event, hash: toHex(r.hash).slice(0, 16) })}\n`,
        );
    } else {
      for (const r of records) io.stdout.write(`${line(r)}\n`);
      if (unreadable > 0)
        io.stdout.write(`${unreadable} records could not be read: run 'qkms audit verify'\n`);
    }
    return EXIT.ok;
  } finally {
    await opened.close();
  }
}
