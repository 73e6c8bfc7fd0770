// The certificate of a secure WebSocket (`/tcp/P/tls/ws`) listener, read
// once at start from the operator's files: the chain as plain PEM, the key
// as a private file (mode 0600, not a symbolic link: secret-file.ts).
import { readFileSync } from 'node:fs';
import { ErrorCode, QkmsError } from '../../protocol/internal.ts';
import type { WsTlsFiles } from '../options.ts';
import { readPrivateFile } from '../secret-file.ts';
import type { WsTls } from './host.ts';

/** A certificate chain or key larger than this is not one. */
const MAX_PEM_BYTES = 64 * 1024;

function pem(text: string, file: string, kind: RegExp, what: string): string {
  if (!kind.test(text))
    throw new QkmsError(ErrorCode.CONFIG_INVALID, `${file}: expected a PEM ${what}`);
  return text;
}

export function readWsTls(files: WsTlsFiles): WsTls {
  let cert: string;
  try {
    cert = readFileSync(files.certFile, 'utf8');
  } catch (e) {
    throw new QkmsError(
      ErrorCode.CONFIG_INVALID,
      `${files.certFile}: cannot read the WebSocket TLS certificate`,
      { cause: e },
    );
  }
  if (cert.length > MAX_PEM_BYTES)
    throw new QkmsError(
      ErrorCode.CONFIG_INVALID,
      `${files.certFile}: larger than a certificate chain`,
    );
  const key = readPrivateFile(files.keyFile, { maxBytes: MAX_PEM_BYTES });
  return {
    cert: pem(cert, files.certFile, /-----BEGIN CERTIFICATE-----/, 'certificate chain'),
    key: pem(key, files.keyFile, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'private key'),
  };
}
