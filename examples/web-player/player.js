// The qkms web player (README.md): a browser wallet delegates to a session,
// the session recovers the clip's content key from the quorum over
// WebSockets, and the clip is decrypted chunk by chunk with WebCrypto and
// played. Plain ESM with no build step: it imports the self-contained client
// bundle served beside it (a production player bundles @qkms/client itself).
//
// The key is recovered into a Uint8Array, imported at once into WebCrypto as
// a non-extractable AES-GCM key, and the array wiped. It is never shown,
// stored, or put in window.webPlayer (what a test reads: state, byte count,
// SHA-256 of the decrypted clip, and on failure what each node did).
/* global window, document, fetch, crypto, URL, Blob, AbortSignal */
import {
  QuorumClient,
  RecoverError,
  RevokedError,
  Session,
  protocol,
  walletFromEip1193,
} from './qkms-client.js';

/** clip.enc, format 1 (README.md, "The clip format"; clip.ts writes it). */
const CLIP = Object.freeze({
  url: './clip.enc',
  type: 'audio/wav',
  magic: 'QKMSCLP1',
  headerBytes: 56,
  tagBytes: 16,
  maxChunkBytes: 1024 * 1024,
});
/** One page view asks the wallet once: the session lives this long. */
const SESSION_LIFETIME_MS = 10 * 60_000;
/** A player wants its key, or an error to show, within this. */
const RECOVER_TIMEOUT_MS = 15_000;
/** What a user who declines a wallet prompt causes (EIP-1193 "User Rejected Request"). */
const USER_REJECTED = 4001;

const ui = {
  button: document.getElementById('connect'),
  status: document.getElementById('status'),
  steps: document.getElementById('steps'),
  nodes: document.getElementById('nodes'),
  audio: document.getElementById('audio'),
};

/** What a test (or a curious user) reads; never holds the key. */
const webPlayer = {
  state: 'loading', // loading | idle | connecting | signing | recovering | decrypting | ready | playing | error
  message: '',
  wallet: null,
  threshold: null,
  chunks: 0,
  bytes: 0,
  sha256: null,
  duration: null,
  nodes: [],
  error: null, // { kind, message, code?, reason? }
};
window.webPlayer = webPlayer;

class PlayerError extends Error {
  constructor(kind, message, options) {
    super(message, options);
    this.kind = kind;
  }
}

function setState(state, message) {
  webPlayer.state = state;
  webPlayer.message = message;
  ui.status.dataset.state = state;
  ui.status.textContent = message;
}

function step(text) {
  const li = document.createElement('li');
  li.textContent = text;
  ui.steps.append(li);
}

function showNodes(report) {
  webPlayer.nodes = report.map(({ index, outcome, code, ms }) => ({ index, outcome, code, ms }));
  ui.nodes.replaceChildren(
    ...webPlayer.nodes.map((n) => {
      const li = document.createElement('li');
      const detail = [n.code, n.ms === undefined ? undefined : `${n.ms} ms`].filter(Boolean);
      li.textContent = `node ${n.index}: ${n.outcome}${detail.length ? ` (${detail.join(', ')})` : ''}`;
      return li;
    }),
  );
  ui.nodes.hidden = false;
}

async function fetchOk(url, as) {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new PlayerError('load', `${url}: HTTP ${res.status} (run build.ts first)`);
  return as === 'bytes' ? new Uint8Array(await res.arrayBuffer()) : res.text();
}

