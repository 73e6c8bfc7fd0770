// A packed package installed the way a user installs it: into a fresh
// project outside the repository, with npm, production dependencies only,
// from npm's cache when it has them. What the budget measures and the
// packed-package tests use.
import { spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';

/** An install fetches from the registry on a cold cache: minutes, not forever. */
const INSTALL_TIMEOUT_MS = 600_000;
/** npm's flags for every install here: no audit or funding requests, the cache first. */
export const NPM_INSTALL_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'] as const;

export interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a user's shell: without the npm_* variables of an npm script or npx that runs us. */
export function userEnv(path?: string): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && !e[0].startsWith('npm_') && !e[0].startsWith('QKMS_'),
    ),
  );
  return path === undefined ? env : { ...env, PATH: path };
}

/** Runs a child without blocking this process (a test may serve it a quorum meanwhile). */
export function runChild(
  command: string,
  args: readonly string[],
  options: { cwd: string; path?: string; timeoutMs?: number },
): Promise<Ran> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: userEnv(options.path),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? INSTALL_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (status) => {
      resolveRun({ status, stdout, stderr });
    });
  });
}

/** Like runChild; throws with the child's stderr unless it exits 0. Its stdout. */
export async function mustRun(
  command: string,
  args: readonly string[],
  options: { cwd: string; path?: string },
): Promise<string> {
  const result = await runChild(command, args, options);
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')}: exit ${String(result.status)}\n${result.stderr.slice(-4000)}`,
    );
  return result.stdout;
}

/** A new project in the system's temp folder with `tarball` installed; the project's folder. */
export async function installInFreshProject(tarball: string, prefix: string): Promise<string> {
  const project = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'fresh-project', private: true, type: 'module' })}\n`,
  );
  await mustRun('npm', ['install', '--omit=dev', ...NPM_INSTALL_FLAGS, tarball], {
    cwd: project,
  });
  return project;
}

export interface InstalledPackage {
  readonly name: string;
  readonly dir: string;
}

/** Every package folder under `nodeModules`, nested copies too (what npm counts as added). */
export function installedPackages(nodeModules: string): InstalledPackage[] {
  const found: InstalledPackage[] = [];
  for (const entry of readdirSync(nodeModules, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name !== 'package.json') continue;
    const dir = relative(nodeModules, entry.parentPath).split(sep);
    const name = dir.slice(dir.lastIndexOf('node_modules') + 1);
    const [first = ''] = name;
    if (first === '') continue;
    // A package's own package.json: node_modules/<name> or node_modules/@scope/<name>.
    if (name.length === 1 || (name.length === 2 && first.startsWith('@')))
      found.push({ name: name.join('/'), dir: entry.parentPath });
  }
  return found;
}

/** The names of installedPackages(nodeModules). */
export function installedNames(nodeModules: string): Set<string> {
  return new Set(installedPackages(nodeModules).map((p) => p.name));
}

/** Bytes of every regular file under `dir` (apparent sizes, as `du -sb` counts them). */
export function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) total += lstatSync(join(entry.parentPath, entry.name)).size;
  return total;
}
