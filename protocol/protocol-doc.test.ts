// docs/protocol.md is the contract for other implementations: it must name
// every rejection code (with the action the code carries), every domain tag,
// and every message type the registry (messages/registry.ts) knows.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { DomainTag } from './domain-tags.ts';
import { MESSAGE_TYPES } from './messages/registry.ts';
import { REJECTIONS } from './rejection.ts';

const doc = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');

it('documents every rejection code with its client action', () => {
  for (const [code, { action }] of Object.entries(REJECTIONS)) {
    expect(doc, code).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${action}\\s*\\|`));
  }
});

it('documents every domain tag', () => {
  for (const tag of Object.values(DomainTag)) expect(doc, tag).toContain(`\`${tag}\``);
});

it('documents every registered message type, one §8 heading each, in registry order', () => {
  const section = doc.slice(doc.indexOf('\n## 8. '), doc.indexOf('\n## 9. '));
  const documented = [...section.matchAll(/^### (.+)$/gm)].flatMap((m) =>
    (m[1] ?? '')
      .replace(/\s*\(.*\)$/, '')
      .split(' / ')
      .map((t) => t.trim()),
  );
  expect(documented).toEqual([...MESSAGE_TYPES]);
});
