// The address rules validation applies (src/domain/validation.ts takes them injected, so workflows can
// import validation without the country data): ISO 3166 countries from src/domain/countries.ts and
// postcode regimes from src/domain/postcodes.ts, with a channel's overrides.
import { resolveCountry } from './countries';
import { checkPostcode, postcodeRule, type PostcodeOverride } from './postcodes';
import type { AddressRules } from './validation';

export function addressRules(overrides: Record<string, PostcodeOverride> = {}): AddressRules {
  return {
    country: (code, name) => {
      const c = resolveCountry(code, name);
      return c ? { alpha2: c.alpha2, name: c.name } : undefined;
    },
    checkPostcode: (alpha2, postcode) => checkPostcode(postcodeRule(alpha2, overrides), postcode),
  };
}
