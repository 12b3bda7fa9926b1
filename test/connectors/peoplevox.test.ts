// Peoplevox connector units: mapping, dates, pacing, search clauses and error classification against a
// scripted SOAP endpoint. Run: node --import tsx --test test/connectors/peoplevox.test.ts
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { PeoplevoxClient, clauseString } from '../../src/connectors/peoplevox/client';
import { RequestPacer } from '../../src/connectors/peoplevox/pacer';
import {
  despatchesFromReport,
  formatPvxSearchDate,
  parsePvxDate,
  toSalesOrderItemRows,
  toSalesOrderRow,
} from '../../src/connectors/peoplevox/map';
import { ConnectorError } from '../../src/connectors/errors';
import { compileSearchClause } from '../../src/sandbox/peoplevox/search-clause';
import type { MarketplaceOrder } from '../../src/domain/order';

const baseOrder: MarketplaceOrder = {
  channel: 'joules',
  orderId: 'J-1001-A',
  commercialId: 'J-1001',
  state: 'SHIPPING',
  createdAt: '2025-03-01T10:00:00Z',
  updatedAt: '2025-03-01T10:00:00Z',
  shippingDeadline: '2025-03-04T17:00:00Z',
  currency: 'GBP',
  taxMode: 'TAX_INCLUDED',
  shippingMethod: { code: 'NDD', label: 'Next day' },
  customer: { firstName: 'Jane', lastName: 'Roe', email: 'jane@example.com' },
  shippingAddress: {
    firstName: 'Jane',
    lastName: 'Roe',
    line1: '1 High St',
    line2: 'Flat 2',
    city: 'Leeds',
    postcode: 'LS1 1AA',
    countryCode: 'GB',
    instructions: 'Porch',
  },
  billingAddress: null,
  lines: [
    {
      lineId: 'l1',
      index: 1,
      offerSku: 'OFFER-1',
      quantity: 2,
      unitPrice: 1999,
      price: 3998,
      shippingPrice: 0,
      taxes: [{ code: 'VAT', amount: 666 }],
      shippingTaxes: [],
      state: 'SHIPPING',
      cancelledQuantity: 0,
    },
    {
      lineId: 'l2',
      index: 2,
      offerSku: 'OFFER-2',
      quantity: 1,
      unitPrice: 500,
      price: 500,
      shippingPrice: 0,
      taxes: [],
      shippingTaxes: [],
      state: 'SHIPPING',
      cancelledQuantity: 1,
    },
  ],
  totals: { goods: 4498, shipping: 399, total: 4897 },
};

