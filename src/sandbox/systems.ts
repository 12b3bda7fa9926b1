// The simulators `npm start` runs, derived from the config so every channel has its Mirakl instance and
// the warehouse its Peoplevox tenant, on the same product catalogue.
import type { Config } from '../config/schema';
import type { SandboxSystem } from './server';
import { sandboxCatalogue } from './catalogue';
import { miraklSimulator } from './mirakl';
import { peoplevoxSimulator } from './peoplevox';
import { DEFAULT_TEMPLATES, SALES_ORDERS } from './peoplevox/templates';
import { shopifySimulator } from './shopify';
import { marketplacerSimulator } from './marketplacer';
import { reveniSimulator } from './reveni';
import { SANDBOX_SECRETS } from './secrets';

/** Credentials the simulators accept (published; src/sandbox/secrets.ts). Real tenants' come from the environment. */
export { SANDBOX_SECRETS } from './secrets';

export interface SandboxSystemsOptions {
  /** Multi-shipment per channel (default: config sandbox.multiShipmentChannels, else ASOS has it and others ship whole orders). */
  multiShipment?: Record<string, boolean>;
  catalogueSize?: number;
  env?: NodeJS.ProcessEnv;
}

export function sandboxSystems(config: Config, opts: SandboxSystemsOptions = {}): SandboxSystem[] {
  const env = opts.env ?? process.env;
  const catalogue = sandboxCatalogue({ size: opts.catalogueSize ?? 250 });
  const systems: SandboxSystem[] = [];
  const mirakl = config.channels.filter((c) => c.platform === 'mirakl');
  if (mirakl.length > 0) {
    systems.push(
      miraklSimulator({
        channels: mirakl.map((c) => ({
          code: c.code,
          label: c.label,
          apiKey: env[c.connection.apiKeyEnv] ?? SANDBOX_SECRETS[c.connection.apiKeyEnv] ?? 'sandbox-key',
          shopId: c.connection.shopId,
          multiShipment:
            opts.multiShipment?.[c.code] ?? config.sandbox.multiShipmentChannels?.includes(c.code) ?? c.code === 'asos',
          partialAcceptance: true,
          hideAddressesUntilAcceptance: true,
          acceptanceWindowMs: c.deadlines.acceptanceWindowHours * 3600_000,
          leadtimeToShipDays: 2,
          currency: c.currency,
          carriers: [
            {
              code: 'ROYALMAIL',
              label: 'Royal Mail',
              trackingUrl: 'https://www.royalmail.com/track-your-item#/tracking-results/{trackingId}',
            },
            {
              code: 'RM',
              label: 'Royal Mail',
              trackingUrl: 'https://www.royalmail.com/track-your-item#/tracking-results/{trackingId}',
            },
            { code: 'DPD', label: 'DPD', trackingUrl: 'https://track.dpd.co.uk/parcels/{trackingId}' },
            { code: 'EVRI', label: 'Evri', trackingUrl: 'https://www.evri.com/track/parcel/{trackingId}' },
          ],
          catalogue,
        })),
      }),
    );
  }
  // One Marketplacer instance per Marketplacer channel, selling the same catalogue (its variants' SKUs are the
  // warehouse's item codes, as a well-kept seller account has them).
  for (const c of config.channels.filter((x) => x.platform === 'marketplacer')) {
    const basicAuthEnv = c.marketplacer?.basicAuthEnv;
    systems.push(
      marketplacerSimulator({
        channel: c.code,
        apiKey: env[c.connection.apiKeyEnv] ?? SANDBOX_SECRETS[c.connection.apiKeyEnv] ?? 'sandbox-key',
        basicAuth: basicAuthEnv ? (env[basicAuthEnv] ?? SANDBOX_SECRETS[basicAuthEnv]) : undefined,
        catalogue,
      }),
    );
  }
  const pvx = config.systems.peoplevox;
  if (pvx) {
    // The tenant's Sales orders template gains the columns the channels map marketplace fields to, as a
    // tenant adds them in Integrations → Integration Templates (the default template has none of them).
    const extra = [
      ...new Set(
        config.channels.flatMap((c) =>
          Object.values(c.additionalFields)
            .map((f) => f.peoplevoxColumn)
            .filter((col): col is string => !!col),
        ),
      ),
    ].filter((col) => !DEFAULT_TEMPLATES[SALES_ORDERS]!.includes(col));
    systems.push(
      peoplevoxSimulator({
        clientId: pvx.clientId,
        username: pvx.username,
        password: env[pvx.passwordEnv] ?? SANDBOX_SECRETS[pvx.passwordEnv] ?? 'sandbox',
        catalogue,
        ...(extra.length ? { templates: { [SALES_ORDERS]: [...DEFAULT_TEMPLATES[SALES_ORDERS]!, ...extra] } } : {}),
      }),
    );
  }
  const shop = config.systems.shopify;
  if (shop) {
    // The shop is the last path segment under /shopify/ (sandbox), else the first label of the host.
    const url = new URL(shop.baseUrl);
    const name = /\/shopify\/([^/]+)\/?$/.exec(url.pathname)?.[1] ?? url.hostname.split('.')[0]!;
    systems.push(
      shopifySimulator({
        shop: name,
        accessToken: env[shop.accessTokenEnv] ?? SANDBOX_SECRETS[shop.accessTokenEnv] ?? 'sandbox',
        webhookSecret: env[shop.webhookSecretEnv] ?? SANDBOX_SECRETS[shop.webhookSecretEnv] ?? 'sandbox',
        currency: config.channels.find((c) => c.fulfilment === 'shopify')?.currency ?? 'GBP',
        catalogue,
        // The shop plays the plan the config names (the budget's terms come from the same figures).
        bucket: { maximumAvailable: shop.bucket.maximumAvailable, restoreRate: shop.bucket.restoreRate },
      }),
    );
  }
  const reveni = config.systems.reveni;
  if (reveni) {
    systems.push(
      reveniSimulator({
        apiKey: env[reveni.apiKeyEnv] ?? SANDBOX_SECRETS[reveni.apiKeyEnv] ?? 'sandbox',
        stores: Object.entries(reveni.stores).map(([channel, storeId]) => ({
          storeId,
          currency: config.channels.find((c) => c.code === channel)?.currency ?? 'GBP',
        })),
        catalogue,
      }),
    );
  }
  return systems;
}
