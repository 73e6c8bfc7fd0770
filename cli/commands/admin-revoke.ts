// `qkms admin revoke` and `qkms admin revocations`: an admin's revocations
// (docs/admin.md). revoke signs a record with one or more admin keys (or adds
// signatures to a record file another admin made), sends it to every node,
// reports per node, and says *effective* once n - t + 1 nodes hold it
// durably. revocations lists, verified, what one node holds.
//
// The human output shortens record ids and targets (the admin who typed the
// target knows it); --json carries them in full, for scripts. A record is
// public: no key is ever printed.
import { resolve } from 'node:path';
import {
  ADDRESS_BYTES,
  ID_BYTES,
  QkmsError,
  defaultSuite,
  fromHex,
  toHex,
  wipe,
  type CryptoSuite,
  type NodeSet,
} from '../../protocol/index.ts';
import {
  REVOCATION_KINDS,
  createRevocationBody,
  decodeRevocation,
  signRevocation,
  type RevocationBody,
  type RevocationKind,
  type RevocationRecord,
} from '../../revocation/index.ts';
import { QuorumClient } from '../../client/index.ts';
import type { RevokeResult } from '../../client/index.ts';
import { whenSlow } from '../progress.ts';
import { QUORUM_FLAG_HELP, loadQuorum } from '../quorum-file.ts';
import { parseArgs } from '../args.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { checkNewOutput, writeNewOutput } from '../files.ts';
import {
  configError,
  noPositionals,
  parseHexLine,
  printJson,
  usageError,
  type CliIo,
} from '../io.ts';
import { readAdminKey } from './admin-key.ts';

export const REVOKE_USAGE = `Usage: qkms admin revoke [--quorum FILE] --admin-key FILE [--admin-key FILE…]
         (--wallet 0xADDR | --wallet-sessions-before 0xADDR@TIME | --session KEY
          | --delegation HASH | --content ID) [--reason TEXT]
         [--out FILE] [--record FILE] [--timeout-ms MS] [--json]

Revokes a principal across the quorum (docs/admin.md):
  --wallet 0xADDR          every request of this wallet, for good
  --wallet-sessions-before 0xADDR@TIME
                           the wallet's delegations issued before TIME (ISO 8601,
                           ms since the epoch, or "now"): log out everywhere;
                           sessions it delegates afterwards work
  --session KEY            one session key (32-byte Ed25519 public key, hex)
  --delegation HASH        one delegation (its 32-byte hash, hex)
  --content ID             one content id (32 bytes, hex): nobody recovers it

The record is signed with each --admin-key (files from 'qkms admin key new').
When the node set needs more admin signatures than you hold, write the record
with --out FILE and pass it to the next admin, who runs this command with
--record FILE (and no target) to add theirs; it is sent once it carries enough.

Sends it to every node and prints what each did. "effective" means at least
n - t + 1 nodes acknowledged it durably: from then on no t nodes would serve
the revoked target. The rest converge by anti-entropy without further action.

${QUORUM_FLAG_HELP}

--json prints one object: ok (effective), record (id, kind, target in full
hex, before, issuedAt, reason, signatures), sent, effective, acknowledged,
needed, effectiveMs, nodes, out.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config, EXIT.unavailable, EXIT.output], {
  [EXIT.ok]: 'effective (or, with --out, written for the next admin to sign)',
  [EXIT.failure]: 'the nodes refused it, or an unexpected failure',
  [EXIT.config]: 'a quorum, key or record file error, or too few signatures and no --out',
  [EXIT.unavailable]: 'not effective within the timeout (default 10000 ms)',
  [EXIT.output]: '--out exists or its folder is missing (nothing was signed or sent)',
})}`;

export const REVOCATIONS_USAGE = `Usage: qkms admin revocations [--quorum FILE] [--node I] [--json]

Lists the revocation records node I (default 1) holds, each verified against
the node set's admin keys. Identifiers are shortened; --json prints
{"ok": true, "node", "count", "records"} with each record's id and target in
full hex.

${QUORUM_FLAG_HELP}

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config], {
  [EXIT.failure]: 'the node did not answer, or an unexpected failure',
})}`;

