// `loopline webhooks subscribe --url <public address>`: registers Loopline's public HTTP address (the
// `http` role) with the systems that push events to it, as a deployment step: Peoplevox despatch tracking
// (TrackingNumberReceived) and stock events (AvailabilityChanges, GoodsReceived), and the Shopify webhook
// topics. `npm start` does the same for the sandbox. Safe to run again: Shopify keeps existing
// subscriptions, and Peoplevox callbacks are deduplicated on arrival.
import type { Command } from 'commander';
import pino from 'pino';
import { z } from 'zod';
import { action, table, type CliContext } from '../context';
import { createRuntime } from '../../../workers/runtime';
import { subscribeWarehouseEvents } from '../../../workers/subscriptions';
import { stockChannels, subscribeStockEvents } from '../../inventory/intake';
import { SHOPIFY_TOPICS, SHOPIFY_WEBHOOK_PATH, subscribeShopifyWebhooks } from '../../http/shopify-webhooks';
import { subscribeReturnEvents } from '../../returns/subscriptions';

const PublicUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://loopline.example.com' })
  .transform((u) => u.replace(/\/+$/, ''));

export interface SubscriptionRow {
  system: 'peoplevox' | 'shopify' | 'reveni';
  events: string;
  status: 'subscribed' | 'failed';
  detail?: string;
}

export async function subscribeEverything(ctx: CliContext, url: string): Promise<SubscriptionRow[]> {
  // The connectors log to stderr only when something goes wrong; the table is the output.
  const log = pino({ level: 'warn' }, pino.destination(2));
  const runtime = createRuntime(ctx.config, log);
  const rows: SubscriptionRow[] = [];
  const tracking = await subscribeWarehouseEvents(runtime, url);
  rows.push({
    system: 'peoplevox',
    events: 'TrackingNumberReceived',
    status: tracking.length > 0 ? 'subscribed' : 'failed',
    detail:
      tracking.length > 0 ? `id ${tracking.join(', ')}` : 'see the warning above; the despatch backstop still runs',
  });
  if (stockChannels(ctx.config, 'peoplevox').length > 0) {
    const stock = await subscribeStockEvents(runtime.peoplevox, url, log, ctx.config);
    rows.push({
      system: 'peoplevox',
      events: 'AvailabilityChanges, GoodsReceived',
      status: stock.length === 2 ? 'subscribed' : 'failed',
      detail: stock.length > 0 ? `id ${stock.join(', ')}` : 'see the warning above; the full stock read still runs',
    });
  }
  for (const r of await subscribeReturnEvents({ ...runtime, log }, url)) {
    rows.push({
      system: r.system,
      events: r.channel ? `${r.events} (${r.channel})` : r.events,
      status: r.error ? 'failed' : 'subscribed',
      detail: r.error ?? `id ${r.id}`,
    });
  }
  if (runtime.shopify) {
    try {
      await subscribeShopifyWebhooks(runtime.shopify, url);
      rows.push({
        system: 'shopify',
        events: SHOPIFY_TOPICS.join(', '),
        status: 'subscribed',
        detail: `${url}${SHOPIFY_WEBHOOK_PATH}`,
      });
    } catch (err) {
      rows.push({
        system: 'shopify',
        events: SHOPIFY_TOPICS.join(', '),
        status: 'failed',
        detail: (err as Error).message,
      });
    }
  }
  return rows;
}

export function registerWebhookCommands(program: Command): void {
  const webhooks = program
    .command('webhooks')
    .description('register Loopline’s public address with the systems that push events to it');
  webhooks
    .command('subscribe')
    .description('subscribe Peoplevox events (despatch tracking, stock) and the Shopify webhook topics')
    .requiredOption('--url <url>', 'Loopline’s public HTTP address (the http role), e.g. https://loopline.example.com')
    .action(
      action(async (ctx: CliContext, opts: { url: string }) => {
        const parsed = PublicUrl.safeParse(opts.url);
        if (!parsed.success) throw new Error(`--url ${opts.url}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        const rows = await subscribeEverything(ctx, parsed.data);
        ctx.output(rows, (r) => process.stdout.write(table(r as unknown as Array<Record<string, unknown>>)));
        if (rows.some((r) => r.status === 'failed')) process.exitCode = 1;
      }),
    );
}
