// `qkms node init`: creates a node's keystore and prints its public part —
// what the node-set admin needs to add the node to a quorum. The secrets never
// reach stdout, stderr or a log.
import { resolve } from 'node:path';
import { requireNativeSuite } from '../../protocol/index.ts';
import {
  WEBRTC_CERT_FILE,
  initKeystore,
  loadOrCreateWebRtcCertificate,
  type InitKeystoreResult,
} from '../../node/index.ts';
import {
  PASSPHRASE_ENV,
  PASSPHRASE_FILE_ENV,
  resolvePassphrase,
  type PassphraseSource,
} from '../node-options.ts';
import { parseArgs } from '../args.ts';
import { SCRYPT_NOTE, stepSync } from '../progress.ts';
import { EXIT, exitCodeHelp } from '../exit.ts';
import { abbreviate, configError, jsonLine, noPositionals, usageError, type CliIo } from '../io.ts';

export const NODE_INIT_USAGE = `Usage: qkms node init --dir DIR [--passphrase-file FILE] [--json]

Creates the node's keystore DIR/keystore.json (file mode 0600; DIR is created
0700): its libp2p identity (Ed25519), its KEM key (X-Wing) that publishers seal
shares to, and its storage key. Refuses to replace an existing keystore.

The secrets are encrypted (scrypt + AES-256-GCM) with the passphrase from
${PASSPHRASE_ENV} or from --passphrase-file FILE (or ${PASSPHRASE_FILE_ENV}); with
none, they are stored
unencrypted, protected by the file mode only (a warning says so).

Prints the node's PeerId, public keys and its entry for the node set's "nodes"
array, to send to the node-set admin; --json prints one JSON object instead.

${exitCodeHelp([EXIT.ok, EXIT.failure, EXIT.usage, EXIT.config], {
  [EXIT.ok]: 'created',
  [EXIT.config]: 'a passphrase or keystore error (an existing keystore is never replaced)',
})}`;

export const NODE_INIT_FLAGS = {
  dir: 'string',
  'passphrase-file': 'string',
  json: 'boolean',
  help: 'boolean',
  // Recognized only to refuse it with the reason.
  passphrase: 'string',
} as const;

/** The host of the placeholder multiaddr: `admin nodeset new` refuses an entry still holding it. */
export const MULTIADDR_PLACEHOLDER_HOST = 'REPLACE-WITH-THIS-NODE-HOSTNAME';
/** Placeholder the admin must replace: the hostname other nodes and clients dial. */
const MULTIADDR_PLACEHOLDER = `/dns4/${MULTIADDR_PLACEHOLDER_HOST}/tcp/7101`;

/**
 * The node's entry for the node set's "nodes" array. Index 0 is a deliberate
 * placeholder: the node-set parser refuses it until the admin assigns 1..n.
 */
function nodeEntry(result: InitKeystoreResult): Readonly<Record<string, unknown>> {
  return {
    index: 0,
    peerId: result.publicInfo.peerId,
    multiaddrs: [MULTIADDR_PLACEHOLDER],
    kemPublicKey: result.publicInfo.kemPublicKey,
  };
}

function humanReport(result: InitKeystoreResult, certhash: string): string {
  const { publicInfo } = result;
  return [
    `Created ${result.path} (${result.encrypted ? 'encrypted with the passphrase' : 'NOT encrypted'}).`,
    '',
    `  PeerId          ${publicInfo.peerId}`,
    `  Node key        ${publicInfo.nodePublicKey} (Ed25519, the libp2p identity)`,
    `  KEM public key  ${abbreviate(publicInfo.kemPublicKey)} (X-Wing, ${publicInfo.kemPublicKey.length / 2} bytes; in full below)`,
    `  WebRTC-direct   certhash ${certhash} (${WEBRTC_CERT_FILE}; for browsers, list /ip4/PUBLIC-IP/udp/PORT/webrtc-direct/certhash/${certhash})`,
    '',
    'Send this entry to the node-set admin for the "nodes" array. They set "index"',
    '(1..n) and the multiaddrs other nodes and clients dial to reach this node:',
    '',
    JSON.stringify(nodeEntry(result), null, 2),
    '',
  ].join('\n');
}

