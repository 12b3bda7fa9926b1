import type { Config } from '../config/schema';

/** Channels the payout reconciliation covers: configured, else enabled Mirakl channels routed to Shopify. */
export function reconciliationChannels(config: Config): string[] {
  const r = config.finance.reconciliation;
  return (
    r.channels ??
    config.channels.filter((c) => c.enabled && c.platform === 'mirakl' && c.fulfilment === 'shopify').map((c) => c.code)
  );
}
