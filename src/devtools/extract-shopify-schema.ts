// Writes src/sandbox/shopify/admin-schema.generated.ts: the part of Shopify's real Admin GraphQL schema the
// simulator serves, with the real types, nullability, arguments, input types and enums (CountryCode,
// CurrencyCode, WebhookSubscriptionTopic, …), descriptions left out. Object types keep only the fields the
// simulator resolves (OUTPUT below); input types, enums and scalars they reach are copied whole.
//
// Input: an introspected SDL of the version, e.g. config/admin-graphql/2026-04/schema.graphql from the
// public airhorns/shopify-draft-proxy repository (captured from Shopify's admin-graphql-direct-proxy).
//   tsx src/devtools/extract-shopify-schema.ts <schema.graphql> <version> <source note>
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  astFromValue,
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isObjectType,
  isScalarType,
  print,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

/** Object types and the fields of each that the simulator serves. */
export const OUTPUT: Record<string, string[]> = {
  QueryRoot: ['orders', 'order', 'productVariants', 'inventoryItems', 'shop', 'webhookSubscriptions'],
  Mutation: ['orderCreate', 'webhookSubscriptionCreate', 'inventorySetQuantities'],
  Shop: ['name', 'myshopifyDomain', 'currencyCode'],
  Order: [
    'id',
    'name',
    'createdAt',
    'cancelledAt',
    'sourceIdentifier',
    'sourceName',
    'tags',
    'email',
    'note',
    'customAttributes',
    'currencyCode',
    'taxesIncluded',
    'displayFulfillmentStatus',
    'metafield',
    'metafields',
    'lineItems',
    'shippingLines',
    'shippingAddress',
    'totalPriceSet',
    'totalTaxSet',
    'fulfillments',
    'fulfillmentOrders',
    'refunds',
  ],
  OrderConnection: ['nodes', 'pageInfo'],
  Attribute: ['key', 'value'],
  MailingAddress: [
    'firstName',
    'lastName',
    'company',
    'address1',
    'address2',
    'city',
    'provinceCode',
    'zip',
    'countryCodeV2',
    'phone',
  ],
  LineItem: ['id', 'sku', 'title', 'quantity', 'variant', 'originalUnitPriceSet', 'taxLines'],
  LineItemConnection: ['nodes', 'pageInfo'],
  ShippingLine: ['title', 'code', 'originalPriceSet', 'taxLines'],
  ShippingLineConnection: ['nodes', 'pageInfo'],
  TaxLine: ['title', 'rate', 'priceSet'],
  MoneyV2: ['amount', 'currencyCode'],
  MoneyBag: ['shopMoney'],
  PageInfo: ['hasNextPage', 'hasPreviousPage', 'startCursor', 'endCursor'],
  Metafield: ['namespace', 'key', 'type', 'value'],
  MetafieldConnection: ['nodes', 'pageInfo'],
  Location: ['id', 'name'],
  InventoryQuantity: ['name', 'quantity'],
  InventoryLevel: ['id', 'location', 'item', 'quantities', 'updatedAt'],
  InventoryLevelConnection: ['nodes', 'pageInfo'],
  InventoryItem: ['id', 'sku', 'tracked', 'variant', 'inventoryLevels'],
  InventoryItemConnection: ['nodes', 'pageInfo'],
  ProductVariant: ['id', 'sku', 'title', 'price', 'inventoryItem'],
  ProductVariantConnection: ['nodes', 'pageInfo'],
  FulfillmentTrackingInfo: ['company', 'number', 'url'],
  FulfillmentLineItem: ['id', 'quantity', 'lineItem'],
  FulfillmentLineItemConnection: ['nodes', 'pageInfo'],
  Fulfillment: ['id', 'status', 'createdAt', 'trackingInfo', 'fulfillmentLineItems'],
  FulfillmentOrderLineItem: ['id', 'totalQuantity', 'remainingQuantity', 'lineItem'],
  FulfillmentOrderLineItemConnection: ['nodes', 'pageInfo'],
  FulfillmentOrder: ['id', 'status', 'lineItems'],
  FulfillmentOrderConnection: ['nodes', 'pageInfo'],
  RefundLineItem: ['id', 'quantity', 'restockType', 'lineItem'],
  RefundLineItemConnection: ['nodes', 'pageInfo'],
  Refund: ['id', 'note', 'createdAt', 'processedAt', 'refundLineItems'],
  OrderCreatePayload: ['order', 'userErrors'],
  OrderCreateUserError: ['field', 'message', 'code'],
  UserError: ['field', 'message'],
  WebhookSubscription: ['id', 'topic', 'uri', 'callbackUrl', 'format', 'createdAt'],
  WebhookSubscriptionConnection: ['nodes', 'pageInfo'],
  WebhookSubscriptionCreatePayload: ['webhookSubscription', 'userErrors'],
  InventorySetQuantitiesPayload: ['inventoryAdjustmentGroup', 'userErrors'],
  InventorySetQuantitiesUserError: ['field', 'message', 'code'],
  InventoryAdjustmentGroup: ['id', 'reason', 'referenceDocumentUri', 'changes'],
  InventoryChange: ['name', 'delta', 'quantityAfterChange'],
};

