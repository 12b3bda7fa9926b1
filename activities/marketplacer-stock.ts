// Stock to a Marketplacer channel (the inventory workflow's pushStock, `platform: marketplacer`): Peoplevox is the
// master, Marketplacer shows an absolute countOnHand per variant.
//   SKU → variant   from the channel's variant read (src/connectors/marketplacer/variants.ts); a SKU with no
//                   variant is left out (`unlisted`, as on Mirakl); a variant whose SKU no master item code feeds
//                   (no SKU at all, or one Peoplevox does not have) would never get stock: reported every push
//                   (`unmappedVariants`), an exception for merchandising (VARIANT_UNMAPPED), never silent
//   push            one variantUpdate per row, a few in flight, inside the stock lane of the key's budget (the
//                   client paces; the workflow spaces pushes by the same budget); a row refused by the API is
//                   `rejected` (parked like a Mirakl import's rejected row), a transient failure is `failed`
//                   (pending again); the same absolute figure twice is harmless
//   read-back       right after the push, a sample of the variants is read again (one `nodes` call): a connection
//                   that accepts updates but does not show them (the marketplace's connection inactive) differs
//                   on every row; the workflow raises CHANNEL_CONNECTION_INACTIVE when two pushes in a row do
import type { Logger } from 'pino';
import type { ChannelConfig } from '../src/config/schema';
import type { MarketplacerClient } from '../src/connectors/marketplacer/client';
import type { VariantDirectory } from '../src/connectors/marketplacer/variants';
import { ConnectorError } from '../src/connectors/errors';
import { fnv1a32 } from '../src/domain/keys';
import type { ReadBackReport, UnmappedVariantsReport } from '../src/inventory/targets';
import type { ItemCodeDirectory } from './item-codes';
import { toActivityFailure } from './errors';

export interface MarketplacerStockDeps {
  client(channel: string): MarketplacerClient;
  variants(channel: string): VariantDirectory;
  /** The master's item codes (Peoplevox), to find variants no item feeds. */
  itemCodes: ItemCodeDirectory;
  log: Logger;
  /** variantUpdate calls in flight at once (the lane's pacer still decides when each goes). */
  concurrency?: number;
  /** Rows read back after a push. */
  readBackRows?: number;
}

export interface MarketplacerPushResult {
  acceptedAt: number;
  unlisted: string[];
  failed: string[];
  rejected: Array<{ offerSku: string; quantity: number; message: string }>;
  readBack?: ReadBackReport;
  unmappedVariants?: UnmappedVariantsReport;
}

const SAMPLE = 20;

export function createMarketplacerStock(deps: MarketplacerStockDeps) {
  const unmappedCache = new Map<string, { version: number; report: UnmappedVariantsReport }>();

  /** Variants that no item code feeds, for the directory's current read (computed once per read). */
  async function unmapped(ch: ChannelConfig, dir: VariantDirectory): Promise<UnmappedVariantsReport> {
    const hit = unmappedCache.get(ch.code);
    if (hit && hit.version === dir.version()) return hit.report;
    const out: string[] = [];
    for (const v of dir.variants()) {
      const sku = v.sku?.trim();
      if (!sku) {
        out.push(`(variant ${v.legacyId ?? v.id} has no SKU)`);
        continue;
      }
      const code = ch.skuMap[sku] ?? sku;
      if ((await deps.itemCodes.resolve(code, { refreshOnMiss: false })) === undefined) out.push(sku);
    }
    out.sort();
    const report: UnmappedVariantsReport = {
      count: out.length,
      sample: out.slice(0, SAMPLE),
      fingerprint: out.length ? fnv1a32(out.join('\n')).toString(36) : '',
    };
    unmappedCache.set(ch.code, { version: dir.version(), report });
    return report;
  }

  return {
    async push(ch: ChannelConfig, rows: ReadonlyArray<[string, number]>, key: string): Promise<MarketplacerPushResult> {
      const client = deps.client(ch.code);
      const dir = deps.variants(ch.code);
      try {
        await dir.ensure();
      } catch (err) {
        throw toActivityFailure(err, 'marketplacer', 'adverts', 'SYSTEM_UNAVAILABLE', { key });
      }
      const unlisted: string[] = [];
      const failed: string[] = [];
      const rejected: MarketplacerPushResult['rejected'] = [];
      const sent: Array<{ offerSku: string; variantId: string; quantity: number }> = [];
      const todo: Array<{ offerSku: string; variantId: string; quantity: number }> = [];
      for (const [offerSku, quantity] of rows) {
        const v = await dir.variantFor(offerSku);
        if (v) todo.push({ offerSku, variantId: v.id, quantity: Math.max(0, quantity) });
        else unlisted.push(offerSku);
      }
      let lastTransient: unknown;
      const worker = async () => {
        for (let row = todo.shift(); row; row = todo.shift()) {
          try {
            const r = await client.variantUpdate(row.variantId, row.quantity);
            if (r.errors.length > 0) {
              rejected.push({
                offerSku: row.offerSku,
                quantity: row.quantity,
                message: r.errors.map((e) => `${e.field ?? ''}: ${e.messages.join(', ')}`).join('; '),
              });
            } else sent.push(row);
          } catch (err) {
            if (err instanceof ConnectorError && !err.retryable) {
              if (err.code === 'NOT_FOUND') {
                // The variant is gone: the next push reads the variants again.
                dir.forget(row.variantId);
                unlisted.push(row.offerSku);
              } else rejected.push({ offerSku: row.offerSku, quantity: row.quantity, message: err.message });
            } else {
              lastTransient = err;
              failed.push(row.offerSku);
            }
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, deps.concurrency ?? 8) }, () => worker()));
      if (sent.length === 0 && failed.length > 0) {
        // Nothing got through: a failed push (the rows stay pending, the workflow counts it).
        throw toActivityFailure(lastTransient, 'marketplacer', 'variantUpdate', 'SYSTEM_UNAVAILABLE', { key });
      }
      let readBack: ReadBackReport | undefined;
      if (sent.length > 0) {
        const sample = sent.slice(0, deps.readBackRows ?? SAMPLE);
        try {
          const shown = new Map((await client.variantsByIds(sample.map((s) => s.variantId))).map((v) => [v.id, v]));
          const rowsBack = sample.map((s) => ({
            offerSku: s.offerSku,
            sent: s.quantity,
            shown: shown.get(s.variantId)?.countOnHand ?? null,
          }));
          readBack = {
            checked: rowsBack.length,
            differing: rowsBack.filter((r) => r.shown !== r.sent).length,
            sample: rowsBack.filter((r) => r.shown !== r.sent).slice(0, 5),
          };
        } catch (err) {
          // No read-back this time: the next push checks again.
          deps.log.warn({ channel: ch.code, key, err: (err as Error).message }, 'marketplacer read-back failed');
        }
      }
      deps.log.info(
        {
          channel: ch.code,
          key,
          sent: sent.length,
          unlisted: unlisted.length,
          failed: failed.length,
          rejected: rejected.length,
        },
        'stock pushed (variantUpdate)',
      );
      let unmappedVariants: UnmappedVariantsReport | undefined;
      try {
        unmappedVariants = await unmapped(ch, dir);
      } catch (err) {
        // The master's item codes could not be read: the next push reports them.
        deps.log.warn({ channel: ch.code, err: (err as Error).message }, 'unmapped variants not checked');
      }
      return { acceptedAt: Date.now(), unlisted, failed, rejected, readBack, unmappedVariants };
    },
  };
}

export type MarketplacerStock = ReturnType<typeof createMarketplacerStock>;
