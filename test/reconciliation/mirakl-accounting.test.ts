// SBC11 and TL02 in the Mirakl simulator and the connector: responses conform to Mirakl's official seller
// OpenAPI (mirakl-seller-openapi.json), seek paging returns every row once, the generated cycle adds up, and
// TL02's two documented limits (20 a minute, 60 an hour) are enforced.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import pino from 'pino';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server';
import { miraklSimulator } from '../../src/sandbox/mirakl';
import { MiraklClient } from '../../src/connectors/mirakl/client';
import { ConnectorError } from '../../src/connectors/errors';
import { sandboxCatalogue } from '../../src/sandbox/catalogue';
import { toBillingCycle, toTransactionRow } from '../../src/reconciliation/mirakl';

const SPEC = join(__dirname, '..', 'contracts', 'mirakl-seller-openapi.json');
const TIME_SCALE = 120; // a minute is 500 ms, an hour 30 s
type Validator = ((data: unknown) => boolean) & { errors?: unknown };
let validate: Record<'SBC11' | 'TL02', Validator>;
let sb: RunningSandbox;
let client: MiraklClient;
const CYCLE = '0c3f1a52-7d1e-4c3e-9a55-1b2c3d4e5f60';

function responseValidator(ajv: InstanceType<typeof Ajv2020>, doc: { paths: Record<string, unknown> }, op: string) {
  for (const [path, item] of Object.entries(doc.paths) as Array<[string, Record<string, { operationId?: string }>]>)
    for (const [method, o] of Object.entries(item))
      if (o?.operationId === op)
        return ajv.compile({
          $ref: `mirakl-seller#/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}/${method}/responses/200/content/application~1json/schema`,
        }) as Validator;
  throw new Error(`no ${op} in the spec`);
}

before(async () => {
  const doc = JSON.parse(readFileSync(SPEC, 'utf8')) as { paths: Record<string, unknown> };
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  for (const f of ['with decimals', 'int32', 'int64', 'binary', 'JSON', 'cXML', 'PDF']) ajv.addFormat(f, true);
  ajv.addSchema(doc as object, 'mirakl-seller');
  validate = { SBC11: responseValidator(ajv, doc, 'SBC11'), TL02: responseValidator(ajv, doc, 'TL02') };
  sb = await startSandbox({ log: pino({ level: 'silent' }), port: 0, timeScale: TIME_SCALE }, [
    miraklSimulator({
      channels: [
        {
          code: 'asos',
          apiKey: 'k',
          multiShipment: true,
          partialAcceptance: true,
          hideAddressesUntilAcceptance: true,
          acceptanceWindowMs: 3_600_000,
          leadtimeToShipDays: 2,
          carriers: [],
          catalogue: sandboxCatalogue({ size: 20, stock: 100 }),
        },
      ],
    }),
  ]);
  client = new MiraklClient({ baseUrl: `${sb.url}/mirakl/asos`, apiKey: 'k', timeoutMs: 5000 });
  client.http.interceptors.response.use((res) => {
    const op = /seller-billing-cycles/.test(res.config.url ?? '') ? 'SBC11' : 'TL02';
    const v = validate[op];
    assert.ok(v(res.data), `${op} response conforms to the OpenAPI: ${JSON.stringify(v.errors)?.slice(0, 500)}`);
    return res;
  });
  const catalogue = sandboxCatalogue({ size: 20, stock: 100 });
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${sb.url}/control/mirakl/asos/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        orderId: `ACC-${i}-A`,
        lines: [{ offerSku: catalogue[i % 20]!.sku, quantity: 1 + (i % 2) }],
        shippingPrice: i % 2 ? 3.95 : undefined,
      }),
    });
    ids.push(((await res.json()) as { order_id: string }).order_id);
  }
  const seeded = await fetch(`${sb.url}/control/mirakl/asos/billing-cycles`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      cycleId: CYCLE,
      orderIds: ids,
      refunds: [{ lineId: 'ACC-3-A-1', amountMinor: 500 }],
      extraRows: [{ type: 'SUBSCRIPTION_FEE', amountMinor: -1999, feeCode: 'MONTHLY' }],
      transferredDeltaMinor: 0,
    }),
  });
  assert.equal(seeded.status, 201);
});

after(async () => {
  await sb?.close();
});

test('SBC11 returns the cycle; TL02 pages return every row once; Σ rows = amount transferred to the seller', async () => {
  const { cycles } = await client.listBillingCycles({ ids: [CYCLE] });
  assert.equal(cycles.length, 1);
  const cycle = toBillingCycle(cycles[0]!);
  assert.equal(cycle.payOutState, 'TO_PAY');
  const rows = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await client.listTransactionLogs(token ? { pageToken: token } : { billingCycleId: CYCLE, limit: 17 });
    rows.push(...page.rows.map(toTransactionRow));
    token = page.nextPageToken;
    pages += 1;
  } while (token);
  // 30 orders × (amount, commission, VAT) + 15 shipping rows + 3 refund rows (no shipping refunded) + 1 fee.
  assert.equal(rows.length, 30 * 3 + 15 + 3 + 1);
  assert.equal(pages, Math.ceil(rows.length / 17));
  assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
  assert.equal(
    rows.reduce((n, r) => n + r.amountMinor, 0),
    cycle.transferredToSellerMinor,
  );
  assert.ok(rows.filter((r) => r.type === 'ORDER_AMOUNT').every((r) => r.orderId && r.lineId && r.amountMinor > 0));
  assert.ok(rows.filter((r) => r.type === 'COMMISSION_FEE').every((r) => r.amountMinor < 0));
});

test('the simulator refuses a TL02 limit above 2000', async () => {
  await client.listTransactionLogs({ billingCycleId: CYCLE, limit: 2000 });
  await assert.rejects(
    client
      .listTransactionLogs({ billingCycleId: CYCLE, limit: 2000, pageToken: undefined })
      .then(() => client.http.get('/api/sellerpayment/transactions_logs', { params: { limit: 2001 } })),
    (e: Error) => /400/.test(e.message),
  );
});

test('TL02 is limited to 20 calls a minute and 60 an hour (429 with Retry-After)', async () => {
  sb.ctx.rateLimits.reset();
  const burst = async (n: number) => {
    const out: Array<number | 'ok'> = [];
    for (let i = 0; i < n; i++) {
      try {
        await client.listTransactionLogs({ billingCycleId: CYCLE, limit: 1 });
        out.push('ok');
      } catch (e) {
        assert.ok(e instanceof ConnectorError && e.status === 429, String(e));
        assert.ok(e.retryAfterMs! >= 1000);
        out.push(429);
      }
    }
    return out;
  };
  const first = await burst(21);
  assert.equal(first.filter((x) => x === 'ok').length, 20, 'the 21st call in a minute is refused');
  const minute = 60_000 / TIME_SCALE;
  let ok = 20;
  for (let round = 0; round < 3; round++) {
    await new Promise((r) => setTimeout(r, minute + 20));
    ok += (await burst(20)).filter((x) => x === 'ok').length;
  }
  assert.equal(ok, 60, 'no more than 60 in the hour, however the minutes are spread');
  const refused = sb.ctx.calls.list({ endpoint: 'TL02' }).filter((c) => c.rateLimited);
  assert.ok(refused.length >= 21);
});
