// Where a command that opens a node's keystore outside `node start` (`audit
// verify`, `audit tail`) finds its passphrase, by the same rules as `node
// start`: --passphrase-file FILE beats QKMS_PASSPHRASE_FILE, else
// QKMS_PASSPHRASE; a file beside QKMS_PASSPHRASE is ambiguous and refused.
// The passphrase is never a flag value: the command line is public (ps).
import { resolve } from 'node:path';
import { configError, type CliIo } from './io.ts';
import { PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, type PassphraseSource } from './node-options.ts';

/** The passphrase source from the --passphrase-file value (undefined when not given) and the environment. */
export function keystorePassphraseSource(io: CliIo, flag: string | undefined): PassphraseSource {
  const env = io.env[PASSPHRASE_FILE_ENV];
  const file =
    flag !== undefined
      ? { path: flag, origin: '--passphrase-file' }
      : env !== undefined && env !== ''
        ? { path: env, origin: PASSPHRASE_FILE_ENV }
        : undefined;
  if (file === undefined) {
    return io.env[PASSPHRASE_ENV] === undefined
      ? { kind: 'none' }
      : { kind: 'env', variable: PASSPHRASE_ENV };
  }
  if (file.path === '') throw configError(`${file.origin}: expected a file, got ""`);
  if (io.env[PASSPHRASE_ENV] !== undefined)
    throw configError(`${file.origin}: ${PASSPHRASE_ENV} is also set; give the passphrase one way`);
  return { kind: 'file', path: resolve(io.cwd, file.path), origin: file.origin };
}
