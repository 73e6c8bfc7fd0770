// The per-user config file of the client commands:
// $XDG_CONFIG_HOME/qkms/config.json (XDG Base Directory Specification 0.8;
// ~/.config/qkms/config.json when XDG_CONFIG_HOME is unset, empty or
// relative), as Vault's CLI reads its defaults from the user's home. One JSON
// object; today one key, {"quorum": FILE}. Unknown keys are refused, like the
// node's config file: a typo is an error, not a silent default.
//
// The file decides which nodes a publisher's shares go to, so it is refused
// when others may write it (as ssh refuses a group-writable ~/.ssh/config).
// A missing file is no config; anything else wrong is CONFIG_INVALID naming
// the file.
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { configError, type CliIo } from './io.ts';

/** It holds one path; anything this large is not the file we wrote. */
export const MAX_USER_CONFIG_CHARS = 16 * 1024;

/** The keys the file may hold, and what they mean (for errors and docs). */
const USER_CONFIG_KEYS = {
  quorum: 'the quorum file client commands use when --quorum and QKMS_QUORUM are not given',
} as const;

export interface UserConfig {
  /** Absolute path of the file read. */
  readonly file: string;
  /** The quorum file, absolute (a relative value is relative to the config file's folder). */
  readonly quorum?: string;
}

function errnoOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

/** Where the user config file is, whether or not it exists. */
export function userConfigPath(env: CliIo['env']): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The spec: a relative XDG_CONFIG_HOME is invalid and is ignored.
  const base =
    xdg !== undefined && xdg !== '' && isAbsolute(xdg)
      ? xdg
      : join(env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir(), '.config');
  return join(base, 'qkms', 'config.json');
}

/**
 * Reads the user config file; undefined when there is none. Throws
 * CONFIG_INVALID when it is unreadable, writable by others, not a JSON object,
 * or holds an unknown key or a bad value.
 */
export function readUserConfig(io: CliIo): UserConfig | undefined {
  const file = userConfigPath(io.env);
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return undefined;
    throw configError(`user config ${file}: cannot read it (${errnoOf(e)})`, e);
  }
  if ((mode & 0o022) !== 0) {
    throw configError(
      `user config ${file}: writable by others (mode 0${(mode & 0o777).toString(8)}), who could point you at their nodes; fix with: chmod 600 ${file}`,
    );
  }
  let text: string;
  try {
    text = io.readFile(file);
  } catch (e) {
    throw configError(`user config ${file}: cannot read it (${errnoOf(e)})`, e);
  }
  if (text.length > MAX_USER_CONFIG_CHARS) {
    throw configError(
      `user config ${file}: expected at most ${MAX_USER_CONFIG_CHARS} characters, got ${text.length}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw configError(`user config ${file}: not valid JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw configError(
      `user config ${file}: expected a JSON object like {"quorum": "/path/quorum.json"}`,
    );
  }
  for (const key of Object.keys(json)) {
    if (!Object.hasOwn(USER_CONFIG_KEYS, key)) {
      throw configError(
        `user config ${file}: key ${JSON.stringify(key)} is not a setting (known: ${Object.keys(USER_CONFIG_KEYS).join(', ')})`,
      );
    }
  }
  const quorum = (json as { quorum?: unknown }).quorum;
  if (quorum === undefined) return { file };
  if (typeof quorum !== 'string' || quorum === '' || quorum.includes('\0')) {
    throw configError(`user config ${file}: "quorum": expected a file path`);
  }
  return { file, quorum: resolve(dirname(file), quorum) };
}