/** The clip's header, checked against the manifest and the file's length. */
function parseClip(bytes, contentId) {
  if (bytes.length < CLIP.headerBytes) throw new PlayerError('format', 'clip.enc: too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  const chunkBytes = view.getUint32(8);
  const chunks = view.getUint32(12);
  const clipBytes = view.getBigUint64(16);
  const id = bytes.subarray(24, 56);
  if (magic !== CLIP.magic) throw new PlayerError('format', 'clip.enc: not a qkms clip (magic)');
  if (chunkBytes === 0 || chunkBytes > CLIP.maxChunkBytes || clipBytes === 0n)
    throw new PlayerError('format', 'clip.enc: chunk size or length out of range');
  if (
    clipBytes > BigInt(chunks) * BigInt(chunkBytes) ||
    chunks !== Math.ceil(Number(clipBytes) / chunkBytes)
  )
    throw new PlayerError('format', 'clip.enc: chunk count does not match its length');
  const length = CLIP.headerBytes + Number(clipBytes) + chunks * CLIP.tagBytes;
  if (bytes.length !== length)
    throw new PlayerError('format', `clip.enc: expected ${length} bytes, got ${bytes.length}`);
  if (protocol.toHex(id) !== protocol.toHex(contentId))
    throw new PlayerError('format', 'clip.enc: encrypted for another content id than the manifest');
  return {
    header: bytes.subarray(0, CLIP.headerBytes),
    chunkBytes,
    chunks,
    clipBytes: Number(clipBytes),
  };
}

/** Decrypts every chunk: nonce 0⁴ ‖ u64 i, AAD header ‖ u64 i ‖ final. Any failed tag stops it. */
async function decryptClip(key, bytes, clip) {
  const out = new Uint8Array(clip.clipBytes);
  let offset = CLIP.headerBytes;
  for (let i = 0; i < clip.chunks; i++) {
    const final = i === clip.chunks - 1;
    const plainBytes = final ? clip.clipBytes - i * clip.chunkBytes : clip.chunkBytes;
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setBigUint64(4, BigInt(i));
    const aad = new Uint8Array(CLIP.headerBytes + 9);
    aad.set(clip.header);
    new DataView(aad.buffer).setBigUint64(CLIP.headerBytes, BigInt(i));
    aad[CLIP.headerBytes + 8] = final ? 1 : 0;
    const sealed = bytes.subarray(offset, offset + plainBytes + CLIP.tagBytes);
    let plain;
    try {
      plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 },
        key,
        sealed,
      );
    } catch (e) {
      throw new PlayerError(
        'integrity',
        `chunk ${i + 1} of ${clip.chunks} failed its integrity check: the file was altered, reordered or truncated`,
        { cause: e },
      );
    }
    out.set(new Uint8Array(plain), i * clip.chunkBytes);
    offset += sealed.length;
  }
  return out;
}

