// What an operator reads off /metrics beyond the request path: qkms_build_info
// names the version and commit the node runs, read from package.json and the
// files of .git (a loose ref, packed-refs, a detached HEAD, a worktree) and
// `unknown` where there is no repository or it is not what git writes; and
// requests are labelled by their method of the table, never by a protocol
// outside it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { METHODS } from '../protocol/internal.ts';
import { createNodeMetrics, observeRequest, readBuildInfo, readGitCommit } from './metrics.ts';

const SHA1 = '0123456789abcdef0123456789abcdef01234567';
const SHA256 = 'fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A fresh directory holding `files` (path -> text). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'qkms-build-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('readGitCommit', () => {
  it('follows HEAD to a loose branch ref and keeps 12 hex digits', () => {
    const root = tree({
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.git/refs/heads/main': `${SHA1}\n`,
    });
    expect(readGitCommit(root)).toBe('0123456789ab');
  });

  it('finds a branch only in packed-refs (after gc), skipping comments and peeled lines', () => {
    const root = tree({
      '.git/HEAD': 'ref: refs/heads/release\n',
      '.git/packed-refs': `# pack-refs with: peeled fully-peeled sorted\n${SHA256} refs/heads/release\n^${SHA1}\n`,
    });
    expect(readGitCommit(root)).toBe('fedcba987654');
  });

  it('reads a detached HEAD as the commit itself', () => {
    expect(readGitCommit(tree({ '.git/HEAD': `${SHA1}\n` }))).toBe('0123456789ab');
  });

  it('follows a worktree’s .git file to its git dir, and its refs to the common dir', () => {
    const root = tree({
      'main/.git/refs/heads/topic': `${SHA1}\n`,
      'main/.git/worktrees/wt/HEAD': 'ref: refs/heads/topic\n',
      'main/.git/worktrees/wt/commondir': '../..\n',
      'wt/.git': 'gitdir: ../main/.git/worktrees/wt\n',
    });
    expect(readGitCommit(join(root, 'wt'))).toBe('0123456789ab');
  });

  const unknown: [string, Record<string, string>][] = [
    ['no .git (an installed package)', { 'package.json': '{}' }],
    ['a branch with no commit yet', { '.git/HEAD': 'ref: refs/heads/main\n' }],
    ['a HEAD that is no object id', { '.git/HEAD': 'not a commit\n' }],
    ['a short id', { '.git/HEAD': `${SHA1.slice(0, 12)}\n` }],
    ['a ref outside refs/', { '.git/HEAD': 'ref: ../../etc/passwd\n' }],
    [
      'a ref climbing out of refs/',
      { '.git/HEAD': 'ref: refs/../../x\n', x: `${SHA1}\n`, '.git/x': `${SHA1}\n` },
    ],
    ['a .git file pointing nowhere', { '.git': 'gitdir: ./missing\n' }],
    ['a .git file that is no pointer', { '.git': 'hello\n' }],
  ];
  for (const [name, files] of unknown)
    it(`is unknown for ${name}`, () => {
      expect(readGitCommit(tree(files))).toBe('unknown');
    });
});

describe('readBuildInfo', () => {
  it('takes the version from package.json and the commit from .git', () => {
    const root = tree({
      'package.json': JSON.stringify({ name: 'qkms', version: '9.8.7' }),
      '.git/HEAD': `${SHA1}\n`,
    });
    expect(readBuildInfo(root)).toEqual({ version: '9.8.7', commit: '0123456789ab' });
  });

  it('says unknown for a package.json it cannot read, or one without a string version', () => {
    expect(readBuildInfo(tree({}))).toEqual({ version: 'unknown', commit: 'unknown' });
    expect(readBuildInfo(tree({ 'package.json': '{"version": 1}' })).version).toBe('unknown');
    expect(readBuildInfo(tree({ 'package.json': '{' })).version).toBe('unknown');
  });

  it('reads this repository’s own package.json by default', () => {
    expect(readBuildInfo().version).toMatch(/^\d+\.\d+\.\d+/);
    expect(readBuildInfo().commit).toMatch(/^(?:[0-9a-f]{12}|unknown)$/);
  });
});

describe('qkms_build_info', () => {
  it('is one series of value 1 labelled with the version and commit', async () => {
    const metrics = createNodeMetrics({
      defaultMetrics: false,
      build: { version: '1.2.3', commit: 'abcdef012345' },
    });
    expect((await metrics.buildInfo.get()).values).toEqual([
      { value: 1, labels: { version: '1.2.3', commit: 'abcdef012345' } },
    ]);
    expect(await metrics.registry.metrics()).toContain(
      'qkms_build_info{version="1.2.3",commit="abcdef012345"} 1',
    );
  });

  it('labels this build by default', async () => {
    const metrics = createNodeMetrics({ defaultMetrics: false });
    const [series] = (await metrics.buildInfo.get()).values;
    expect(series?.labels).toEqual(readBuildInfo());
  });
});

describe('observeRequest', () => {
  const value = async (
    m: ReturnType<typeof createNodeMetrics>,
    labels: Record<string, string>,
  ): Promise<number> =>
    (await m.requests.get()).values.find(
      (v) => v.labels.protocol === labels.protocol && v.labels.result === labels.result,
    )?.value ?? 0;
  const timed = async (m: ReturnType<typeof createNodeMetrics>, method: string): Promise<number> =>
    (await m.requestDuration.get()).values.find(
      (v) => v.metricName === 'qkms_request_duration_seconds_count' && v.labels.protocol === method,
    )?.value ?? 0;

  it('counts a request under its method and result, and times it', async () => {
    const m = createNodeMetrics({ defaultMetrics: false });
    observeRequest(m, METHODS.recover.protocol, 'ok', 0.001);
    observeRequest(m, METHODS.revsync.protocol, 'BUSY', 0.002);
    observeRequest(m, METHODS.channel.protocol, 'MALFORMED', 0);
    expect(await value(m, { protocol: 'recover', result: 'ok' })).toBe(1);
    expect(await value(m, { protocol: 'revsync', result: 'BUSY' })).toBe(1);
    expect(await value(m, { protocol: 'channel', result: 'MALFORMED' })).toBe(1);
    expect(await timed(m, 'recover')).toBe(1);
  });

  it('times a refused or aborted request without counting it as answered', async () => {
    const m = createNodeMetrics({ defaultMetrics: false });
    observeRequest(m, METHODS.revsync.protocol, 'refused', 0);
    observeRequest(m, METHODS.info.protocol, 'aborted', 0.5);
    const answered = (await m.requests.get()).values.reduce((n, v) => n + v.value, 0);
    expect(answered).toBe(0);
    expect(await timed(m, 'revsync')).toBe(1);
    expect(await timed(m, 'info')).toBe(1);
  });

  it('ignores a protocol outside the method table (no label to give it)', async () => {
    const m = createNodeMetrics({ defaultMetrics: false });
    observeRequest(m, '/qkms/test/1', 'ok', 0.001);
    const answered = (await m.requests.get()).values.reduce((n, v) => n + v.value, 0);
    expect(answered).toBe(0);
    expect((await m.requestDuration.get()).values.every((v) => v.value === 0)).toBe(true);
  });
});
