import type { Config } from '../config/schema';

/**
 * Channels the payout reconciliation covers: configured, else enabled Mirakl channels routed to Shopify, or
 * taking returns on any route (their payouts' refunds are compared with the returns').
 */
export function reconciliationChannels(config: Config): string[] {
  const r = config.finance.reconciliation;
  return (
    r.channels ??
    config.channels
      .filter((c) => c.enabled && c.platform === 'mirakl' && (c.fulfilment === 'shopify' || c.returns !== 'none'))
      .map((c) => c.code)
  );
}