function jsonReport(result: InitKeystoreResult, certhash: string): string {
  return jsonLine({
    ok: true,
    keystore: result.path,
    encrypted: result.encrypted,
    peerId: result.publicInfo.peerId,
    nodePublicKey: result.publicInfo.nodePublicKey,
    kemPublicKey: result.publicInfo.kemPublicKey,
    webrtcCerthash: certhash,
    nodeEntry: nodeEntry(result),
  });
}

/** Runs `qkms node init ARGS`; throws QkmsError (mapped to an exit code by main). */
export async function nodeInit(argv: readonly string[], io: CliIo): Promise<number> {
  const { flags, positionals } = parseArgs(argv, NODE_INIT_FLAGS);
  if (flags.help) {
    io.stdout.write(`${NODE_INIT_USAGE}\n`);
    return EXIT.ok;
  }
  if (flags.passphrase !== undefined) {
    throw usageError(
      `--passphrase: a passphrase on the command line is visible to other users (ps); use ${PASSPHRASE_ENV} or --passphrase-file FILE`,
    );
  }
  noPositionals(positionals);
  if (flags.dir === undefined) throw usageError('--dir DIR: required');
  if (flags.dir === '') throw usageError('--dir: expected a directory, got ""');

  const envPassphrase = io.env[PASSPHRASE_ENV];
  if (envPassphrase === '') {
    throw configError(`${PASSPHRASE_ENV}: is set but empty`);
  }
  // The same sources as `node start`: a flag beats QKMS_PASSPHRASE_FILE, and a
  // file beside QKMS_PASSPHRASE is ambiguous. Honouring the variable here too
  // means an operator whose environment names a file never gets a clear
  // keystore by surprise.
  let source: PassphraseSource = { kind: 'none' };
  const fileFlag = flags['passphrase-file'];
  const fileEnv = io.env[PASSPHRASE_FILE_ENV];
  const file =
    fileFlag !== undefined
      ? { path: fileFlag, origin: '--passphrase-file' }
      : fileEnv !== undefined
        ? { path: fileEnv, origin: PASSPHRASE_FILE_ENV }
        : undefined;
  if (file !== undefined) {
    if (envPassphrase !== undefined) {
      throw configError(
        `${file.origin}: ${PASSPHRASE_ENV} is also set; give the passphrase one way`,
      );
    }
    if (file.path === '') {
      throw configError(`${file.origin}: expected a file, got ""`);
    }
    source = { kind: 'file', path: resolve(io.cwd, file.path), origin: file.origin };
  } else if (envPassphrase !== undefined) {
    source = { kind: 'env', variable: PASSPHRASE_ENV };
  }
  const passphrase = resolvePassphrase(source, io);

  const dir = resolve(io.cwd, flags.dir);
  const create = (): InitKeystoreResult =>
    initKeystore(dir, { suite: requireNativeSuite(), passphrase });
  // Without a passphrase there is no scrypt: creating the keystore is instant.
  const result =
    passphrase === undefined
      ? create()
      : stepSync(
          io,
          {
            prefix: 'qkms node init',
            start: `encrypting the keystore (${SCRYPT_NOTE})`,
            done: 'keystore encrypted',
          },
          create,
        );
  if (!result.encrypted) {
    io.stderr.write(
      `qkms: warning: no passphrase (${PASSPHRASE_ENV} or --passphrase-file); the keystore is stored unencrypted, protected only by its file mode 0600\n`,
    );
  }
  // The WebRTC-direct certificate now, so the admin can pin its hash in the node set
  // before the node first starts (it keeps the file: node/network/webrtc-cert.ts).
  const { certhash } = await loadOrCreateWebRtcCertificate(dir);
  io.stdout.write(flags.json ? jsonReport(result, certhash) : humanReport(result, certhash));
  return EXIT.ok;
}
