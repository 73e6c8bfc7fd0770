// The node's WebRTC-direct certificate (issue 15). A browser dials
// `/ip4/IP/udp/PORT/webrtc-direct/certhash/H/p2p/ID` and checks the DTLS
// certificate against H, so no CA is involved — and H must stay the same
// for as long as the node set lists it. @libp2p/webrtc makes a new
// certificate at every start unless given one, so the node keeps its own:
// DIR/webrtc-direct.pem, the PKCS#8 key and the self-signed certificate,
// mode 0600 (secret-file.ts), created on first use. The certificate does
// not authenticate the node: Noise inside the connection proves its PeerId,
// as on every transport; the certhash only lets the browser complete DTLS.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { base64url } from '@scure/base';
import { ErrorCode, QkmsError } from '../../protocol/internal.ts';
import { readSecretFile, writeNewSecretFile } from '../secret-file.ts';

export const WEBRTC_CERT_FILE = 'webrtc-direct.pem';
/** Browsers do not check a WebRTC peer certificate's dates; ten years keeps the certhash in the node set stable. */
const VALIDITY_MS = 10 * 365 * 24 * 3_600_000;
const MAX_PEM_BYTES = 16 * 1024;

/** What @libp2p/webrtc's webRTCDirect({ certificate }) takes. */
export interface WebRtcCertificate {
  /** PKCS#8 private key, PEM. */
  readonly privateKey: string;
  /** The certificate, PEM. */
  readonly pem: string;
  /** multibase base64url of the sha2-256 multihash of the certificate's DER: the multiaddr's /certhash. */
  readonly certhash: string;
}

const KEY_PEM = /-----BEGIN PRIVATE KEY-----[A-Za-z0-9+/=\s]+-----END PRIVATE KEY-----/;
const CERT_PEM = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/;

function invalid(path: string, why: string): QkmsError {
  return new QkmsError(ErrorCode.KEYSTORE_INVALID, `${path}: ${why}`);
}

function pemBody(pem: string): Uint8Array {
  const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return Uint8Array.from(Buffer.from(body, 'base64'));
}

/** The /certhash value of a PEM certificate. */
export function certhashOf(certPem: string): string {
  const digest = createHash('sha256').update(pemBody(certPem)).digest();
  // multihash: sha2-256 (0x12), 32 bytes; multibase 'u': base64url without padding.
  const multihash = Uint8Array.from([0x12, 0x20, ...digest]);
  return `u${base64url.encode(multihash).replace(/=+$/, '')}`;
}

async function createCertificate(): Promise<{ privateKey: string; pem: string }> {
  // Loaded only here, on a node's first WebRTC-direct start: @peculiar/x509 and its
  // reflect-metadata are a few hundred modules every other start need not load.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  // Node's own WebCrypto, passed per call: x509's global provider is shared
  // with @libp2p/webrtc, which sets its own.
  const crypto = globalThis.crypto;
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex'),
      name: 'CN=qkms webrtc-direct',
      notBefore,
      notAfter: new Date(notBefore.getTime() + VALIDITY_MS),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      keys,
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
    },
    crypto,
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const lines =
    Buffer.from(pkcs8)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  pkcs8.fill(0);
  return {
    privateKey: ['-----BEGIN PRIVATE KEY-----', ...lines, '-----END PRIVATE KEY-----'].join('\n'),
    pem: cert.toString('pem'),
  };
}

/** Reads DIR/webrtc-direct.pem. */
export function readWebRtcCertificate(dir: string): WebRtcCertificate {
  const path = join(dir, WEBRTC_CERT_FILE);
  const text = readSecretFile(path, { maxBytes: MAX_PEM_BYTES });
  const privateKey = KEY_PEM.exec(text)?.[0];
  const pem = CERT_PEM.exec(text)?.[0];
  if (privateKey === undefined) throw invalid(path, 'no PEM private key');
  if (pem === undefined) throw invalid(path, 'no PEM certificate');
  return { privateKey, pem, certhash: certhashOf(pem) };
}

/** Reads DIR/webrtc-direct.pem, creating it first (mode 0600) if the node has none. */
export async function loadOrCreateWebRtcCertificate(dir: string): Promise<WebRtcCertificate> {
  const path = join(dir, WEBRTC_CERT_FILE);
  if (!existsSync(path)) {
    const created = await createCertificate();
    writeNewSecretFile(path, `${created.privateKey}\n${created.pem}\n`, {
      randomSuffix: Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(6))).toString(
        'hex',
      ),
      what: 'a WebRTC-direct certificate',
    });
  }
  return readWebRtcCertificate(dir);
}