describe('map', () => {
  test('toSalesOrderRow carries money, addresses, service, instructions', () => {
    const row = toSalesOrderRow(baseOrder, { salesOrderNumber: 'JOU-J-1001-A', channelName: 'Joules' });
    assert.equal(row.SalesOrderNumber, 'JOU-J-1001-A');
    assert.equal(row.Customer, 'Jane Roe');
    assert.equal(row.CustomerPurchaseOrderReferenceNumber, 'J-1001');
    assert.equal(row.ShippingAddressCountry, 'United Kingdom');
    assert.equal(row.InvoiceAddressLine1, '1 High St', 'billing falls back to shipping');
    assert.equal(row.ShippingCost, '3.99');
    assert.equal(row.TotalSale, '48.97');
    assert.equal(row.TaxPaid, '6.66');
    assert.equal(row.RequestedDeliveryDate, '2025-03-04');
    assert.equal(row.ServiceType, 'Next day');
    assert.equal(row.Email, 'jane@example.com');
    assert.equal(row.ChannelName, 'Joules');
    assert.equal(row.SalesOrderAttribute1, 'Porch');
    const custom = toSalesOrderRow(baseOrder, {
      salesOrderNumber: 'X',
      channelName: 'J',
      instructionsColumn: 'DeliveryNotes',
    });
    assert.equal(custom.DeliveryNotes, 'Porch');
    const longName = toSalesOrderRow(
      {
        ...baseOrder,
        shippingAddress: { ...baseOrder.shippingAddress, firstName: 'A'.repeat(40), lastName: 'B'.repeat(40) },
      },
      { salesOrderNumber: 'X', channelName: 'J' },
    );
    assert.equal(String(longName.Customer).length, 50);
  });

  test('toSalesOrderItemRows skips fully cancelled lines and maps item codes', () => {
    const items = toSalesOrderItemRows(baseOrder, {
      salesOrderNumber: 'S',
      itemCodeFor: (s) => s.replace('OFFER', 'ITEM'),
    });
    assert.deepEqual(items, [
      {
        SalesOrderNumber: 'S',
        ItemCode: 'ITEM-1',
        QuantityOrdered: 2,
        RequestedDeliveryDate: '2025-03-04',
        Line: 1,
        SalePrice: '19.99',
      },
    ]);
  });

  test('despatchesFromReport groups rows by despatch number', () => {
    const d = despatchesFromReport([
      {
        'Salesorder number': 'S1',
        'Despatch number': 'DES1',
        'Despatch date': '02/03/2025 14:05',
        'Tracking number': 'T1',
        Carrier: 'DPD',
        'Item code': 'A',
        'No of items': '2',
      },
      {
        'Salesorder number': 'S1',
        'Despatch number': 'DES1',
        'Despatch date': '02/03/2025 14:05',
        'Tracking number': 'T1',
        Carrier: 'DPD',
        'Item code': 'B',
        'No of items': '',
      },
      {
        'Salesorder number': 'S1',
        'Despatch number': 'DES2',
        'Despatch date': '03/03/2025 09:00',
        'Tracking number': 'T2',
        'Carrier reference': 'RM',
        'Item code': 'A',
        'No of items': '1',
      },
      {
        'Salesorder number': 'S1',
        'Despatch number': 'DES1',
        'Despatch date': '02/03/2025 14:05',
        'Item code': 'A',
        'No of items': '1',
      },
    ]);
    assert.deepEqual(d, [
      {
        despatchNumber: 'DES1',
        salesOrderNumber: 'S1',
        trackingNumber: 'T1',
        carrier: 'DPD',
        despatchedAt: '2025-03-02T14:05:00.000Z',
        items: [
          { itemCode: 'A', quantity: 3 },
          { itemCode: 'B', quantity: 1 },
        ],
      },
      {
        despatchNumber: 'DES2',
        salesOrderNumber: 'S1',
        trackingNumber: 'T2',
        carrier: 'RM',
        despatchedAt: '2025-03-03T09:00:00.000Z',
        items: [{ itemCode: 'A', quantity: 1 }],
      },
    ]);
  });

  test('parsePvxDate / formatPvxSearchDate, including Europe/London summer time', () => {
    assert.equal(parsePvxDate('02/03/2025 14:05'), '2025-03-02T14:05:00.000Z');
    assert.equal(parsePvxDate('2025-03-02 14:05:07'), '2025-03-02T14:05:07.000Z');
    assert.equal(parsePvxDate('2025-03-02T14:05:07+01:00'), '2025-03-02T13:05:07.000Z');
    assert.equal(parsePvxDate('02/07/2025 14:05', 'Europe/London'), '2025-07-02T13:05:00.000Z');
    assert.equal(parsePvxDate('02/01/2025 14:05', 'Europe/London'), '2025-01-02T14:05:00.000Z');
    assert.equal(parsePvxDate(''), undefined);
    assert.equal(parsePvxDate('yesterday'), undefined);
    assert.equal(formatPvxSearchDate('2025-07-02T13:05:59Z'), 'DateTime(2025,07,02,13,05,59)');
    assert.equal(formatPvxSearchDate('2025-07-02T13:05:59Z', 'Europe/London'), 'DateTime(2025,07,02,14,05,59)');
  });

  test('report dates quoted inside the CSV field are read (as real Despatch summary exports show them)', () => {
    assert.equal(parsePvxDate("'03/07/2017 06:03'"), '2017-07-03T06:03:00.000Z');
    assert.equal(parsePvxDate(" '03/07/2017 06:03:09' "), '2017-07-03T06:03:09.000Z');
    assert.equal(parsePvxDate("'03/07/2017 06:03'", 'Europe/London'), '2017-07-03T05:03:00.000Z');
    const [d] = despatchesFromReport([
      {
        'Salesorder number': 'S-1',
        'Despatch number': 'DES1',
        'Despatch date': "'03/07/2017 06:03'",
        'Item code': 'X',
        'No of items': '7',
      },
    ]);
    assert.equal(d!.despatchedAt, '2017-07-03T06:03:00.000Z');
  });
});

