// A package's dependencies, computed from what its files import (decision
// 0013): every import of every shipped .js and .d.ts file is read with
// TypeScript's own scanner (imports, re-exports, literal dynamic imports; not
// strings that merely look like imports), relative and `#` imports are
// followed to prove the package ships every file it loads, and each bare
// import names a package whose exact version is the repository's.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** The fields of the repository's package.json the computation reads. */
export interface RootManifest {
  readonly dependencies: Readonly<Record<string, string>>;
  readonly devDependencies: Readonly<Record<string, string>>;
}

/** A package's `imports` field: `#name` to a target, or to targets by condition. */
export type ImportsField = Readonly<Record<string, string | Readonly<Record<string, string>>>>;

export interface DependencyRules {
  /** The package, for error messages. */
  readonly packageName: string;
  /** Its root on disk; files, entries and `imports` targets are relative to it. */
  readonly root: string;
  /** Relative paths (from root) of the files loaded first: entries, the bin. */
  readonly entries: readonly string[];
  readonly imports: ImportsField;
  /** Packages it must never depend on, each with the reason. */
  readonly forbidden: Readonly<Record<string, string>>;
  /** Packages its files resolve at run time (no import names them), each with the file that does. */
  readonly resolvedAtRunTime?: Readonly<Record<string, string>>;
}

/** Every .js and .d.ts file under `dir`, as absolute paths, sorted. */
export function codeFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.(js|d\.ts)$/.test(entry.name))
      out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}

/** The module specifiers `file` imports or re-exports, in source order. */
export function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** `@scope/name/sub.js` -> `@scope/name`, `name/sub` -> `name`. */
export function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

function isBare(specifier: string): boolean {
  return !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.startsWith('#');
}

/** The files an `imports` entry can resolve to, under any condition. */
function importTargets(imports: ImportsField, specifier: string): string[] {
  const target = imports[specifier];
  if (target === undefined) return [];
  return typeof target === 'string' ? [target] : Object.values(target);
}

/**
 * The file a relative import loads. tsc keeps a declaration file's `./x.ts`
 * imports as written, and TypeScript resolves them (like `./x.js`) to the
 * `./x.d.ts` beside it.
 */
function relativeTarget(from: string, specifier: string): string {
  const target = resolve(dirname(from), specifier);
  return from.endsWith('.d.ts') ? target.replace(/\.(ts|js)$/, '.d.ts') : target;
}

/** A .js file's declarations sit beside it as .d.ts, and the other way round. */
function companions(file: string): string[] {
  if (file.endsWith('.d.ts')) return [file.replace(/\.d\.ts$/, '.js')];
  return [file.replace(/\.js$/, '.d.ts')];
}

/**
 * Follows relative and `#` imports from the entries; throws naming the first
 * import the package cannot satisfy: a file it does not ship, or a `#` name
 * its `imports` lacks. Returns the files reached.
 */
export function checkClosure(rules: DependencyRules, shipped: ReadonlySet<string>): Set<string> {
  const reached = new Set<string>();
  const queue = rules.entries.map((e) => resolve(rules.root, e));
  const fail = (from: string, what: string): never => {
    throw new Error(`${rules.packageName}: ${relative(rules.root, from)} ${what}`);
  };
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (reached.has(file)) continue;
    if (!shipped.has(file)) fail(file, 'is loaded but not shipped');
    reached.add(file);
    for (const c of companions(file)) if (shipped.has(c)) queue.push(c);
    for (const specifier of importsOf(file)) {
      if (specifier.startsWith('.')) {
        const target = relativeTarget(file, specifier);
        if (!shipped.has(target))
          fail(file, `imports ${specifier}, which ${rules.packageName} does not ship`);
        queue.push(target);
      } else if (specifier.startsWith('#')) {
        const targets = importTargets(rules.imports, specifier);
        if (targets.length === 0)
          fail(file, `imports ${specifier}, which the package's "imports" does not map`);
        queue.push(...targets.map((t) => resolve(rules.root, t)));
      }
    }
  }
  return reached;
}

/** Where a bare import was found, for error messages. */
interface Found {
  readonly name: string;
  readonly file: string;
}

/**
 * The `dependencies` of a package shipping `files`: each package they import
 * at the repository's exact version, sorted by name. Throws, listing every
 * problem, on a forbidden package, a package only the repository's
 * devDependencies declare, or one it does not declare at all.
 */
export function computeDependencies(
  rules: DependencyRules,
  files: readonly string[],
  rootManifest: RootManifest,
): Record<string, string> {
  const found = new Map<string, Found>();
  for (const file of files) {
    for (const specifier of importsOf(file)) {
      if (!isBare(specifier) || isBuiltin(specifier)) continue;
      const name = packageNameOf(specifier);
      if (!found.has(name)) found.set(name, { name, file });
    }
  }
  for (const [name, file] of Object.entries(rules.resolvedAtRunTime ?? {}))
    if (!found.has(name)) found.set(name, { name, file: join(rules.root, file) });
  const problems: string[] = [];
  const dependencies: Record<string, string> = {};
  for (const { name, file } of [...found.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const where = relative(rules.root, file).split(sep).join('/');
    const reason = rules.forbidden[name];
    const version = rootManifest.dependencies[name];
    if (reason !== undefined) problems.push(`${name} (${where}): ${reason}`);
    else if (version !== undefined) dependencies[name] = version;
    else if (rootManifest.devDependencies[name] !== undefined)
      problems.push(`${name} (${where}): only a devDependency of the repository`);
    else problems.push(`${name} (${where}): not declared in the repository's package.json`);
  }
  if (problems.length > 0)
    throw new Error(
      `${rules.packageName}: cannot compute its dependencies:\n  ${problems.join('\n  ')}`,
    );
  return dependencies;
}

/** Checks the closure of `rules`' entries, then computes the dependencies of every shipped file. */
export function packageDependencies(
  rules: DependencyRules,
  shippedDirs: readonly string[],
  rootManifest: RootManifest,
): Record<string, string> {
  const files = shippedDirs.flatMap((d) => {
    const dir = join(rules.root, d);
    return existsSync(dir) ? codeFiles(dir) : [];
  });
  checkClosure(rules, new Set(files));
  return computeDependencies(rules, files, rootManifest);
}
