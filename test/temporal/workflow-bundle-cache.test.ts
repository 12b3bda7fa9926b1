// The workflow bundle cache (src/temporal/workflow-bundle-cache.ts): built once per version of the workflow code,
// read by every later process; a changed source file or library version is a new key, never an old bundle; a cache
// that cannot be written still gives a bundle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedWorkflowBundle, workflowBundleKey } from '../../src/temporal/workflow-bundle-cache';

/** A project tree of its own: workflows/index.ts importing src/a.ts. */
function project(): { root: string; entry: string; cache: string } {
  const root = mkdtempSync(join(tmpdir(), 'loopline-bundle-'));
  mkdirSync(join(root, 'workflows'));
  mkdirSync(join(root, 'src', 'domain'), { recursive: true });
  writeFileSync(join(root, 'workflows', 'index.ts'), "export * from '../src/domain/a';\n");
  writeFileSync(join(root, 'src', 'domain', 'a.ts'), 'export const a = 1;\n');
  return { root, entry: join(root, 'workflows', 'index.ts'), cache: join(root, 'cache') };
}

test('built once, then read from the cache by every later process with the same code', async () => {
  const p = project();
  try {
    let builds = 0;
    const build = async () => ({ code: `bundle ${++builds}` });
    const first = await cachedWorkflowBundle({ workflowsPath: p.entry, build, cacheDir: p.cache });
    assert.equal(first.source, 'built');
    const second = await cachedWorkflowBundle({ workflowsPath: p.entry, build, cacheDir: p.cache });
    assert.equal(second.source, 'cache');
    assert.equal(second.code, 'bundle 1');
    assert.equal(builds, 1);
    assert.deepEqual(
      readdirSync(p.cache).filter((f) => f.endsWith('.tmp')),
      [],
      'no temporary file left',
    );
  } finally {
    rmSync(p.root, { recursive: true, force: true });
  }
});

test('a changed source file, a new file or another salt is a new key: the old bundle is never used', async () => {
  const p = project();
  try {
    let builds = 0;
    const build = async () => ({ code: `bundle ${++builds}` });
    const k0 = workflowBundleKey(p.entry);
    await cachedWorkflowBundle({ workflowsPath: p.entry, build, cacheDir: p.cache });
    writeFileSync(join(p.root, 'src', 'domain', 'a.ts'), 'export const a = 2;\n');
    const k1 = workflowBundleKey(p.entry);
    assert.notEqual(k1, k0);
    const again = await cachedWorkflowBundle({ workflowsPath: p.entry, build, cacheDir: p.cache });
    assert.equal(again.source, 'built');
    assert.equal(again.code, 'bundle 2');
    writeFileSync(join(p.root, 'workflows', 'extra.ts'), 'export const b = 1;\n');
    assert.notEqual(workflowBundleKey(p.entry), k1);
    assert.notEqual(workflowBundleKey(p.entry, 'other'), workflowBundleKey(p.entry));
    const k1b = workflowBundleKey(p.entry);
    writeFileSync(join(p.root, 'package-lock.json'), '{"lockfileVersion":3}');
    assert.notEqual(workflowBundleKey(p.entry), k1b, 'a changed package lock is a new key');
    // Files outside workflows/ and src/ (tests, benches) do not change the key.
    mkdirSync(join(p.root, 'test'));
    const k2 = workflowBundleKey(p.entry);
    writeFileSync(join(p.root, 'test', 't.ts'), 'x');
    assert.equal(workflowBundleKey(p.entry), k2);
  } finally {
    rmSync(p.root, { recursive: true, force: true });
  }
});

test('a cache that cannot be written still gives the bundle, built in memory', async () => {
  const p = project();
  try {
    const blocker = join(p.root, 'not-a-dir');
    writeFileSync(blocker, 'a file where the cache directory would be');
    const r = await cachedWorkflowBundle({
      workflowsPath: p.entry,
      build: async () => ({ code: 'in memory' }),
      cacheDir: join(blocker, 'cache'),
    });
    assert.equal(r.source, 'built-not-cached');
    assert.equal(r.code, 'in memory');
    assert.equal(existsSync(join(blocker, 'cache')), false);
  } finally {
    rmSync(p.root, { recursive: true, force: true });
  }
});

test("Loopline's own workflows hash quickly (a digest of the sources, not a build)", () => {
  const started = Date.now();
  const key = workflowBundleKey(require.resolve('../../workflows'));
  assert.match(key, /^[0-9a-f]{32}$/);
  assert.ok(Date.now() - started < 5_000, `${Date.now() - started} ms`);
});