describe('search clauses (simulator parser)', () => {
  const rows = [
    { SalesOrderNumber: 'A-1', Status: 'New', CreatedDate: '2025-03-01T10:00:00' },
    { SalesOrderNumber: 'A-2', Status: 'Picking', CreatedDate: '2025-03-05T10:00:00' },
    { SalesOrderNumber: 'B"3', Status: 'New', CreatedDate: '2025-03-09T10:00:00' },
  ];
  const cols = Object.keys(rows[0]!);
  const run = (c: string) => rows.filter(compileSearchClause(c, cols)).map((r) => r.SalesOrderNumber);
  test('equality, methods, logic and dates', () => {
    assert.deepEqual(run('SalesOrderNumber.Equals("A-1")'), ['A-1']);
    assert.deepEqual(run('salesordernumber == "A-2"'), ['A-2']);
    assert.deepEqual(run('SalesOrderNumber.StartsWith("A") AND Status != "New"'), ['A-2']);
    assert.deepEqual(run('!(Status == "New") OR SalesOrderNumber.Equals("A-1")'), ['A-1', 'A-2']);
    assert.deepEqual(run('CreatedDate >= DateTime(2025,03,05,00,00,00)'), ['A-2', 'B"3']);
    assert.deepEqual(run(`CreatedDate < '2025-03-05 00:00'`), ['A-1']);
    assert.deepEqual(run(`SalesOrderNumber.Equals(${clauseString('B"3')})`), ['B"3']);
    const report = [{ 'Despatch date': '02/03/2025 14:05', 'Salesorder number': 'X' }];
    const p = compileSearchClause(
      `([Salesorder number].Equals("X")) AND [Despatch date] > '2025-03-02 14:00'`,
      Object.keys(report[0]!),
    );
    assert.equal(p(report[0]!), true);
    assert.throws(() => compileSearchClause('Nope == "x"', cols), /unknown field/);
    assert.throws(() => compileSearchClause('Status == ', cols), /unexpected/);
  });
});

describe('RequestPacer', () => {
  test('spaces requests at the configured rate', async () => {
    const pacer = new RequestPacer(50); // ≥ 20.4 ms apart
    const times: number[] = [];
    await Promise.all(Array.from({ length: 6 }, () => pacer.take().then(() => times.push(Date.now()))));
    for (let i = 1; i < times.length; i++)
      assert.ok(times[i]! - times[i - 1]! >= 20, `gap ${times[i]! - times[i - 1]!}`);
  });
});

