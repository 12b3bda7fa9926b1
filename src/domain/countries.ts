// ISO 3166-1 countries through i18n-iso-countries (alpha-2, alpha-3, numeric, names in ~80 languages;
// its data ships in the package, so it works offline). Every connector resolves a country here and
// nowhere else: Mirakl sends alpha-3 in country_iso_code (sometimes null, sometimes two letters, with the
// country in `country`), Shopify's CountryCode enum takes alpha-2, Peoplevox's address columns take a name.
// Cutting an alpha-3 code to two letters is wrong for dozens of countries (AUT is AT, not AU: Australia).
// Not imported by workflows: the library carries every locale's names.
import countries from 'i18n-iso-countries';

export interface Country {
  alpha2: string;
  alpha3: string;
  /** English short name (i18n-iso-countries' "official" English name). */
  name: string;
}

/**
 * Names the library does not carry: the United Kingdom's nations (a Peoplevox Despatch summary shows
 * "England" as Destination country), the "UK" code ISO keeps exceptionally reserved for it, and one ISO
 * short name. Keys are normalised (upper case, no accents or apostrophes).
 */
const ALIASES: Record<string, string> = {
  UK: 'GB',
  ENGLAND: 'GB',
  SCOTLAND: 'GB',
  WALES: 'GB',
  'NORTHERN IRELAND': 'GB',
  'GREAT BRITAIN': 'GB',
  // ISO's short name (inverted: "Korea, Democratic People's Republic of"), which the library lacks.
  'DEMOCRATIC PEOPLES REPUBLIC OF KOREA': 'KP',
};

function normaliseName(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[.'’]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toUpperCase();
}

function make(alpha2: string): Country | undefined {
  const a2 = alpha2.toUpperCase();
  if (!countries.isValid(a2)) return undefined;
  const alpha3 = countries.alpha2ToAlpha3(a2);
  const name = countries.getName(a2, 'en');
  if (!alpha3 || !name) return undefined;
  return { alpha2: a2, alpha3, name };
}

/** An alpha-2 or alpha-3 code (any case, spaces around ignored), or undefined when ISO has no such code. */
export function countryByCode(code: string | null | undefined): Country | undefined {
  const c = code?.trim().toUpperCase();
  if (!c || !/^[A-Z]{2,3}$/.test(c)) return undefined;
  if (ALIASES[c]) return make(ALIASES[c]);
  if (c.length === 2) return make(c);
  const a2 = countries.alpha3ToAlpha2(c);
  return a2 ? make(a2) : undefined;
}

let byName: Map<string, string> | undefined;

/** Every name (official, aliases) in every language the library ships, normalised → alpha-2. */
function nameIndex(): Map<string, string> {
  if (byName) return byName;
  const index = new Map<string, string>();
  // English first, so a name that means different countries in two languages resolves the English way.
  const langs = ['en', ...countries.getSupportedLanguages().filter((l) => l !== 'en')];
  for (const lang of langs) {
    const names = countries.getNames(lang, { select: 'all' }) as Record<string, string[]>;
    for (const [a2, list] of Object.entries(names)) {
      for (const n of list) {
        const key = normaliseName(n);
        if (key && !index.has(key)) index.set(key, a2);
      }
    }
  }
  for (const [alias, a2] of Object.entries(ALIASES)) index.set(alias, a2);
  byName = index;
  return index;
}

/**
 * A country name in any language the library knows ("Portugal", "España", "Royaume-Uni"), or undefined.
 * ISO's own inverted short names ("Iran, Islamic Republic of", "Congo, The Democratic Republic of the")
 * are read the natural way round first, then by the part before the comma.
 */
export function countryByName(name: string | null | undefined): Country | undefined {
  const key = name ? normaliseName(name) : '';
  if (!key) return undefined;
  const candidates = [key];
  const comma = key.indexOf(', ');
  if (comma > 0) {
    const [head, tail] = [key.slice(0, comma), key.slice(comma + 2)];
    const swapped = `${tail} ${head}`;
    candidates.push(swapped, swapped.replace(/^THE /, ''), head);
  }
  for (const c of candidates) {
    const a2 = nameIndex().get(c);
    if (a2) return make(a2);
  }
  return undefined;
}

/**
 * The country of a marketplace address. Mirakl documents `country_iso_code` as alpha-3, and that wins
 * when it is one. When it is null or two letters (some operators send it so, with an alpha-2 or a name in
 * `country`), `country` decides; the two-letter code is used only when `country` says nothing readable.
 * Undefined means nothing sent is a country ISO knows: the order needs a person (COUNTRY_UNKNOWN).
 */
export function resolveCountry(
  isoCode: string | null | undefined,
  country: string | null | undefined,
): Country | undefined {
  const code = isoCode?.trim() ?? '';
  if (code.length === 3) {
    const c = countryByCode(code);
    if (c) return c;
  }
  const fromCountry = countryByCode(country) ?? countryByName(country);
  if (fromCountry) return fromCountry;
  return code ? (countryByCode(code) ?? countryByName(code)) : undefined;
}

/** Every country the library knows (alpha-2 order). */
export function allCountries(): Country[] {
  return Object.keys(countries.getAlpha2Codes())
    .sort()
    .map((a2) => make(a2))
    .filter((c): c is Country => c !== undefined);
}
