// `qkms admin nodeset new`: builds the node-set document (DESIGN.md, "The
// node-set document"; docs/protocol.md §5) from the entries `qkms node init`
// prints and the admins' public keys: the file `qkms admin nodeset sign
// --document` takes. It is built with createNodeSetDocument and read back
// with parseNodeSetDocument, so it gets every check a signed node set gets;
// their errors name a field of the document, and are re-worded here to name
// the flag the field came from.
//
// --node and --admin take a file or the value itself. An error about one never
// quotes its content: an operator who passes a keystore or an admin key file
// where an entry or a public key goes must not see the secret on the terminal.
import { lstatSync } from 'node:fs';
import {
  DEFAULT_NODE_SET_PARAMS,
  ErrorCode,
  createNodeSetDocument,
  isQkmsError,
  parseNodeSetDocument,
  requireNativeSuite,
  toHex,
  type NodeSetDocument,
  type NodeSetDocumentJson,
  type NodeSetParams,
  type QkmsError,
} from '../../protocol/internal.ts';
import { parseArgs } from '../args.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { checkNewOutput, replacePublicFile, sameFile, writeNewOutput } from '../files.ts';
import {
  OutputFileError,
  abbreviate,
  configError,
  noPositionals,
  printJson,
  requiredFlag,
  requiredPath,
  usageError,
  type CliIo,
} from '../io.ts';
import {
  readAdminArg,
  readNodeArg,
  readPredecessorArg,
  type AdminKeyArg,
  type InputSource,
  type NodeEntryArg,
} from './admin-nodeset-inputs.ts';
import { MULTIADDR_PLACEHOLDER_HOST } from './node-init.ts';

export const ADMIN_NODESET_NEW_FLAGS = {
  threshold: 'string',
  node: 'list',
  multiaddr: 'list',
  admin: 'list',
  'admin-threshold': 'string',
  'siwe-domain': 'string',
  'chain-id': 'string',
  'max-grant-age-ms': 'string',
  'max-clock-skew-ms': 'string',
  'max-delegation-lifetime-ms': 'string',
  epoch: 'string',
  predecessor: 'string',
  out: 'string',
  force: 'boolean',
  json: 'boolean',
  help: 'boolean',
} as const;

const DEFAULT_EPOCH = 1;

export const ADMIN_NODESET_NEW_USAGE = `Usage: qkms admin nodeset new --threshold T --node ENTRY [--node ENTRY …]
         [--multiaddr I=ADDR …] --admin KEY [--admin KEY …] --admin-threshold K
         --siwe-domain DOMAIN --chain-id N [--max-grant-age-ms MS]
         [--max-clock-skew-ms MS] [--max-delegation-lifetime-ms MS]
         [--epoch E --predecessor NODESET] --out FILE [--force] [--json]

Builds a node-set document, the file 'qkms admin nodeset sign --document'
takes, and checks it as signing it and starting a node with it will. Nothing
is signed.

  --node ENTRY        a node: a file holding what 'qkms node init --json'
                      printed (or just its "nodeEntry" object), or the entry
                      as inline JSON. The order of the --node flags gives the
                      indexes 1..n, unless every entry has its index already.
  --multiaddr I=ADDR  an address other nodes and clients dial to reach node I
                      (1..n); the --multiaddr flags of node I replace its
                      entry's multiaddrs. An entry still holding the
                      placeholder host of 'qkms node init' is refused.
  --admin KEY         an admin's public key: the hex 'qkms admin key new'
                      printed, or a file holding it or that command's --json
                      output. Their order is the order of admins.keys.
  --threshold T       t: nodes needed to recover a key, 2..n.
  --admin-threshold K k: admin signatures a node set or a revocation needs,
                      1..the number of --admin keys.
  --siwe-domain DOMAIN
                      the SIWE domain delegations must carry (host[:port],
                      lower case).
  --chain-id N        the EIP-155 chain id delegations must carry.
  --max-grant-age-ms MS            default ${DEFAULT_NODE_SET_PARAMS.maxGrantAgeMs}
  --max-clock-skew-ms MS           default ${DEFAULT_NODE_SET_PARAMS.maxClockSkewMs}
  --max-delegation-lifetime-ms MS  default ${DEFAULT_NODE_SET_PARAMS.maxDelegationLifetimeMs}
  --epoch E           default ${DEFAULT_EPOCH}, the first node set of a quorum; with
                      --predecessor, the epoch after it.
  --predecessor NODESET
                      for epoch 2 on: the node set this one follows, a
                      node-set file (or its nodeSetId in hex).
  --out FILE          where the document goes (JSON, mode 0644). An existing
                      file is replaced only with --force.

Prints the node-set id, t of n, the nodes and the command that signs it;
--json prints one JSON object instead: ok, file, nodeSetId, epoch,
predecessor (from epoch 2), threshold, nodes (index, peerId, multiaddrs),
admins (threshold, count), params, next.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config, EXIT.output], {
  [EXIT.ok]: 'written',
  [EXIT.usage]: 'a flag missing or out of range (a threshold above n, a malformed domain, …)',
  [EXIT.config]: 'a --node or --admin that cannot be read, or is not a node entry or public key',
  [EXIT.output]: '--out exists (without --force), or cannot be written',
})}`;

