// Registers Loopline's public address for return events, as a deployment step (and at `npm start`):
// Peoplevox `Returns` (channels whose returns are warehouse-driven) and Reveni's `return.created` /
// `return.updated` per store (Reveni has no documented way to list them, so an existing one is looked for
// where the store answers GET webhooks, and otherwise one is added: deliveries are deduplicated on arrival).
// Neither signs its calls: every URL carries the deployment's callback secret in its path (docs/security.md).
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import type { PeoplevoxClient } from '../connectors/peoplevox/client';
import type { ReveniClient } from '../connectors/reveni/client';
import { peoplevoxCallbackUrl } from '../http/callbacks';
import { reveniWebhookUrl } from '../http/returns-webhooks';
import { callbackSecret } from '../inventory/intake';

export interface ReturnSubscription {
  system: 'peoplevox' | 'reveni';
  channel?: string;
  events: string;
  id?: string;
  error?: string;
}

export async function subscribeReturnEvents(
  deps: { config: Config; peoplevox: PeoplevoxClient; reveni?: (channel: string) => ReveniClient; log: Logger },
  publicUrl: string,
): Promise<ReturnSubscription[]> {
  const out: ReturnSubscription[] = [];
  // Without the secret no callback can be registered (each then reports it); the backstops still run.
  const withSecret = () => callbackSecret(deps.config);
  if (deps.config.channels.some((c) => c.enabled && c.returns === 'warehouse')) {
    try {
      const id = await deps.peoplevox.subscribeEvent(
        'Returns',
        peoplevoxCallbackUrl(publicUrl, withSecret(), 'returns', 'code={ReturnCode}&order={SalesOrderNumber}'),
        { encodeParameterData: true },
      );
      out.push({ system: 'peoplevox', events: 'Returns', id: String(id) });
    } catch (err) {
      // The receipt sweep (a Schedule) still reads every receipt, only later.
      out.push({ system: 'peoplevox', events: 'Returns', error: (err as Error).message });
    }
  }
  for (const ch of deps.config.channels.filter((c) => c.enabled && c.returns === 'reveni')) {
    if (!deps.reveni) continue;
    try {
      const url = reveniWebhookUrl(publicUrl, withSecret(), ch.code);
      const api = deps.reveni(ch.code);
      const existing = await api.listWebhooks();
      const found = existing?.find((w) => w.url === url);
      const id = found ? found.id : await api.subscribe(url, ['return.created', 'return.updated']);
      out.push({ system: 'reveni', channel: ch.code, events: 'return.created, return.updated', id });
    } catch (err) {
      // The return workflows read Reveni back on a timer: slower, never lost.
      out.push({
        system: 'reveni',
        channel: ch.code,
        events: 'return.created, return.updated',
        error: (err as Error).message,
      });
    }
  }
  for (const s of out.filter((x) => x.error)) deps.log.warn(s, 'return events not subscribed');
  return out;
}