function deprecation(reason: string | null | undefined): string {
  return reason ? ` @deprecated(reason: ${JSON.stringify(reason)})` : '';
}

function defaultOf(a: GraphQLArgument | GraphQLInputField): string {
  if (a.defaultValue === undefined) return '';
  const ast = astFromValue(a.defaultValue, a.type);
  return ast ? ` = ${print(ast)}` : '';
}

export function extract(schema: GraphQLSchema): string {
  const out: string[] = [];
  const done = new Set<string>();
  const queue: GraphQLNamedType[] = [];
  const need = (t: GraphQLNamedType) => {
    if (!done.has(t.name)) {
      done.add(t.name);
      queue.push(t);
    }
  };
  const args = (list: readonly GraphQLArgument[]) => {
    if (list.length === 0) return '';
    for (const a of list) need(getNamedType(a.type));
    return `(${list.map((a) => `${a.name}: ${String(a.type)}${defaultOf(a)}${deprecation(a.deprecationReason)}`).join(', ')})`;
  };
  for (const name of Object.keys(OUTPUT)) {
    const t = schema.getType(name);
    if (!t) throw new Error(`no type ${name} in the schema`);
    need(t);
  }
  while (queue.length > 0) {
    const t = queue.shift()!;
    if (isObjectType(t)) {
      const wanted = OUTPUT[t.name];
      if (!wanted) throw new Error(`object type ${t.name} is reached but not listed in OUTPUT`);
      const fields = t.getFields();
      const lines = wanted.map((f) => {
        const field: GraphQLField<unknown, unknown> | undefined = fields[f];
        if (!field) throw new Error(`${t.name}.${f} is not in the schema`);
        need(getNamedType(field.type));
        return `  ${f}${args(field.args)}: ${String(field.type)}${deprecation(field.deprecationReason)}`;
      });
      out.push(`type ${t.name} {\n${lines.join('\n')}\n}`);
    } else if (isInputObjectType(t)) {
      const lines = Object.values(t.getFields()).map((f) => {
        need(getNamedType(f.type));
        return `  ${f.name}: ${String(f.type)}${defaultOf(f)}${deprecation(f.deprecationReason)}`;
      });
      out.push(`input ${t.name} {\n${lines.join('\n')}\n}`);
    } else if (isEnumType(t)) {
      const values = t.getValues().map((v) => `  ${v.name}${deprecation(v.deprecationReason)}`);
      out.push(`enum ${t.name} {\n${values.join('\n')}\n}`);
    } else if (isScalarType(t)) {
      if (!['String', 'Int', 'Float', 'Boolean', 'ID'].includes(t.name)) out.push(`scalar ${t.name}`);
    } else {
      throw new Error(`${t.name}: interfaces and unions are not extracted`);
    }
  }
  const idempotent = schema.getDirective('idempotent');
  if (idempotent) {
    const a = idempotent.args.map((x) => `${x.name}: ${String(x.type)}`).join(', ');
    out.unshift(`directive @idempotent(${a}) on ${idempotent.locations.join(' | ')}`);
  }
  out.push('schema {\n  query: QueryRoot\n  mutation: Mutation\n}');
  return out.join('\n\n');
}

if (require.main === module) {
  const [file, version, source] = process.argv.slice(2);
  if (!file || !version || !source) {
    process.stderr.write('usage: tsx src/devtools/extract-shopify-schema.ts <schema.graphql> <version> <source>\n');
    process.exit(2);
  }
  const schema = buildSchema(readFileSync(file, 'utf8'), { assumeValidSDL: true });
  const sdl = extract(schema);
  const target = join(__dirname, '..', 'sandbox', 'shopify', 'admin-schema.generated.ts');
  writeFileSync(
    target,
    [
      `// GENERATED by src/devtools/extract-shopify-schema.ts: do not edit by hand.`,
      `// Shopify Admin GraphQL ${version}: the types the simulator serves, with Shopify's own names, nullability,`,
      `// arguments, input types and enum values; descriptions left out. Source: ${source}.`,
      `export const ADMIN_SCHEMA_VERSION = ${JSON.stringify(version)};`,
      `export const ADMIN_SDL = ${JSON.stringify(sdl)};`,
      '',
    ].join('\n'),
  );
  process.stdout.write(`${target}: ${sdl.length} characters, ${sdl.split('\n\n').length} definitions\n`);
}
