// The recover test page: what a player runtime does in a browser, with the
// client bundle the build ships (/qkms-client.js, deploy/packages/browser-bundle.ts)
// and the wallet the page finds at window.ethereum (EIP-1193). The test or
// the benchmark drives it through window.qkmsTest with page.evaluate; every
// function answers with plain data (structured-clone safe). A recovered CEK
// leaves the page only as hex in the answer to the caller that asked for it,
// and is wiped here at once.
/* global window, document, performance */
import {
  QuorumClient,
  Session,
  protocol,
  walletFromEip1193,
  webRTCDirect,
  webSockets,
} from '/qkms-client.js';

/** The delegation a session asks the wallet for: an hour, recover only. */
const SESSION_LIFETIME_MS = 3_600_000;

let client;
let session;
let nodeSet;

function plainReport(report) {
  return report.map((r) => ({
    index: r.index,
    peerId: r.peerId,
    outcome: r.outcome,
    ...(r.code === undefined ? {} : { code: r.code }),
    ...(r.ms === undefined ? {} : { ms: r.ms }),
    ...(r.retried === true ? { retried: true } : {}),
  }));
}

/** What a caller sees of a failure: the error's class name, code, reason, message and node report. */
function plainError(e) {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), report: [] };
  return {
    name: e.name,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.reason === 'string' ? { reason: e.reason } : {}),
    message: e.message,
    report: Array.isArray(e.report) ? plainReport(e.report) : [],
  };
}

function need(value, what) {
  if (value === undefined) throw new Error(`qkmsTest: call ${what} first`);
  return value;
}

async function recoverOnce(manifest) {
  const started = performance.now();
  const { cek, report } = await need(client, 'setup').recover(
    manifest,
    need(session, 'createSession'),
  );
  const elapsedMs = performance.now() - started;
  try {
    return { cekHex: protocol.toHex(cek), report, elapsedMs };
  } finally {
    cek.fill(0);
  }
}

window.qkmsTest = Object.freeze({
  /**
   * Pins the node set (the signed JSON the admins published) and starts a
   * client on it; `webrtcDirect: true` dials WebRTC-direct as well as
   * WebSockets (an opt-in transport).
   */
  async setup(nodeSetJson, options = {}) {
    session?.destroy();
    await client?.close();
    nodeSet = protocol.parseSignedNodeSetJson(protocol.defaultSuite(), nodeSetJson);
    const { webrtcDirect = false, ...rest } = options;
    const transports = webrtcDirect ? { transports: [webSockets(), webRTCDirect()] } : {};
    client = await QuorumClient.create({ nodeSet, ...rest, ...transports });
    return { nodes: nodeSet.nodes.length, threshold: nodeSet.threshold };
  },

  /** A session delegated by the page's wallet (window.ethereum): the wallet signs once. */
  async createSession() {
    const [address] = await window.ethereum.request({ method: 'eth_requestAccounts' });
    session?.destroy();
    session = await Session.create({
      wallet: walletFromEip1193(window.ethereum, address),
      nodeSet: need(nodeSet, 'setup'),
      capabilities: { actions: ['recover'], content: 'all' },
      lifetimeMs: SESSION_LIFETIME_MS,
    });
    return { address: session.address };
  },

  /**
   * Recovers the CEK of a manifest (its canonical bytes, hex: encodeManifest).
   * { ok: true, cekHex, report, elapsedMs } or { ok: false, error, elapsedMs }.
   */
  async recover(manifestHex) {
    const started = performance.now();
    try {
      const manifest = protocol.decodeManifest(protocol.fromHex(manifestHex));
      const { cekHex, report, elapsedMs } = await recoverOnce(manifest);
      return { ok: true, cekHex, report: plainReport(report), elapsedMs };
    } catch (e) {
      return { ok: false, error: plainError(e), elapsedMs: performance.now() - started };
    }
  },

  /**
   * `count` recovers one after another, each timed in the page. Every CEK is
   * compared with the first; the CEKs themselves never leave the page.
   */
  async recoverMany(manifestHex, count) {
    const manifest = protocol.decodeManifest(protocol.fromHex(manifestHex));
    const latencies = [];
    let errors = 0;
    let mismatches = 0;
    let firstError;
    let first;
    const begin = performance.now();
    for (let i = 0; i < count; i++) {
      try {
        const { cekHex, elapsedMs } = await recoverOnce(manifest);
        first ??= cekHex;
        if (cekHex === first) latencies.push(elapsedMs);
        else mismatches += 1;
      } catch (e) {
        errors += 1;
        firstError ??= plainError(e);
      }
    }
    return {
      latencies,
      errors,
      mismatches,
      elapsedMs: performance.now() - begin,
      ...(firstError === undefined ? {} : { firstError }),
    };
  },

  /** Drops the session's keys and stops the client. */
  async close() {
    session?.destroy();
    session = undefined;
    await client?.close();
    client = undefined;
  },
});

document.getElementById('status').textContent = 'ready';
