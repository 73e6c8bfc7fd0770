// Builds the self-contained browser bundle of the client with esbuild: ESM,
// minified, `browser` conditions (package.json "imports" then picks the noble
// crypto suite and the WebSocket transport, so no node:crypto and no TCP
// code is in it). Used by `npm run build`, the budget script and the browser
// tests, so all three measure and load the same bytes.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BROWSER_ENTRY = join(ROOT, 'deploy', 'packages', 'browser-entry.ts');
export const BROWSER_BUNDLE = join(ROOT, 'build', 'browser', 'qkms-client.js');

export interface BundleSize {
  readonly file: string;
  /** Minified bytes. */
  readonly bytes: number;
  /** Minified, then gzip -9. */
  readonly gzipBytes: number;
}

export async function buildBrowserBundle(outfile = BROWSER_BUNDLE): Promise<BundleSize> {
  const result = await build({
    entryPoints: [BROWSER_ENTRY],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  if (result.errors.length > 0)
    throw new Error(`browser bundle: ${result.errors.map((e) => e.text).join('; ')}`);
  const bytes = readFileSync(outfile);
  return { file: outfile, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
}
