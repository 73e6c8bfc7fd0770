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
import {
  ErrorCode,
  QkmsError,
  isQkmsError,
  parseSignedNodeSetJson,
  peerIdFromEd25519PublicKey,
  requireNativeSuite,
  toHex,
  type CryptoSuite,
} from '../../protocol/index.ts';
import { decodeAuditRecord, type AuditRecord } from '../../node/index.ts';
import { verifyChain } from '../../node/index.ts';
import { DB_DIR, DB_INTEGRITY_DIR } from '../../node/index.ts';
import { loadKeystore } from '../../node/index.ts';
import {
  PASSPHRASE_ENV,
  PASSPHRASE_FILE_ENV,
  resolvePassphrase,
  type PassphraseSource,
} from '../node-options.ts';
import { NodeStore } from '../../node/index.ts';
import { parseArgs } from '../args.ts';
import { askPeers, type PeerWitness } from './audit-peers.ts';
import { EXIT, type CliIo } from '../io.ts';

export const AUDIT_VERIFY_USAGE = `Usage: qkms audit verify --dir DIR [--against-peers --nodeset FILE] [--json]

Walks the custody audit log of the node whose data directory is DIR, from the
first record to the last, and reports the first break: a record changed
(its bytes, hash or signature), removed, or reordered, by sequence number.
Works while the node runs: it reads a snapshot copy of the database, with
the node's keystore (an encrypted keystore needs ${PASSPHRASE_ENV} or
${PASSPHRASE_FILE_ENV}).

--against-peers asks every peer in the node set FILE (over /qkms/info) for
the latest head of this node's log it witnessed — a statement this node
signed — and checks the log still holds it: a log that lost its tail, cut
back to a shorter chain that verifies, fails here and names the witness.
Unreachable peers are listed; the check fails if no peer answered.

Exit codes: 0 the chain verifies (and holds every head a peer witnessed),
1 it is broken or behind a witness (or no peer answered), 2 usage error,
3 the keystore, node set or database cannot be read.`;

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
      // The integrity mark first, then the database: the database only grows, so the
      // copy holds at least what the copied mark vouches for, and a lost tail shows.
      if (existsSync(join(full, DB_INTEGRITY_DIR)))
        cpSync(join(full, DB_INTEGRITY_DIR), join(copy, DB_INTEGRITY_DIR), { recursive: true });
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
  if (positionals.length > 0)
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, `unexpected argument ${positionals[0] ?? ''}`);
  if (dir === undefined || dir === '')
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, '--dir DIR: required');
  return dir;
}

export async function auditVerify(argv: readonly string[], io: CliIo): Promise<number> {
  const { flags, positionals } = parseArgs(argv, {
    dir: 'string',
    'against-peers': 'boolean',
    nodeset: 'string',
    json: 'boolean',
    help: 'boolean',
  });
  if (flags.help === true) {
    io.stdout.write(`${AUDIT_VERIFY_USAGE}\n`);
    return EXIT.ok;
  }
  const dir = dirFlag(flags.dir, positionals);
  const againstPeers = flags['against-peers'] === true;
  if (againstPeers && (flags.nodeset === undefined || flags.nodeset === ''))
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, '--against-peers needs --nodeset FILE');
  if (!againstPeers && flags.nodeset !== undefined)
    throw new QkmsError(ErrorCode.INVALID_ARGUMENT, '--nodeset: only with --against-peers');
  const suite = requireNativeSuite();
  const nodeSetText = againstPeers ? readNodeSet(flags.nodeset ?? '', io) : undefined;
  const opened = await openSnapshot(dir, io);
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
            hash: toHex(report.head.hash).slice(0, 16),
            at: new Date(report.head.at).toISOString(),
          };
    const peers =
      nodeSetText === undefined
        ? undefined
        : await checkAgainstPeers(suite, nodeSetText, opened, report.head?.seq ?? 0);
    const chainOk = report.broken === undefined;
    const peersOk = peers === undefined || peers.ok;
    if (flags.json === true) {
      io.stdout.write(
        `${JSON.stringify({
          ok: chainOk && peersOk,
          verified: report.verified,
          head: last,
          broken: report.broken ?? null,
          ...(peers === undefined ? {} : { peers: peers.json, behind: peers.behind }),
        })}\n`,
      );
    } else {
      if (chainOk) {
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
    throw new QkmsError(ErrorCode.CONFIG_INVALID, `--nodeset ${file}: cannot read`, { cause: e });
  }
}