const DECIMAL_INT = /^(?:0|[1-9][0-9]{0,15})$/;

/** The flag behind each document field, as a document error names it ("document.threshold"). */
const FIELD_FLAGS: Readonly<Record<string, string>> = {
  '.epoch': '--epoch',
  '.predecessor': '--predecessor',
  '.threshold': '--threshold',
  '.nodes': '--node',
  '.admins.threshold': '--admin-threshold',
  '.admins.keys': '--admin',
  '.params.maxGrantAgeMs': '--max-grant-age-ms',
  '.params.maxClockSkewMs': '--max-clock-skew-ms',
  '.params.maxDelegationLifetimeMs': '--max-delegation-lifetime-ms',
  '.params.siweDomain': '--siwe-domain',
  '.params.chainId': '--chain-id',
};

/** A whole number flag; its range is the document's to check. */
function intFlag(value: string | undefined, flag: string, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const text = requiredFlag(value, flag);
  const n = Number(text);
  if (!DECIMAL_INT.test(text) || !Number.isSafeInteger(n)) {
    throw usageError(
      `--${flag}: expected a whole number, got ${JSON.stringify(text.slice(0, 32))}`,
    );
  }
  return n;
}

/** Each entry's index: the one it carries (all must, 1..n once each), or its --node position. */
function assignIndexes(entries: readonly NodeEntryArg[]): number[] {
  const n = entries.length;
  const carried = entries.filter((e) => e.index !== undefined);
  if (carried.length === 0) return entries.map((_, i) => i + 1);
  const missing = entries.find((e) => e.index === undefined);
  if (missing !== undefined) {
    throw configError(
      `${missing.label}: has no index, but ${carried[0]?.label} has one; give every --node its index 1..${n}, or none (their order then numbers them)`,
    );
  }
  const owner = new Map<number, string>();
  return entries.map((e) => {
    const index = e.index ?? 0;
    if (index > n) {
      throw configError(
        `${e.label}: has index ${index}, outside 1..${n} (there are ${n} --node entries)`,
      );
    }
    const other = owner.get(index);
    if (other !== undefined) throw configError(`${e.label}: has index ${index}, as ${other} does`);
    owner.set(index, e.label);
    return index;
  });
}

/** --multiaddr I=ADDR flags, by node index. */
function readMultiaddrs(values: readonly string[], n: number): Map<number, string[]> {
  const byIndex = new Map<number, string[]>();
  for (const value of values) {
    const match = /^([1-9][0-9]{0,2})=(.+)$/s.exec(value);
    if (match === null) {
      throw usageError(
        `--multiaddr: expected INDEX=MULTIADDR (as 2=/dns4/node2.example/tcp/7101), got ${JSON.stringify(value.slice(0, 64))}`,
      );
    }
    const index = Number(match[1]);
    if (index > n) {
      throw usageError(`--multiaddr ${index}=…: there is no node ${index} (the nodes are 1..${n})`);
    }
    const list = byIndex.get(index) ?? [];
    list.push(match[2] ?? '');
    byIndex.set(index, list);
  }
  return byIndex;
}

