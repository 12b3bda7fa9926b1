// What a person does in the Marketplacer portal before go-live, done for the sandbox (`npm start`, the test
// stacks): one webhook per event type Loopline takes (INVOICE, REFUND_REQUEST), pointing at Loopline's public
// listener and signed with the deployment's HMAC key. In production this is a deployment step
// (docs/deployment.md); the address is marketplacerWebhookUrl(publicUrl, channel).
import axios from 'axios';
import type { Config } from '../../config/schema';
import { marketplacerWebhookUrl } from '../../http/marketplacer-webhooks';
import { SANDBOX_SECRETS } from '../secrets';

export const LOOPLINE_WEBHOOK_TYPES = ['INVOICE', 'REFUND_REQUEST'] as const;

export async function subscribeSandboxMarketplacerWebhooks(opts: {
  sandboxUrl: string;
  config: Config;
  publicUrl: string;
  env?: NodeJS.ProcessEnv;
}): Promise<void> {
  const env = opts.env ?? process.env;
  const keyEnv = opts.config.http.marketplacerHmacKeyEnv;
  const hmacKey = env[keyEnv] ?? SANDBOX_SECRETS[keyEnv];
  const http = axios.create({ baseURL: opts.sandboxUrl, timeout: 10_000 });
  for (const ch of opts.config.channels.filter((c) => c.platform === 'marketplacer' && c.enabled)) {
    const url = marketplacerWebhookUrl(opts.publicUrl, ch.code);
    const { data } = await http.get(`/control/marketplacer/${ch.code}/webhooks`);
    const existing = (data as { webhooks: Array<{ type: string; url: string }> }).webhooks;
    for (const type of LOOPLINE_WEBHOOK_TYPES) {
      if (existing.some((w) => w.type === type && w.url === url)) continue;
      await http.post(`/control/marketplacer/${ch.code}/webhooks`, { type, url, hmacKey });
    }
  }
}
