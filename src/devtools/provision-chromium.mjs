#!/usr/bin/env node
// Chromium for the browser tests (playwright-core drives Debian's `chromium` package; Playwright's own
// browser download is not used). Present → nothing to do. Missing → apt-get install it when we can
// (root, apt available); otherwise print one sentence saying how, and leave the browser test to fail
// loudly naming what is missing.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
if (candidates.some((p) => existsSync(p))) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (!isRoot || !hasApt) {
  process.stderr.write(
    "Chromium is missing for the browser tests: install Debian's package (`sudo apt-get install -y chromium`) or set CHROMIUM_PATH.\n",
  );
  process.exit(0);
}
process.stdout.write('Installing Debian chromium for the browser tests (apt-get)…\n');
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
if (r.status !== 0) {
  spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
}
if (r.status !== 0) process.stderr.write('apt-get could not install chromium; the browser tests will say so.\n');
