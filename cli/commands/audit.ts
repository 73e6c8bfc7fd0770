// `qkms audit verify` and `qkms audit tail`: read a node's custody audit log
// offline, whether the node is stopped or running. Both work on a snapshot
// copy of the node's database (LevelDB allows one process at a time, and a
// reader must never touch the node's own files or its run marker), opened
// with the node's keystore: the records are sealed with its storage key.
// `verify --against-peers` also asks the node's running peers for the latest
// head of this node's log they witnessed (audit-peers.ts, decision 0010).
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { ErrorCode, isQkmsError, requireNativeSuite, toHex } from '../../protocol/internal.ts';
import { decodeAuditRecord, type AuditRecord } from '../../node/index.ts';
import { verifyChain } from '../../node/index.ts';
import { DB_DIR, DB_INTEGRITY_DIR } from '../../node/index.ts';
import { loadKeystore } from '../../node/index.ts';
import { PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, resolvePassphrase } from '../node-options.ts';
import { NodeStore } from '../../node/index.ts';
import { parseArgs } from '../args.ts';
import { checkAgainstPeers, type AuditSnapshot } from './audit-peers.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { configError, jsonLine, noPositionals, printJson, usageError, type CliIo } from '../io.ts';
import { SCRYPT_NOTE, stepSync } from '../progress.ts';
import { keystorePassphraseSource } from '../passphrase-source.ts';

export const AUDIT_VERIFY_USAGE = `Usage: qkms audit verify --dir DIR [--against-peers --nodeset FILE] [--passphrase-file FILE] [--json]

Walks the custody audit log of the node whose data directory is DIR, from the
first record to the last, and reports the first break: a record changed
(its bytes, hash or signature), removed, or reordered, by sequence number.
Works while the node runs: it reads a snapshot copy of the database, with
the node's keystore (an encrypted keystore needs ${PASSPHRASE_ENV},
--passphrase-file FILE or ${PASSPHRASE_FILE_ENV}, as 'qkms node start' does).

--against-peers asks every peer in the node set FILE (over /qkms/info) for
the latest head of this node's log it witnessed — a statement this node
signed — and checks the log still holds it: a log that lost its tail, cut
back to a shorter chain that verifies, fails here and names the witness.
Unreachable peers are listed; the check fails if no peer answered.

--json prints one object: ok, verified (records), head (seq, hash in full
hex, at), broken (seq, problem, detail, or null), and with --against-peers
peers and behind.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config], {
  [EXIT.ok]: 'the chain verifies (and holds every head a peer witnessed)',
  [EXIT.failure]: 'it is broken or behind a witness (or no peer answered)',
  [EXIT.config]: 'the keystore, node set or database cannot be read',
})}`;

export const AUDIT_TAIL_USAGE = `Usage: qkms audit tail --dir DIR [-n N] [--passphrase-file FILE] [--json]

Prints the last N (default 20) custody records of the node whose data
directory is DIR, oldest first: sequence number, time, decision, rejection
code, and the keyed fingerprints of wallet, session and content. Reads a
snapshot copy, like 'qkms audit verify'. --json prints one JSON object per
record, a line each: seq, at, the event's fields, hash (full hex).

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config], {
  [EXIT.config]: 'the keystore or database cannot be read',
})}`;