/** A document error (INVALID_NODE_SET, naming a field) re-worded to name the flag behind it. */
function flagError(
  e: QkmsError,
  nodes: readonly NodeEntryArg[],
  admins: readonly AdminKeyArg[],
): QkmsError {
  const match = /^document((?:\.\w+|\[\d+\])*): (.*)$/s.exec(e.message);
  const path = match?.[1] ?? '';
  const rest = match?.[2] ?? e.message;
  const name = (sources: readonly InputSource[], list: string) => (text: string) =>
    text.replace(new RegExp(`\\b${list}\\[(\\d+)\\]`, 'g'), (all, i: string) => {
      return sources[Number(i)]?.label ?? all;
    });
  const node = /^\.nodes\[(\d+)\](?:\.(.+))?$/.exec(path);
  if (node !== null) {
    const label = nodes[Number(node[1])]?.label ?? '--node';
    const field = node[2] === undefined ? '' : `${node[2]}: `;
    return configError(`${label}: ${field}${name(nodes, 'nodes')(rest)}`, e);
  }
  const admin = /^\.admins\.keys\[(\d+)\]$/.exec(path);
  if (admin !== null) {
    const label = admins[Number(admin[1])]?.label ?? '--admin';
    return configError(`${label}: ${name(admins, 'keys')(rest)}`, e);
  }
  const flag = Object.hasOwn(FIELD_FLAGS, path) ? FIELD_FLAGS[path] : undefined;
  if (flag === undefined) return configError(`the document: ${e.message}`, e);
  const bound =
    path === '.threshold'
      ? `, at most the ${nodes.length} --node entries`
      : path === '.admins.threshold'
        ? `, at most the ${admins.length} --admin keys`
        : '';
  return usageError(`${flag}: ${rest}${bound}`);
}

