// The playbook must cover every reason code Loopline can raise, so nobody meets an exception the people
// who own it have never been told about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REASONS } from '../../src/domain/reasons';
import { INVENTORY_REASONS } from '../../src/inventory/reasons';
import { OWNERS } from '../../src/domain/owners';

const playbook = readFileSync(join(__dirname, '..', '..', 'docs', 'playbook.md'), 'utf8');
const headings = playbook.split('\n').filter((l) => l.startsWith('#### '));

test('docs/playbook.md has a section for every reason code', () => {
  const all = { ...REASONS, ...INVENTORY_REASONS };
  const missing = Object.keys(all).filter((code) => !headings.some((h) => h.includes(code)));
  assert.deepEqual(missing, [], `reasons without a playbook section: ${missing.join(', ')}`);
});

test('each reason sits under its owner in the playbook', () => {
  const ownerTitle: Record<string, string> = {
    ops: '### Operations',
    merchandising: '### Merchandising',
    'customer-service': '### Customer service',
    finance: '### Finance',
  };
  for (const o of OWNERS) assert.ok(playbook.includes(ownerTitle[o]!), `no section for ${o}`);
  const sectionOf = (code: string) => {
    const at = playbook.indexOf(code, playbook.indexOf('## Every reason'));
    const before = playbook.slice(0, at);
    return Object.entries(ownerTitle)
      .map(([owner, title]) => [owner, before.lastIndexOf(title)] as const)
      .sort((a, b) => b[1] - a[1])[0]![0];
  };
  const all: Record<string, { owner: string }> = { ...REASONS, ...INVENTORY_REASONS };
  const wrong = Object.entries(all)
    .filter(([code, r]) => sectionOf(code) !== r.owner)
    .map(([code, r]) => `${code} (owner ${r.owner}, filed under ${sectionOf(code)})`);
  assert.deepEqual(wrong, []);
});
