// The cutover coordinator (decision 0017): hands a quorum from its node set
// to the successor once every new node holds every content. The signed
// record goes first to the nodes that join (they restart to promote their
// shares), then to the nodes that stay, one at a time, each waited for until
// it serves the successor, then to the nodes that retire. So at every moment
// t nodes of the old set or t' of the new one serve, and a client that
// follows the chain (client/) never finds neither.
import {
  ErrorCode,
  METHODS,
  decodeMessage,
  encodeMessage,
  isQkmsError,
  parseSignedNodeSetJson,
  type CryptoSuite,
  type CutoverState,
  type NodeEntry,
  type NodeSet,
} from '../../protocol/internal.ts';
import type { HandoverSide, SendFrame } from './coordinator.ts';

/** How a node of either set came out of the cutover. */
export interface CutoverNodeReport {
  /** joins: only in the new set; stays: in both; retires: only in the old one. */
  readonly role: 'joins' | 'stays' | 'retires';
  /** Its index in the new set (joins, stays) or the old one (retires). */
  readonly index: number;
  /** What the node answered, or undefined when it did not take the record. */
  readonly state?: CutoverState;
  /** For a node that joins or stays: it was seen serving the new set after its restart. */
  readonly serving: boolean;
  /** Why it did not take it or was not seen serving, for a person. */
  readonly error?: string;
}

export interface CutoverOptions {
  readonly suite: CryptoSuite;
  readonly from: HandoverSide;
  readonly to: HandoverSide;
  /** encodeCutoverRecord of the admins' record. */
  readonly record: Uint8Array;
  /** Signed files of the sets before `from`, oldest first (nodeSetFilesBefore). */
  readonly ancestors: readonly Uint8Array[];
  readonly send: SendFrame;
  /** How long to wait for one node to come back serving the new set (ms). */
  readonly restartTimeoutMs?: number;
  readonly onNode?: (report: CutoverNodeReport) => void;
}

const DEFAULT_RESTART_TIMEOUT_MS = 60_000;
const POLL_MS = 250;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function errorText(e: unknown): string {
  return isQkmsError(e) || e instanceof Error ? e.message : typeof e;
}

/** The signed files a node says it served, or undefined when it does not answer so. */
async function servedFiles(
  send: SendFrame,
  node: NodeEntry,
): Promise<readonly Uint8Array[] | undefined> {
  try {
    const answer = decodeMessage(
      await send(node, encodeMessage({ type: 'node-set' })),
      METHODS.reshare.maxReplyBytes,
      ['node-set-ok', 'reject'],
    );
    return answer.type === 'node-set-ok' ? answer.files : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The files of the sets before `set`, oldest first, as the first of its nodes
 * that answers lists them (empty for a first set). The nodes that join check
 * them link by link; nothing here is trusted.
 */
export async function nodeSetFilesBefore(
  suite: CryptoSuite,
  send: SendFrame,
  set: NodeSet,
): Promise<readonly Uint8Array[]> {
  if (set.predecessor === undefined) return [];
  for (const node of set.nodes) {
    const files = await servedFiles(send, node);
    if (files === undefined) continue;
    const at = files.findIndex((f) => {
      try {
        return suite.equalBytes(parseSignedNodeSetJson(suite, utf8.decode(f)).id, set.id);
      } catch {
        return false;
      }
    });
    if (at > 0) return files.slice(0, at);
  }
  return [];
}

/** The id of the set a node says it serves (the last of its `node-set` files), or undefined. */
export async function servedSetId(
  suite: CryptoSuite,
  send: SendFrame,
  node: NodeEntry,
): Promise<Uint8Array | undefined> {
  const last = (await servedFiles(send, node))?.at(-1);
  if (last === undefined) return undefined;
  try {
    return parseSignedNodeSetJson(suite, utf8.decode(last)).id;
  } catch {
    return undefined;
  }
}

export async function runCutover(options: CutoverOptions): Promise<readonly CutoverNodeReport[]> {
  const { suite, from, to, send } = options;
  const restartTimeoutMs = options.restartTimeoutMs ?? DEFAULT_RESTART_TIMEOUT_MS;
  const frame = encodeMessage({
    type: 'reshare-cutover',
    record: options.record,
    from: from.file,
    to: to.file,
    ancestors: options.ancestors,
  });
  const inSet = (set: NodeSet, node: NodeEntry): boolean =>
    set.nodes.some((n) => n.peerId === node.peerId);
  const reports: CutoverNodeReport[] = [];
  const report = (r: CutoverNodeReport): CutoverNodeReport => {
    reports.push(r);
    options.onNode?.(r);
    return r;
  };

  const cut = async (node: NodeEntry, role: CutoverNodeReport['role']): Promise<void> => {
    let state: CutoverState;
    try {
      const answer = decodeMessage(await send(node, frame), METHODS.reshare.maxReplyBytes, [
        'reshare-cutover-ok',
        'reject',
      ]);
      if (answer.type === 'reject') {
        report({ role, index: node.index, serving: false, error: answer.code });
        return;
      }
      state = answer.state;
    } catch (e) {
      // A node that restarted before its answer left took the record: ask what it serves.
      if (role !== 'retires' && (await waitServing(node, 0))) {
        report({ role, index: node.index, state: 'serving', serving: true });
        return;
      }
      report({ role, index: node.index, serving: false, error: errorText(e) });
      return;
    }
    if (role === 'retires') {
      report({ role, index: node.index, state, serving: false });
      return;
    }
    const serving = await waitServing(node, restartTimeoutMs);
    report({
      role,
      index: node.index,
      state,
      serving,
      ...(serving
        ? {}
        : { error: `not serving the new set ${restartTimeoutMs} ms after the cutover` }),
    });
  };

  const waitServing = async (node: NodeEntry, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const id = await servedSetId(suite, send, node);
      if (id !== undefined && suite.equalBytes(id, to.set.id)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };

  const joining = to.set.nodes.filter((n) => !inSet(from.set, n));
  await Promise.all(joining.map((n) => cut(n, 'joins')));
  for (const n of to.set.nodes.filter((m) => inSet(from.set, m))) await cut(n, 'stays');
  await Promise.all(from.set.nodes.filter((n) => !inSet(to.set, n)).map((n) => cut(n, 'retires')));
  return reports;
}

/** Whether a node refused because the record or files do not authorise the cutover. */
export function refusedAsDenied(report: CutoverNodeReport): boolean {
  return report.error?.startsWith(ErrorCode.RESHARE_DENIED) === true;
}
