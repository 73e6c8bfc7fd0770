// Which quorum file a client command uses, so nobody types --quorum every
// time (as Vault's CLI finds its server through VAULT_ADDR). In decreasing
// precedence:
//   --quorum FILE  >  QKMS_QUORUM  >  "quorum" in the user config file (./user-config.ts)
// A later source is not read when an earlier one is given: a flag works even
// beside a broken user config. With none, a usage error (exit 2) names all three.
import { resolve } from 'node:path';
import { ErrorCode, isQkmsError, type CryptoSuite, type NodeSet } from '../protocol/index.ts';
import { loadNodeSet } from './files.ts';
import { configError, usageError, type CliIo } from './io.ts';
import { readUserConfig, userConfigPath } from './user-config.ts';

/** The environment variable naming the quorum file. `qkms node start` ignores it. */
export const QUORUM_ENV = 'QKMS_QUORUM';

/** The --help lines every command that reads a quorum file shows. */
export const QUORUM_FLAG_HELP = `--quorum FILE is the quorum file ('qkms quorum up' writes one); without it,
${QUORUM_ENV}, else "quorum" in ~/.config/qkms/config.json ($XDG_CONFIG_HOME).`;

export interface QuorumFile {
  /** Absolute path. */
  readonly path: string;
  /** Where it came from, as errors name it: `--quorum`, `QKMS_QUORUM`, `user config FILE`. */
  readonly origin: string;
}

/** The quorum file from the --quorum value (undefined when not given), QKMS_QUORUM or the user config. */
export function resolveQuorumFile(io: CliIo, flag: string | undefined): QuorumFile {
  if (flag !== undefined) {
    if (flag === '') throw usageError('--quorum: expected a file, got ""');
    return { path: resolve(io.cwd, flag), origin: '--quorum' };
  }
  const env = io.env[QUORUM_ENV];
  if (env !== undefined) {
    if (env === '') throw configError(`${QUORUM_ENV}: is set but empty`);
    return { path: resolve(io.cwd, env), origin: QUORUM_ENV };
  }
  const config = readUserConfig(io);
  if (config?.quorum !== undefined) {
    return { path: config.quorum, origin: `user config ${config.file}` };
  }
  throw usageError(
    `no quorum file: give --quorum FILE, set ${QUORUM_ENV}=FILE, or write {"quorum": "FILE"} in ${userConfigPath(io.env)}`,
  );
}

/** Loads the node set of a resolved quorum file; a bad file's error names where its path came from. */
export function loadQuorumNodeSet(io: CliIo, suite: CryptoSuite, file: QuorumFile): NodeSet {
  try {
    return loadNodeSet(io, suite, file.path);
  } catch (e) {
    if (file.origin === '--quorum' || !isQkmsError(e, ErrorCode.CONFIG_INVALID)) throw e;
    throw configError(`${e.message} (from ${file.origin})`, e);
  }
}

/** The node set of the quorum file from --quorum's value (undefined when not given), QKMS_QUORUM or the user config. */
export function loadQuorum(io: CliIo, suite: CryptoSuite, flag: string | undefined): NodeSet {
  return loadQuorumNodeSet(io, suite, resolveQuorumFile(io, flag));
}