export const AUDIT_VERIFY_FLAGS = {
  dir: 'string',
  'against-peers': 'boolean',
  nodeset: 'string',
  'passphrase-file': 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

/** `n` is the one short flag, -n N, as tail(1) spells it. */
export const AUDIT_TAIL_FLAGS = {
  dir: 'string',
  n: 'string',
  'passphrase-file': 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

interface Opened extends AuditSnapshot {
  close(): Promise<void>;
}

/** Copies the node's database aside (without its lock) and opens the copy. */
async function openSnapshot(
  dir: string,
  io: CliIo,
  passphraseFile: string | undefined,
  command: string,
): Promise<Opened> {
  const suite = requireNativeSuite();
  const full = resolve(io.cwd, dir);
  const passphrase = resolvePassphrase(keystorePassphraseSource(io, passphraseFile), {
    env: io.env,
    readFile: io.readFile,
  });
  const unlock = () => loadKeystore(full, { suite, passphrase });
  // Only an encrypted keystore runs scrypt; a clear one loads at once.
  const keystore =
    passphrase === undefined
      ? unlock()
      : stepSync(
          io,
          {
            prefix: `qkms ${command}`,
            start: `unlocking the keystore (${SCRYPT_NOTE})`,
            done: 'keystore unlocked',
          },
          unlock,
        );
  const copy = mkdtempSync(join(tmpdir(), 'qkms-audit-'));
  try {
    try {
      // The integrity mark first, then the database: the database only grows, so the
      // copy holds at least what the copied mark vouches for, and a lost tail shows.
      if (existsSync(join(full, DB_INTEGRITY_DIR)))
        cpSync(join(full, DB_INTEGRITY_DIR), join(copy, DB_INTEGRITY_DIR), { recursive: true });
      cpSync(join(full, DB_DIR), join(copy, DB_DIR), {
        recursive: true,
        filter: (source) => basename(source) !== 'LOCK',
      });
    } catch (e) {
      throw configError(`${join(full, DB_DIR)}: cannot read the database`, e);
    }
    const store = await NodeStore.open({
      path: join(copy, DB_DIR),
      integrityDir: join(copy, DB_INTEGRITY_DIR),
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
  noPositionals(positionals);
  if (dir === undefined || dir === '') throw usageError('--dir DIR: required');
  return dir;
}

export async function auditVerify(argv: readonly string[], io: CliIo): Promise<number> {
  const { flags, positionals } = parseArgs(argv, AUDIT_VERIFY_FLAGS);
  if (flags.help === true) {
    io.stdout.write(`${AUDIT_VERIFY_USAGE}\n`);
    return EXIT.ok;
  }
  const dir = dirFlag(flags.dir, positionals);
  const againstPeers = flags['against-peers'] === true;
  if (againstPeers && (flags.nodeset === undefined || flags.nodeset === ''))
    throw usageError('--against-peers needs --nodeset FILE');
  if (!againstPeers && flags.nodeset !== undefined)
    throw usageError('--nodeset: only with --against-peers');
  const suite = requireNativeSuite();
  const nodeSetText = againstPeers ? readNodeSet(flags.nodeset ?? '', io) : undefined;
  const opened = await openSnapshot(dir, io, flags['passphrase-file'], 'audit verify');
  try {
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
            hash: toHex(report.head.hash),
            at: new Date(report.head.at).toISOString(),
          };
    const peers =
      nodeSetText === undefined
        ? undefined
        : await checkAgainstPeers(suite, nodeSetText, opened, report.head?.seq ?? 0);
    const chainOk = report.broken === undefined;
    const peersOk = peers === undefined || peers.ok;
    if (flags.json === true) {
      printJson(io, {
        ok: chainOk && peersOk,
        verified: report.verified,
        head: last,
        broken: report.broken ?? null,
        ...(peers === undefined ? {} : { peers: peers.json, behind: peers.behind }),
      });
    } else {
      if (chainOk) {
        io.stdout.write(
          last === null
            ? 'audit log is empty\n'
            : `audit chain verifies: ${report.verified} records, head ${last.seq} (${last.hash.slice(0, 16)}…, ${last.at})\n`,
        );
      } else {
        const b = report.broken;
        io.stdout.write(
          `audit chain BROKEN at record ${b.seq}: ${b.problem}: ${b.detail}\n${report.verified} records verified before it\n`,
        );
      }
      if (peers !== undefined) for (const l of peers.lines) io.stdout.write(`${l}\n`);
    }
    return chainOk && peersOk ? EXIT.ok : EXIT.failure;
  } finally {
    await opened.close();
  }
}

function readNodeSet(file: string, io: CliIo): string {
  try {
    return io.readFile(resolve(io.cwd, file));
  } catch (e) {
    throw configError(`--nodeset ${file}: cannot read`, e);
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
  const { flags, positionals } = parseArgs(argv, AUDIT_TAIL_FLAGS);
  if (flags.help === true) {
    io.stdout.write(`${AUDIT_TAIL_USAGE}\n`);
    return EXIT.ok;
  }
  const n = flags.n === undefined ? 20 : Number(flags.n);
  if (!Number.isSafeInteger(n) || n < 1 || n > 100_000)
    throw usageError('-n: an integer in [1, 100000]');
  const opened = await openSnapshot(
    dirFlag(flags.dir, positionals),
    io,
    flags['passphrase-file'],
    'audit tail',
  );
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
          jsonLine({ seq: r.body.seq, at: r.body.at, ...r.body.event, hash: toHex(r.hash) }),
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
