// `content publish --policy`: a keyword (open, publisher-only,
// allowlist:ADDR,...) or a condition file (docs/policies.md), read and checked
// here as every node will check it, so a bad file fails before anything is sent.
import { ADDRESS_BYTES, policyFromJson, type AccessPolicy } from '../../protocol/index.ts';
import { readJson } from '../files.ts';
import { configError, usageError, type CliIo } from '../io.ts';

/** A --policy value that names a condition file (docs/policies.md) rather than a keyword. */
export function isPolicyFile(text: string): boolean {
  return text.endsWith('.json') || text.includes('/');
}

/** The policy of a condition file, checked as a node would check it (CONFIG_INVALID naming the field). */
export function loadPolicyFile(io: CliIo, path: string): AccessPolicy {
  const json = readJson(io, path, 'policy file');
  try {
    return policyFromJson(json);
  } catch (e) {
    throw configError(`policy file ${path}: ${e instanceof Error ? e.message : 'invalid'}`, e);
  }
}

export function parsePolicy(text: string | undefined, io: CliIo): AccessPolicy {
  if (text === undefined || text === 'open') return { kind: 'open' };
  if (isPolicyFile(text)) return loadPolicyFile(io, text);
  if (text === 'publisher-only') return { kind: 'publisher-only' };
  if (text.startsWith('allowlist:')) {
    const addresses = text
      .slice('allowlist:'.length)
      .split(',')
      .map((a) => {
        if (!/^0x[0-9a-fA-F]{40}$/.test(a))
          throw usageError(`--policy: ${JSON.stringify(a)} is not an address (0x + 40 hex)`);
        return Uint8Array.from(a.slice(2).match(/../g) ?? [], (b) => Number.parseInt(b, 16));
      });
    if (addresses.length === 0 || addresses.some((a) => a.length !== ADDRESS_BYTES))
      throw usageError('--policy: allowlist needs addresses');
    return { kind: 'allowlist', addresses };
  }
  throw usageError(
    '--policy: expected open, publisher-only, allowlist:0x..,0x.. or a condition file FILE.json',
  );
}