function taken(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function report(out: string, doc: NodeSetDocument, next: string): string {
  const { params } = doc;
  return [
    `Wrote ${out}: a node-set document, not signed yet.`,
    '',
    `  Node set    ${toHex(doc.id)}`,
    `  Epoch       ${doc.epoch}, threshold ${doc.threshold} of ${doc.nodes.length} nodes`,
    ...(doc.predecessor === undefined ? [] : [`  Follows     ${toHex(doc.predecessor)}`]),
    `  Admins      ${doc.admins.threshold} of ${doc.admins.keys.length} must sign: ${doc.admins.keys.map((k) => abbreviate(toHex(k))).join(', ')}`,
    `  SIWE        domain ${params.siweDomain}, chain id ${params.chainId}`,
    `  Limits      grant age ${params.maxGrantAgeMs} ms, clock skew ${params.maxClockSkewMs} ms, delegation lifetime ${params.maxDelegationLifetimeMs} ms`,
    '',
    'Nodes:',
    ...doc.nodes.map(
      (n) => `  ${String(n.index).padStart(3)}  ${n.peerId}  ${n.multiaddrs.join(' ')}`,
    ),
    '',
    'Review it; then each admin signs it (the first without --signed, the next with --signed NODESET_FILE):',
    `  ${next}`,
    '',
  ].join('\n');
}

/** Runs `qkms admin nodeset new ARGS`. */
export function adminNodeSetNew(argv: readonly string[], io: CliIo): number {
  const { flags, positionals } = parseArgs(argv, ADMIN_NODESET_NEW_FLAGS);
  if (flags.help) {
    io.stdout.write(`${ADMIN_NODESET_NEW_USAGE}\n`);
    return EXIT.ok;
  }
  noPositionals(positionals);
  const nodeArgs = flags.node ?? [];
  const adminArgs = flags.admin ?? [];
  if (nodeArgs.length === 0) throw usageError('--node ENTRY: required, once per node');
  if (adminArgs.length === 0) throw usageError('--admin KEY: required, once per admin');
  const threshold = intFlag(flags.threshold, 'threshold');
  const adminThreshold = intFlag(flags['admin-threshold'], 'admin-threshold');
  const siweDomain = requiredFlag(flags['siwe-domain'], 'siwe-domain');
  const chainId = intFlag(flags['chain-id'], 'chain-id');
  const { maxGrantAgeMs, maxClockSkewMs, maxDelegationLifetimeMs } = DEFAULT_NODE_SET_PARAMS;
  const params: NodeSetParams = {
    maxGrantAgeMs: intFlag(flags['max-grant-age-ms'], 'max-grant-age-ms', maxGrantAgeMs),
    maxClockSkewMs: intFlag(flags['max-clock-skew-ms'], 'max-clock-skew-ms', maxClockSkewMs),
    maxDelegationLifetimeMs: intFlag(
      flags['max-delegation-lifetime-ms'],
      'max-delegation-lifetime-ms',
      maxDelegationLifetimeMs,
    ),
    siweDomain,
    chainId,
  };
  const out = requiredPath(io, flags.out, '--out');
  if (!flags.force) {
    if (taken(out)) {
      throw new OutputFileError(
        `--out ${out} already exists; refusing to overwrite it (--force replaces it)`,
      );
    }
    checkNewOutput(io, out, '--out');
  }

  const nodes = nodeArgs.map((value, i) => readNodeArg(io, value, i + 1));
  const admins = adminArgs.map((value, i) => readAdminArg(io, value, i + 1));
  const suite = requireNativeSuite();
  const predecessor =
    flags.predecessor === undefined
      ? undefined
      : readPredecessorArg(io, suite, requiredFlag(flags.predecessor, 'predecessor'));
  const after = predecessor?.epoch === undefined ? undefined : predecessor.epoch + 1;
  const epoch = intFlag(flags.epoch, 'epoch', after ?? DEFAULT_EPOCH);
  if (after !== undefined && epoch !== after) {
    throw usageError(
      `--epoch: expected ${after}, the epoch after ${predecessor?.label}, got ${epoch}`,
    );
  }
  for (const input of [...nodes, ...admins, ...(predecessor === undefined ? [] : [predecessor])]) {
    if (input.path !== undefined && sameFile(out, input.path)) {
      throw new OutputFileError(`--out ${out}: is ${input.label}; refusing to overwrite an input`);
    }
  }
  const indexes = assignIndexes(nodes);
  const addrs = readMultiaddrs(flags.multiaddr ?? [], nodes.length);
  const inputs = nodes.map((node, i) => {
    const index = indexes[i] ?? 0;
    const multiaddrs = addrs.get(index) ?? node.multiaddrs;
    if (multiaddrs.some((a) => a.includes(MULTIADDR_PLACEHOLDER_HOST))) {
      throw configError(
        `${node.label}: its multiaddrs still hold the placeholder host ${MULTIADDR_PLACEHOLDER_HOST} of 'qkms node init'; give node ${index}'s address with --multiaddr ${index}=/dns4/HOST/tcp/7101, or edit the entry`,
      );
    }
    return { index, peerId: node.peerId, multiaddrs, kemPublicKey: node.kemPublicKey };
  });

  let json: NodeSetDocumentJson;
  let doc: NodeSetDocument;
  try {
    json = createNodeSetDocument({
      epoch,
      ...(predecessor === undefined ? {} : { predecessor: predecessor.id }),
      threshold,
      nodes: inputs,
      admins: { threshold: adminThreshold, keys: admins.map((a) => a.key) },
      params,
    });
    doc = parseNodeSetDocument(suite, json);
  } catch (e) {
    if (isQkmsError(e, ErrorCode.INVALID_NODE_SET)) throw flagError(e, nodes, admins);
    throw e;
  }

  const text = `${JSON.stringify(json, null, 2)}\n`;
  if (!flags.force) {
    writeNewOutput(io, out, text, { label: '--out', secret: false });
  } else {
    try {
      replacePublicFile(out, text, `--out ${out}`);
    } catch (e) {
      if (!isQkmsError(e, ErrorCode.CONFIG_INVALID)) throw e;
      throw new OutputFileError(e.message, { cause: e });
    }
  }

  const next = `qkms admin nodeset sign --document ${out} --admin-key ADMIN_KEY_FILE --out NODESET_FILE`;
  if (flags.json) {
    printJson(io, {
      ok: true,
      file: out,
      nodeSetId: toHex(doc.id),
      epoch: doc.epoch,
      ...(doc.predecessor === undefined ? {} : { predecessor: toHex(doc.predecessor) }),
      threshold: doc.threshold,
      nodes: doc.nodes.map((n) => ({ index: n.index, peerId: n.peerId, multiaddrs: n.multiaddrs })),
      admins: { threshold: doc.admins.threshold, count: doc.admins.keys.length },
      params: doc.params,
      next,
    });
  } else {
    io.stdout.write(report(out, doc, next));
  }
  return EXIT.ok;
}
