// A Mirakl simulator channel for tests that start the simulator on its own (no stack): an ASOS-like shop with
// addresses visible, partial acceptance, a one-hour acceptance window and two days to ship; override what a test
// is about.
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import type { MiraklSimChannel } from '../../src/sandbox/mirakl/types';

export function miraklTestChannel(
  catalogue: MiraklSimChannel['catalogue'],
  over: Partial<MiraklSimChannel> = {},
): MiraklSimChannel {
  return {
    code: 'asos',
    apiKey: 'k',
    multiShipment: true,
    partialAcceptance: true,
    hideAddressesUntilAcceptance: false,
    acceptanceWindowMs: 3_600_000,
    leadtimeToShipDays: 2,
    carriers: [],
    catalogue,
    ...over,
  };
}

/**
 * A Loopline config with that one channel (`asos`, fulfilled by a Shopify nobody calls) against a simulator at
 * `sandboxUrl`; `extra` is YAML added under the channel (e.g. `returns: marketplace`), indented by the caller.
 */
export function miraklTestConfig(sandboxUrl: string, extra = ''): Config {
  return parseConfig(
    `
systems:
  shopify: { baseUrl: http://127.0.0.1:1, accessTokenEnv: SHOPIFY_TOKEN, webhookSecretEnv: SHOPIFY_SECRET }
channels:
  - code: asos
    label: ASOS
    platform: mirakl
    connection: { baseUrl: ${sandboxUrl}/mirakl/asos, apiKeyEnv: MIRAKL_KEY }
    fulfilment: shopify
    currency: GBP
${extra}`,
    'test',
    { MIRAKL_KEY: 'k', SHOPIFY_TOKEN: 't', SHOPIFY_SECRET: 's' },
  );
}
