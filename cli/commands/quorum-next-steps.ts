// What `qkms quorum up` prints to do next: README's steps after `npm start`,
// in its order (test/e2e/quorum-up.test.ts holds them equal). Every file they
// write goes to DIR/scratch, which `quorum up` creates, never to the working
// tree: README's walk leaves nothing in the repository.
import { isAbsolute, join, relative } from 'node:path';
import type { DevQuorum } from './dev-quorum.ts';

/** Where the printed next steps (and README's) write their files: DIR/scratch. */
export const SCRATCH_DIR = 'scratch';

/** A path as the operator would type it: relative to the working directory when inside it. */
export function shown(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  const text = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/** README's steps, in its order, each with what it shows; every file they write is in DIR/scratch. */
export function nextSteps(
  quorum: DevQuorum,
  cwd: string,
): readonly { note: string; command: string }[] {
  const config = shown(quorum.configFile, cwd);
  const scratch = (name: string): string => shown(join(quorum.dir, SCRATCH_DIR, name), cwd);
  const wallet = scratch('wallet.key');
  const manifest = scratch('manifest.json');
  return [
    {
      note: "a wallet: its key stays in the file ('wallet show' prints its address again)",
      command: `npx qkms wallet new --out ${wallet}`,
    },
    {
      note: 'publish: a fresh content key, split among the nodes',
      command: `npx qkms content publish --quorum ${config} --wallet-key ${wallet} --cek-out ${scratch('cek.hex')} --out ${manifest}`,
    },
    {
      note: 'recover it as the wallet: the same key as cek.hex',
      command: `npx qkms content recover --quorum ${config} --manifest ${manifest} --wallet-key ${wallet} --out ${scratch('recovered.hex')}`,
    },
    {
      note: "each node's health, as a client sees it",
      command: `npx qkms node status --quorum ${config}`,
    },
    {
      note: 'revoke the wallet: every node then refuses it (recover exits 6)',
      command: `npx qkms admin revoke --quorum ${config} --admin-key ${shown(quorum.adminKeyFile, cwd)} --wallet <the address 'wallet new' printed>`,
    },
    {
      note: "walk node 1's custody audit log",
      command: `npx qkms audit verify --dir ${shown(join(quorum.dir, 'nodes', '1'), cwd)}`,
    },
  ];
}
