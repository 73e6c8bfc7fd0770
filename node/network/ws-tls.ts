// The certificate of a secure WebSocket (`/tcp/P/tls/ws`) listener, read
// once at start from the operator's files: the chain as plain PEM, the key
// as a private file (mode 0600, not a symbolic link: secret-file.ts).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
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

/** The certificate chain file as text: a regular file of at most MAX_PEM_BYTES, read no further. */
function readBounded(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    if (!fstatSync(fd).isFile())
      throw new QkmsError(ErrorCode.CONFIG_INVALID, `${file}: not a regular file`);
    const buffer = Buffer.alloc(MAX_PEM_BYTES + 1);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    if (n > MAX_PEM_BYTES)
      throw new QkmsError(ErrorCode.CONFIG_INVALID, `${file}: larger than a certificate chain`);
    return buffer.subarray(0, n).toString('utf8');
  } catch (e) {
    if (e instanceof QkmsError) throw e;
    throw new QkmsError(
      ErrorCode.CONFIG_INVALID,
      `${file}: cannot read the WebSocket TLS certificate`,
      {
        cause: e,
      },
    );
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function readWsTls(files: WsTlsFiles): WsTls {
  const cert = readBounded(files.certFile);
  const key = readPrivateFile(files.keyFile, { maxBytes: MAX_PEM_BYTES });
  return {
    cert: pem(cert, files.certFile, /-----BEGIN CERTIFICATE-----/, 'certificate chain'),
    key: pem(key, files.keyFile, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'private key'),
  };
}
