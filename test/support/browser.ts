// Where the browser tests find Chromium: $CHROMIUM_PATH, else Debian's package (installed by
// `npm test` through src/devtools/provision-chromium.mjs when missing).
import { existsSync } from 'node:fs';

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    (p): p is string => Boolean(p),
  );
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `no Chromium found (tried ${candidates.join(', ')}): run \`node src/devtools/provision-chromium.mjs\` (Debian package chromium) or set CHROMIUM_PATH`,
    );
  }
  return found;
}
