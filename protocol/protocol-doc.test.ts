// docs/protocol.md is the contract for other implementations: it must name
// every rejection code (with the action the code carries) and every domain tag.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { DomainTag } from './domain-tags.ts';
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