interface PeersReport {
  readonly ok: boolean;
  /** The witnesses whose head this log does not hold. */
  readonly behind: readonly { peer: number; witnessedSeq: number; problem: string }[];
  readonly json: readonly Record<string, unknown>[];
  readonly lines: readonly string[];
}

/** The hash of the snapshot's record at `seq`, or undefined if it has none (or it does not read). */
async function hashAt(opened: Opened, seq: number): Promise<Uint8Array | undefined> {
  for await (const entry of opened.store.auditEntries(seq, { limit: 1 })) {
    if (entry.seq !== seq || 'corrupt' in entry) return undefined;
    try {
      return decodeAuditRecord(entry.value).hash;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Each peer's witnessed head of this node against the local chain, whose
 * verified head is `ownSeq`: a witnessed head past it, or another hash at its
 * seq, means the log lost records this node had signed.
 */
async function checkAgainstPeers(
  suite: CryptoSuite,
  nodeSetText: string,
  opened: Opened,
  ownSeq: number,
): Promise<PeersReport> {
  const nodeSet = parseSignedNodeSetJson(suite, nodeSetText);
  const peerId = peerIdFromEd25519PublicKey(opened.publicKey);
  const self = nodeSet.nodes.find((n) => n.peerId === peerId);
  if (self === undefined)
    throw new QkmsError(ErrorCode.CONFIG_INVALID, '--nodeset: this node is not in it');
  const answers: PeerWitness[] = await askPeers(suite, nodeSet, {
    index: self.index,
    publicKey: opened.publicKey,
  });
  const behind: { peer: number; witnessedSeq: number; problem: string }[] = [];
  const json: Record<string, unknown>[] = [];
  const lines: string[] = [];
  for (const a of answers) {
    if (a.outcome !== 'witnessed') {
      json.push({
        peer: a.peer,
        outcome: a.outcome,
        ...(a.outcome === 'refused' ? { code: a.code } : {}),
      });
      lines.push(
        `node ${a.peer}: ${a.outcome === 'refused' ? `refused (${a.code})` : a.outcome === 'none' ? 'has witnessed no head of this node' : a.outcome === 'invalid' ? "sent a head that does not verify under this node's key (ignored)" : 'unreachable'}`,
      );
      continue;
    }
    const { seq, hash, at } = a.head.body;
    let problem: string | undefined;
    if (seq > ownSeq) problem = 'behind';
    else if (seq > 0) {
      const own = await hashAt(opened, seq);
      if (own === undefined || !suite.equalBytes(own, hash)) problem = 'forked';
    }
    json.push({ peer: a.peer, outcome: 'witnessed', seq, at, ok: problem === undefined });
    if (problem === undefined) {
      lines.push(`node ${a.peer}: witnessed head ${seq}: held`);
    } else {
      behind.push({ peer: a.peer, witnessedSeq: seq, problem });
      lines.push(
        problem === 'behind'
          ? `node ${a.peer}: witnessed head ${seq} (${new Date(at).toISOString()}), but this log ends at ${ownSeq}: ROLLED BACK`
          : `node ${a.peer}: witnessed head ${seq} (${new Date(at).toISOString()}), but this log holds another record there: FORKED`,
      );
    }
  }
  const answered = answers.filter((a) => a.outcome === 'witnessed' || a.outcome === 'none').length;
  if (answers.length > 0 && answered === 0)
    lines.push('no peer answered: the log was not checked against peers');
  else if (answers.length === 0) lines.push('no peers in the node set: nothing to check against');
  return {
    ok: behind.length === 0 && (answers.length === 0 || answered > 0),
    behind,
    json,
    lines,
  };
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
