// One concept per file, a few hundred lines at most (STYLE.md). A TypeScript
// file over MAX_LINES says why in a `// Long file: <reason>` line among its
// first lines, so a reviewer sees the choice was made, not drifted into.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
const MAX_LINES = 400;
/** The reason must sit in the file's opening comment, not somewhere below. */
const REASON_WITHIN_LINES = 12;
const REASON = /^\/\/ Long file: \S.{10,}/;

/** Lines of text, and whether a reason line opens the file. */
function inspect(text: string): { lines: number; reasoned: boolean } {
  const lines = text.split('\n');
  const count = text.endsWith('\n') ? lines.length - 1 : lines.length;
  return {
    lines: count,
    reasoned: lines.slice(0, REASON_WITHIN_LINES).some((l) => REASON.test(l)),
  };
}

describe('file size', () => {
  it('the check sees a long file without a reason, and accepts one with it', () => {
    const body = 'export const x = 1;\n'.repeat(MAX_LINES + 1);
    expect(inspect(body)).toEqual({ lines: MAX_LINES + 1, reasoned: false });
    expect(
      inspect(`// Long file: one table of every setting and its parser.\n${body}`).reasoned,
    ).toBe(true);
    expect(inspect('// Long file: x\n' + body).reasoned).toBe(false);
  });

  it(`every tracked .ts file over ${MAX_LINES} lines says why at its top`, () => {
    const files = execFileSync(
      'git',
      ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    )
      .split('\n')
      .filter((f) => f !== '' && !f.includes('__lint_probe__'));
    expect(files.length).toBeGreaterThan(100);
    const unexplained = files.flatMap((file) => {
      let text: string;
      try {
        text = readFileSync(join(root, file), 'utf8');
      } catch {
        return []; // deleted in the work tree, still in the index
      }
      const { lines, reasoned } = inspect(text);
      return lines > MAX_LINES && !reasoned ? [`${file} (${lines} lines)`] : [];
    });
    expect(unexplained).toEqual([]);
  });
});