export const REVOKE_FLAGS = {
  quorum: 'string',
  'admin-key': 'list',
  wallet: 'string',
  'wallet-sessions-before': 'string',
  session: 'string',
  delegation: 'string',
  content: 'string',
  reason: 'string',
  record: 'string',
  out: 'string',
  'timeout-ms': 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

export const REVOCATIONS_FLAGS = {
  quorum: 'string',
  node: 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

const RECORD_FILE_FORMAT = 1;

function short(bytes: Uint8Array): string {
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}…${hex.slice(-4)}`;
}

function parseTime(text: string, now: number): number {
  if (text === 'now') return now;
  if (/^\d+$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw usageError(`time ${JSON.stringify(text)}: ISO 8601, ms or "now"`);
  return ms;
}

function hexFlag(value: string, flag: string, bytes: number): Uint8Array {
  try {
    return parseHexLine(value, `--${flag}`, bytes);
  } catch {
    throw usageError(`--${flag}: expected ${2 * bytes} hex digits`);
  }
}

interface TargetFlags {
  readonly wallet?: string | undefined;
  readonly 'wallet-sessions-before'?: string | undefined;
  readonly session?: string | undefined;
  readonly delegation?: string | undefined;
  readonly content?: string | undefined;
}

/** The one target the flags name. */
function parseTarget(
  v: TargetFlags,
  now: number,
): Pick<RevocationBody, 'kind' | 'target' | 'before'> | undefined {
  const given = REVOCATION_KINDS.filter((k) => v[k] !== undefined);
  if (given.length > 1)
    throw usageError(`name one target, not ${given.map((k) => `--${k}`).join(' and ')}`);
  const kind: RevocationKind | undefined = given[0];
  if (kind === undefined) return undefined;
  const value = v[kind] ?? '';
  switch (kind) {
    case 'wallet':
      return { kind, target: hexFlag(value, kind, ADDRESS_BYTES) };
    case 'wallet-sessions-before': {
      const at = value.indexOf('@');
      if (at < 0) throw usageError(`--${kind}: expected 0xADDR@TIME`);
      return {
        kind,
        target: hexFlag(value.slice(0, at), kind, ADDRESS_BYTES),
        before: parseTime(value.slice(at + 1), now),
      };
    }
    case 'session':
      return { kind, target: hexFlag(value, kind, 32) };
    case 'delegation':
    case 'content':
      return { kind, target: hexFlag(value, kind, ID_BYTES) };
  }
}

function readRecordFile(io: CliIo, suite: CryptoSuite, path: string): RevocationRecord {
  let json: unknown;
  try {
    json = JSON.parse(io.readFile(resolve(io.cwd, path)));
  } catch (e) {
    throw configError(`record file ${path}: cannot read it as JSON`, e);
  }
  const hex = (json as { record?: unknown } | null)?.record;
  if (
    (json as { qkmsRevocation?: unknown } | null)?.qkmsRevocation !== RECORD_FILE_FORMAT ||
    typeof hex !== 'string'
  )
    throw configError(`record file ${path}: expected {"qkmsRevocation": 1, "record": "<hex>"}`);
  try {
    return decodeRevocation(suite, fromHex(hex));
  } catch (e) {
    throw configError(`record file ${path}: ${e instanceof Error ? e.message : 'invalid'}`, e);
  }
}

function writeRecordFile(io: CliIo, path: string, record: RevocationRecord): string {
  const text = `${JSON.stringify({ qkmsRevocation: RECORD_FILE_FORMAT, record: toHex(record.bytes) })}\n`;
  return writeNewOutput(io, path, text, { label: '--out', secret: false });
}

interface RecordView {
  readonly id: string;
  readonly kind: RevocationKind;
  readonly target: string;
  readonly before?: string;
  readonly issuedAt: string;
  readonly reason: string;
  readonly signatures: readonly number[];
}

/** The record for a person (`full` false: shortened id and target) or for --json (in full). */
function describe(record: RevocationRecord, full: boolean): RecordView {
  const { body } = record;
  const show = full ? toHex : short;
  return {
    id: show(record.id),
    kind: body.kind,
    target: show(body.target),
    ...(body.before === undefined ? {} : { before: new Date(body.before).toISOString() }),
    issuedAt: new Date(body.issuedAt).toISOString(),
    reason: body.reason,
    signatures: record.signatures.map((s) => s.admin),
  };
}

function resultLines(result: RevokeResult, nodeSet: NodeSet): string {
  const lines = result.nodes.map((n) => {
    const detail =
      n.status === 'rejected'
        ? `rejected (${n.code ?? '?'})`
        : n.status === 'unreachable'
          ? 'unreachable'
          : `${n.status} durably`;
    const ms = n.ms === undefined ? '' : `  ${Math.round(n.ms)} ms`;
    return `node ${n.index}  ${detail}${ms}`;
  });
  const verdict = result.effective
    ? `effective: ${result.acknowledged} of ${nodeSet.nodes.length} nodes hold it (${result.needed} needed)`
    : `NOT effective: ${result.acknowledged} of ${nodeSet.nodes.length} nodes hold it, ${result.needed} needed`;
  return `${lines.join('\n')}\n${verdict}\n`;
}

export async function adminRevoke(argv: readonly string[], io: CliIo): Promise<number> {
  const { flags: v, positionals } = parseArgs(argv, REVOKE_FLAGS);
  if (v.help === true) {
    io.stdout.write(`${REVOKE_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  const suite = defaultSuite();
  const nodeSet = loadQuorum(io, suite, v.quorum);
  const timeoutMs = v['timeout-ms'] === undefined ? 10_000 : Number(v['timeout-ms']);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000)
    throw usageError('--timeout-ms: an integer in [100, 600000]');
  const now = Date.now();
  const target = parseTarget(v, now);
  const previous = v.record === undefined ? undefined : readRecordFile(io, suite, v.record);
  if ((target === undefined) === (previous === undefined))
    throw usageError('name one target (--wallet, --session, …) or give --record FILE, not both');
  if (previous !== undefined && v.reason !== undefined)
    throw usageError('--reason: the record file already has its reason');
  const keys = v['admin-key'] ?? [];
  if (keys.length === 0 && previous === undefined) throw usageError('--admin-key FILE: required');
  // Before anything is signed or sent.
  if (v.out !== undefined) checkNewOutput(io, v.out, '--out');

  const body: RevocationBody = previous?.body ?? {
    nodeSetId: nodeSet.id,
    ...(target as NonNullable<typeof target>),
    issuedAt: now,
    reason: v.reason ?? '',
  };
  // A bad flag value (a reason too long, a time out of range) is a usage error.
  createRevocationBody(body);
  const seeds: Uint8Array[] = [];
  let record: RevocationRecord;
  try {
    for (const path of keys) seeds.push(readAdminKey(resolve(io.cwd, path)));
    record = signRevocation(suite, nodeSet, body, seeds, previous);
  } catch (e) {
    // The body was checked above: what is left is a key or record file that does not fit.
    if (e instanceof QkmsError) throw configError(e.message, e);
    throw e;
  } finally {
    wipe(...seeds);
  }
  const outPath = v.out === undefined ? undefined : writeRecordFile(io, v.out, record);
  const have = record.signatures.length;
  const needed = nodeSet.admins.threshold;
  if (have < needed) {
    const message = `record ${short(record.id)} carries ${have} of ${needed} admin signatures; not sent`;
    if (v.json === true)
      printJson(io, {
        ok: outPath !== undefined,
        record: describe(record, true),
        sent: false,
        signatures: have,
        needed,
        out: outPath ?? null,
      });
    else
      io.stdout.write(
        `${message}\n${outPath === undefined ? 'write it with --out FILE and' : `written to ${outPath};`} pass it to another admin (--record FILE)\n`,
      );
    return outPath === undefined ? EXIT.config : EXIT.ok;
  }

  // Shortened, as everything printed for a person is; --json reports the id in full.
  io.stderr.write(`sending revocation ${short(record.id)} to ${nodeSet.nodes.length} nodes…\n`);
  const client = await QuorumClient.create({ nodeSet, requestTimeoutMs: timeoutMs });
  let result: RevokeResult;
  try {
    result = await client.revoke(record);
  } finally {
    await client.close();
  }
  if (v.json === true) {
    printJson(io, {
      ok: result.effective,
      record: describe(record, true),
      sent: true,
      effective: result.effective,
      acknowledged: result.acknowledged,
      needed: result.needed,
      effectiveMs: result.effectiveMs ?? null,
      nodes: result.nodes,
      out: outPath ?? null,
    });
  } else {
    io.stdout.write(
      `revocation ${short(record.id)} (${record.body.kind} ${short(record.body.target)})\n`,
    );
    io.stdout.write(resultLines(result, nodeSet));
  }
  if (result.effective) return EXIT.ok;
  const refused = result.nodes.some((n) => n.status === 'rejected' && n.code === 'BAD_REVOCATION');
  return refused ? EXIT.failure : EXIT.unavailable;
}

export async function adminRevocations(argv: readonly string[], io: CliIo): Promise<number> {
  const { flags: v, positionals } = parseArgs(argv, REVOCATIONS_FLAGS);
  if (v.help === true) {
    io.stdout.write(`${REVOCATIONS_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  const suite = defaultSuite();
  const nodeSet = loadQuorum(io, suite, v.quorum);
  const index = v.node === undefined ? 1 : Number(v.node);
  if (nodeSet.node(index) === undefined)
    throw usageError(`--node: an index between 1 and ${nodeSet.nodes.length}`);
  const client = await QuorumClient.create({ nodeSet, requestTimeoutMs: 10_000 });
  let records: RevocationRecord[];
  try {
    records = await whenSlow(
      io,
      { prefix: 'qkms admin revocations', start: `asking node ${index}`, done: 'answered' },
      () => client.revocations(index),
    );
  } finally {
    await client.close();
  }
  if (v.json === true) {
    printJson(io, {
      ok: true,
      node: index,
      count: records.length,
      records: records.map((r) => describe(r, true)),
    });
  } else {
    for (const r of records) {
      const d = describe(r, false);
      const before = d.before === undefined ? '' : ` before ${d.before}`;
      const reason = d.reason === '' ? '' : `  "${d.reason}"`;
      io.stdout.write(
        `${d.id}  ${d.kind} ${d.target}${before}  issued ${d.issuedAt}  admins ${d.signatures.join(',')}${reason}\n`,
      );
    }
    io.stdout.write(
      `node ${index} holds ${records.length} revocation${records.length === 1 ? '' : 's'}\n`,
    );
  }
  return EXIT.ok;
}