async function sha256Hex(bytes) {
  return protocol.toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

/** Whether the wallet's user declined (anywhere in the cause chain). */
function userRejected(e) {
  for (let c = e; c !== undefined && c !== null; c = c.cause)
    if (c.code === USER_REJECTED) return true;
  return false;
}

function listNodes(report, outcomes) {
  const names = report
    .filter((r) => outcomes.includes(r.outcome))
    .map((r) => `node ${r.index} ${r.outcome}${r.code ? ` ${r.code}` : ''}`);
  return names.length > 0 ? names.join(', ') : 'none';
}

/** A status line for any failure: what happened, and what the user can do. */
function explain(e) {
  if (e instanceof PlayerError) return { kind: e.kind, message: e.message };
  if (userRejected(e))
    return {
      kind: 'wallet-declined',
      message: 'You declined in the wallet. Press the button to try again.',
    };
  if (e instanceof RevokedError) {
    showNodes(e.report);
    return {
      kind: 'revoked',
      code: e.code,
      reason: e.reason,
      message: `Revoked: the quorum's admins revoked this wallet, session or content (${listNodes(e.report, ['rejected'])}). Playback is not allowed.`,
    };
  }
  if (e instanceof RecoverError) {
    showNodes(e.report);
    const good = e.report.filter((r) => r.outcome === 'ok').length;
    const denied = e.report.some((r) => r.code === 'ACCESS_DENIED');
    const message =
      e.reason === 'aborted'
        ? `The quorum did not answer within ${RECOVER_TIMEOUT_MS / 1000} s (${listNodes(e.report, ['timeout', 'unreachable'])}).`
        : denied
          ? `This wallet may not play this clip: the nodes refused it (${listNodes(e.report, ['rejected'])}).`
          : `Too few nodes gave a good share: ${good} of the ${webPlayer.threshold} needed (${listNodes(e.report, ['rejected', 'wrong-share', 'unreachable', 'timeout'])}). Try again later.`;
    return { kind: 'recover', code: e.code, reason: e.reason, message };
  }
  const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : undefined;
  return { kind: 'other', code, message: `Failed: ${e instanceof Error ? e.message : String(e)}` };
}

function fail(e) {
  const error = explain(e);
  webPlayer.error = error;
  setState('error', error.message);
  step(`✗ ${error.message}`);
  // A revocation is final; anything else may be retried.
  ui.button.textContent = 'Try again';
  ui.button.disabled = error.kind === 'revoked';
}

/** Loads the node set, the manifest and the encrypted clip; enables the button. */
async function load() {
  const suite = protocol.defaultSuite();
  const [nodeSetText, manifestText, clipBytes] = await Promise.all([
    fetchOk('./nodeset.json', 'text'),
    fetchOk('./manifest.json', 'text'),
    fetchOk(CLIP.url, 'bytes'),
  ]);
  const nodeSet = protocol.parseSignedNodeSetJson(suite, nodeSetText);
  const file = JSON.parse(manifestText);
  if (file.qkmsManifest !== 1 || typeof file.cbor !== 'string')
    throw new PlayerError('format', 'manifest.json: expected {"qkmsManifest": 1, "cbor": "<hex>"}');
  const manifest = protocol.decodeManifest(protocol.fromHex(file.cbor));
  const clip = parseClip(clipBytes, manifest.body.contentId);
  webPlayer.threshold = nodeSet.threshold;
  return { nodeSet, manifest, clipBytes, clip };
}

async function play(loaded) {
  const { nodeSet, manifest, clipBytes, clip } = loaded;
  const t = nodeSet.threshold;
  const n = nodeSet.nodes.length;
  ui.button.disabled = true;
  ui.nodes.hidden = true;
  ui.steps.replaceChildren();
  webPlayer.error = null;
  let session;
  let client;
  try {
    const ethereum = window.ethereum;
    if (ethereum === undefined)
      throw new PlayerError(
        'no-wallet',
        'No browser wallet found: install a wallet extension and reload.',
      );
    setState('connecting', 'Asking your wallet for an account…');
    const accounts = await ethereum.request({ method: 'eth_requestAccounts' });
    if (!Array.isArray(accounts) || typeof accounts[0] !== 'string')
      throw new PlayerError('wallet', 'The wallet returned no account.');
    webPlayer.wallet = accounts[0];
    step(`Wallet ${accounts[0]} connected.`);

    setState(
      'signing',
      'Sign the session delegation in your wallet (it lets this page recover this clip’s key).',
    );
    session = await Session.create({
      wallet: walletFromEip1193(ethereum, accounts[0]),
      nodeSet,
      capabilities: { actions: ['recover'], content: [manifest.body.contentId] },
      lifetimeMs: SESSION_LIFETIME_MS,
    });
    step(`Session delegated until ${new Date(session.expiresAt).toLocaleTimeString()}.`);

    setState('recovering', `Recovering the key: asking ${t} of ${n} nodes over WebSockets…`);
    client = await QuorumClient.create({ nodeSet });
    const { cek, report } = await client.recover(manifest, session, {
      signal: AbortSignal.timeout(RECOVER_TIMEOUT_MS),
    });
    let key;
    try {
      key = await crypto.subtle.importKey('raw', cek, 'AES-GCM', false, ['decrypt']);
    } finally {
      cek.fill(0);
    }
    showNodes(report);
    step(`Key recovered from ${listNodes(report, ['ok'])}, and checked against the manifest.`);

    setState('decrypting', `Decrypting ${clip.chunks} chunks…`);
    const plain = await decryptClip(key, clipBytes, clip);
    webPlayer.chunks = clip.chunks;
    webPlayer.bytes = plain.length;
    webPlayer.sha256 = await sha256Hex(plain);
    step(
      `Decrypted ${plain.length} bytes; every chunk's tag checked (SHA-256 ${webPlayer.sha256.slice(0, 16)}…).`,
    );

    if (ui.audio.src.startsWith('blob:')) URL.revokeObjectURL(ui.audio.src);
    ui.audio.src = URL.createObjectURL(new Blob([plain], { type: CLIP.type }));
    await new Promise((resolve, reject) => {
      ui.audio.addEventListener('loadedmetadata', resolve, { once: true });
      ui.audio.addEventListener(
        'error',
        () => reject(new PlayerError('media', 'The browser cannot play the decrypted clip.')),
        { once: true },
      );
    });
    webPlayer.duration = ui.audio.duration;
    ui.audio.hidden = false;
    setState('ready', `Ready: ${ui.audio.duration.toFixed(1)} s. Press play.`);
    try {
      await ui.audio.play();
      setState('playing', `Playing (${ui.audio.duration.toFixed(1)} s).`);
    } catch {
      // The browser wants a fresh click on the player's own control.
    }
    ui.button.textContent = 'Play again from the quorum';
    ui.button.disabled = false;
  } catch (e) {
    fail(e);
  } finally {
    session?.destroy();
    await client?.close();
  }
}

ui.audio.addEventListener('ended', () => {
  if (webPlayer.state === 'playing') setState('ready', 'Played to the end.');
});

try {
  const loaded = await load();
  setState(
    'idle',
    `Ready to connect: a ${loaded.clip.chunks}-chunk clip whose key needs ${loaded.nodeSet.threshold} of ${loaded.nodeSet.nodes.length} nodes.`,
  );
  ui.button.disabled = false;
  ui.button.addEventListener('click', () => void play(loaded));
} catch (e) {
  fail(e);
  ui.button.disabled = true; // nothing to play: reload once the files are there
}