describe('client error classification (scripted endpoint)', () => {
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_' });
  const parser = new XMLParser({ removeNSPrefix: true, parseTagValue: false });
  let app: FastifyInstance;
  let url: string;
  let script: (
    op: string,
    body: Record<string, unknown>,
  ) => { status?: number; result?: Record<string, unknown>; fault?: [string, string] };
  const seen: Array<{ op: string; sessionId?: string; soapAction?: string }> = [];
  let sessions = 0;

  const respond = (op: string, result: Record<string, unknown>) =>
    builder.build({
      'soap:Envelope': {
        '@_xmlns:soap': 'http://schemas.xmlsoap.org/soap/envelope/',
        'soap:Body': { [`${op}Response`]: { '@_xmlns': 'http://www.peoplevox.net/', [`${op}Result`]: result } },
      },
    });

  before(async () => {
    app = Fastify();
    app.addContentTypeParser('text/xml', { parseAs: 'string' }, (_r, b, done) => done(null, b));
    app.post('/t1/resources/integrationservicev4.asmx', async (req, reply) => {
      const doc = parser.parse(String(req.body)) as {
        Envelope: {
          Header?: { UserSessionCredentials?: { SessionId?: string } };
          Body: Record<string, Record<string, unknown>>;
        };
      };
      const op = Object.keys(doc.Envelope.Body)[0]!;
      seen.push({
        op,
        sessionId: doc.Envelope.Header?.UserSessionCredentials?.SessionId,
        soapAction: String(req.headers.soapaction),
      });
      if (op === 'Authenticate')
        return reply
          .type('text/xml')
          .send(respond(op, { ResponseId: 0, TotalCount: 0, Detail: `t1,session-${++sessions}` }));
      const s = script(op, doc.Envelope.Body[op]!);
      if (s.fault) {
        return reply
          .code(s.status ?? 500)
          .type('text/xml')
          .send(
            builder.build({
              'soap:Envelope': {
                '@_xmlns:soap': 'http://schemas.xmlsoap.org/soap/envelope/',
                'soap:Body': { 'soap:Fault': { faultcode: s.fault[0], faultstring: s.fault[1] } },
              },
            }),
          );
      }
      return reply
        .code(s.status ?? 200)
        .type('text/xml')
        .send(respond(op, s.result ?? {}));
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => app.close());

  const client = () =>
    new PeoplevoxClient({
      baseUrl: url,
      clientId: 't1',
      username: 'u',
      password: 'p',
      requestsPerSecond: 200,
      timeoutMs: 2000,
    });

  test('SOAPAction header and session header are sent; Invalid Session twice is retryable', async () => {
    seen.length = 0;
    script = () => ({ result: { ResponseId: -1, TotalCount: 0, Detail: 'Invalid Session' } });
    await assert.rejects(
      client().getData('Item types'),
      (e: unknown) => e instanceof ConnectorError && e.retryable && e.code === 'INVALID_SESSION',
    );
    assert.deepEqual(
      seen.map((s) => s.op),
      ['Authenticate', 'GetData', 'Authenticate', 'GetData'],
    );
    assert.equal(seen[1]!.soapAction, '"http://www.peoplevox.net/GetData"');
    assert.notEqual(seen[1]!.sessionId, seen[3]!.sessionId);
  });

  test('SOAP faults: Client → non-retryable, Server → retryable; transient Detail → retryable', async () => {
    script = () => ({ fault: ['soap:Client', 'Server was unable to read request.'] });
    await assert.rejects(
      client().getData('Item types'),
      // The fault text is Peoplevox's own words: in the detail (encrypted failure details), not the message.
      (e: unknown) =>
        e instanceof ConnectorError &&
        !e.retryable &&
        /unable to read/.test(e.opts.detail ?? '') &&
        !/unable to read/.test(e.message) &&
        /SOAP fault soap:Client/.test(e.message),
    );
    script = () => ({ fault: ['soap:Server', 'Server was unable to process request. ---> Deadlock'] });
    await assert.rejects(
      client().getData('Item types'),
      (e: unknown) => e instanceof ConnectorError && e.retryable && e.status === 500,
    );
    script = () => ({ result: { ResponseId: -1, TotalCount: 0, Detail: 'The operation has timed out' } });
    await assert.rejects(
      client().getData('Item types'),
      (e: unknown) => e instanceof ConnectorError && e.retryable && e.code === 'PVX_TRANSIENT',
    );
    script = () => ({ result: { ResponseId: -1, TotalCount: 0, Detail: "Template 'Nope' not found" } });
    await assert.rejects(
      client().getData('Nope'),
      (e: unknown) => e instanceof ConnectorError && !e.retryable && e.code === 'PVX_ERROR',
    );
  });

  test('Error rows without a Message take the matching Detail line', async () => {
    script = (op) =>
      op === 'GetSaveTemplate'
        ? { result: { ResponseId: 0, TotalCount: 2, Detail: 'SalesOrderNumber,Customer' } }
        : {
            result: {
              ResponseId: -1,
              TotalCount: 1,
              Detail: 'S-9: Customer is too long',
              Statuses: { IntegrationStatusResponse: { Reference: 'S-9', Status: 'Error' } },
            },
          };
    await assert.rejects(
      client().createSalesOrder({ SalesOrderNumber: 'S-9', Customer: 'x' }, []),
      (e: unknown) =>
        e instanceof ConnectorError &&
        !e.retryable &&
        e.code === 'WMS_REJECTED' &&
        /Customer is too long/.test(e.opts.detail ?? '') &&
        e.message === 'peoplevox SaveData: Sales orders rejected 1 row(s): S-9',
    );
  });

  const template = (op: string) =>
    op === 'GetSaveTemplate'
      ? { result: { ResponseId: 0, TotalCount: 2, Detail: 'SalesOrderNumber,Status,ItemCode,QuantityOrdered' } }
      : undefined;

  test('SaveData without Statuses: ResponseId 0 and TotalCount are success, as public clients read it', async () => {
    script = (op) => template(op) ?? { result: { ResponseId: 0, TotalCount: 1, Detail: '' } };
    const c = client();
    assert.deepEqual(
      await c.createSalesOrder({ SalesOrderNumber: 'S-1' }, [
        { SalesOrderNumber: 'S-1', ItemCode: 'A', QuantityOrdered: 1 },
      ]),
      { salesOrderNumber: 'S-1' },
    );
    assert.deepEqual(await c.cancelSalesOrder('S-1'), { cancelled: true, status: 'Cancelled' });
    // Fewer rows saved than sent, and nothing said about the rest: not a success.
    script = (op) => template(op) ?? { result: { ResponseId: 0, TotalCount: 1, Detail: '' } };
    await assert.rejects(
      c.saveData('Sales orders', [{ SalesOrderNumber: 'S-2' }, { SalesOrderNumber: 'S-3' }]),
      (e: unknown) =>
        e instanceof ConnectorError && !e.retryable && e.code === 'WMS_REJECTED' && /1 of 2/.test(e.message),
    );
  });

  test('a cancellation refused without Statuses is read from Detail; any other -1 is a named, final failure', async () => {
    script = (op) =>
      template(op) ?? {
        result: { ResponseId: -1, TotalCount: 1, Detail: 'Line 1 (S-1): cannot cancel: order is Picking' },
      };
    assert.deepEqual(await client().cancelSalesOrder('S-1'), { cancelled: false, status: 'Picking' });
    script = (op) =>
      template(op) ?? { result: { ResponseId: -1, TotalCount: 0, Detail: 'Line 1 (S-1): Status is locked' } };
    await assert.rejects(
      client().cancelSalesOrder('S-1'),
      (e: unknown) =>
        // The remote words travel in the (encrypted) details, never in the message (docs/security.md).
        e instanceof ConnectorError &&
        !e.retryable &&
        e.code === 'WMS_REJECTED' &&
        /locked/.test(e.opts.detail ?? '') &&
        !/locked/.test(e.message),
    );
  });

  test('a response without ResponseId is never read as success: retryable PVX_MALFORMED, for reads and saves', async () => {
    script = (op) => template(op) ?? { result: { TotalCount: 1, Detail: '' } };
    await assert.rejects(
      client().createSalesOrder({ SalesOrderNumber: 'S-1' }, []),
      (e: unknown) => e instanceof ConnectorError && e.retryable && e.code === 'PVX_MALFORMED',
    );
    script = () => ({ result: { ResponseId: '', TotalCount: 0, Detail: 'ItemCode\nA' } });
    await assert.rejects(
      client().getData('Item types'),
      (e: unknown) => e instanceof ConnectorError && e.retryable && e.code === 'PVX_MALFORMED',
    );
  });

  test('an availability report without the Available column is refused, never read as zeros', async () => {
    const report = (detail: string, total: number) => () => ({
      result: { ResponseId: 0, TotalCount: total, Detail: detail },
    });
    script = report('Item code,Name,Site reference\nA,Alpha,MAIN\nB,Beta,MAIN', 2);
    await assert.rejects(
      client().listAvailability(),
      (e: unknown) =>
        e instanceof ConnectorError &&
        !e.retryable &&
        e.code === 'REPORT_MISSING_COLUMN' &&
        /no 'Available' column/.test(e.message),
    );
    // Columns in another case are fine; a row whose figure is unreadable is left out, not zero.
    script = report('item code,AVAILABLE\nA,5\nB,n/a\nC,0', 3);
    assert.deepEqual(await client().listAvailability(), [
      { itemCode: 'A', available: 5 },
      { itemCode: 'C', available: 0 },
    ]);
    // A despatch report without Despatch number cannot be grouped: refused too.
    script = report("Salesorder number,Despatch date,Item code\nS-1,'03/07/2017 06:03',A", 1);
    await assert.rejects(
      client().listDespatches({ salesOrderNumber: 'S-1' }),
      (e: unknown) =>
        e instanceof ConnectorError && e.code === 'REPORT_MISSING_COLUMN' && /Despatch number/.test(e.message),
    );
  });

  test('despatch reads filter with DateTime(...) and read quoted report dates', async () => {
    let clause = '';
    script = (_op, body) => {
      clause = String((body.getReportRequest as Record<string, unknown>).SearchClause ?? '');
      return {
        result: {
          ResponseId: 0,
          TotalCount: 1,
          Detail:
            "Salesorder number,Despatch number,Despatch date,Tracking number,Carrier,Item code,No of items\nS-1,DES1,'03/07/2017 06:03',T1,DPD,A,2",
        },
      };
    };
    const [d] = await client().listDespatches({ sinceIso: '2017-07-01T00:00:00Z' });
    assert.equal(clause, '([Despatch date] >= DateTime(2017,07,01,00,00,00))');
    assert.equal(d!.despatchedAt, '2017-07-03T06:03:00.000Z');
    assert.deepEqual(d!.items, [{ itemCode: 'A', quantity: 2 }]);
  });

  test('"Session Expired" re-authenticates like "Invalid Session"', async () => {
    seen.length = 0;
    let first = true;
    script = () => {
      if (first) {
        first = false;
        return { result: { ResponseId: -1, TotalCount: 0, Detail: 'System : Security - Session Expired' } };
      }
      return { result: { ResponseId: 0, TotalCount: 1, Detail: 'ItemCode\nA' } };
    };
    const page = await client().getData('Item types');
    assert.deepEqual(page.rows, [{ ItemCode: 'A' }]);
    assert.deepEqual(
      seen.map((s) => s.op),
      ['Authenticate', 'GetData', 'Authenticate', 'GetData'],
    );
  });
});
