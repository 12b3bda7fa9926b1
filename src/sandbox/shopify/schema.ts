// The subset of the Shopify Admin GraphQL schema Loopline uses, as SDL executed by graphql-js.
// Field names and shapes follow the Admin API (2026-04); what is left out is simply not there, so a
// query for it fails validation the way a typo would against the real API.
export const SHOPIFY_SDL = /* GraphQL */ `
  "2026-04: mutations that create or change state take an idempotency key (docs/sandbox/shopify.md)."
  directive @idempotent(key: String!) on FIELD

  scalar Decimal
  scalar DateTime

  type MoneyV2 {
    amount: Decimal!
    currencyCode: String!
  }
  type MoneyBag {
    shopMoney: MoneyV2!
  }
  type TaxLine {
    title: String!
    rate: Float
    priceSet: MoneyBag!
  }
  type PageInfo {
    hasNextPage: Boolean!
    endCursor: String
  }
  type Metafield {
    namespace: String!
    key: String!
    type: String!
    value: String!
  }
  type MetafieldConnection {
    nodes: [Metafield!]!
  }
  type Location {
    id: ID!
    name: String!
  }
  type InventoryQuantity {
    name: String!
    quantity: Int!
  }
  type InventoryLevel {
    id: ID!
    location: Location!
    item: InventoryItem!
    quantities(names: [String!]!): [InventoryQuantity!]!
    updatedAt: DateTime!
  }
  type InventoryLevelConnection {
    nodes: [InventoryLevel!]!
    pageInfo: PageInfo!
  }
  type InventoryItem {
    id: ID!
    sku: String
    tracked: Boolean!
    variant: ProductVariant
    inventoryLevels(first: Int!): InventoryLevelConnection!
  }
  type InventoryItemConnection {
    nodes: [InventoryItem!]!
    pageInfo: PageInfo!
  }
  type ProductVariant {
    id: ID!
    sku: String
    title: String!
    price: Decimal!
    inventoryItem: InventoryItem!
  }
  type ProductVariantConnection {
    nodes: [ProductVariant!]!
    pageInfo: PageInfo!
  }
  type LineItem {
    id: ID!
    sku: String
    title: String!
    quantity: Int!
    variant: ProductVariant
    originalUnitPriceSet: MoneyBag!
    taxLines: [TaxLine!]!
  }
  type LineItemConnection {
    nodes: [LineItem!]!
    pageInfo: PageInfo!
  }
  type ShippingLine {
    title: String!
    code: String
    originalPriceSet: MoneyBag!
    taxLines: [TaxLine!]!
  }
  type ShippingLineConnection {
    nodes: [ShippingLine!]!
  }
  type TrackingInfo {
    company: String
    number: String
    url: String
  }
  type FulfillmentLineItem {
    id: ID!
    quantity: Int!
    lineItem: LineItem!
  }
  type FulfillmentLineItemConnection {
    nodes: [FulfillmentLineItem!]!
    pageInfo: PageInfo!
  }
  type Fulfillment {
    id: ID!
    status: String!
    createdAt: DateTime!
    trackingInfo(first: Int): [TrackingInfo!]!
    fulfillmentLineItems(first: Int!): FulfillmentLineItemConnection!
  }
  type FulfillmentOrderLineItem {
    id: ID!
    totalQuantity: Int!
    remainingQuantity: Int!
    lineItem: LineItem!
  }
  type FulfillmentOrderLineItemConnection {
    nodes: [FulfillmentOrderLineItem!]!
  }
  type FulfillmentOrder {
    id: ID!
    status: String!
    lineItems(first: Int!): FulfillmentOrderLineItemConnection!
  }
  type FulfillmentOrderConnection {
    nodes: [FulfillmentOrder!]!
  }
  type RefundLineItem {
    id: ID!
    quantity: Int!
    restockType: String!
    lineItem: LineItem!
  }
  type RefundLineItemConnection {
    nodes: [RefundLineItem!]!
    pageInfo: PageInfo!
  }
  type Refund {
    id: ID!
    note: String
    createdAt: DateTime!
    refundLineItems(first: Int!): RefundLineItemConnection!
  }
  type Order {
    id: ID!
    name: String!
    createdAt: DateTime!
    cancelledAt: DateTime
    sourceIdentifier: String
    sourceName: String
    tags: [String!]!
    email: String
    currencyCode: String!
    taxesIncluded: Boolean!
    displayFulfillmentStatus: String!
    metafield(namespace: String!, key: String!): Metafield
    metafields(first: Int!): MetafieldConnection!
    lineItems(first: Int!): LineItemConnection!
    shippingLines(first: Int!): ShippingLineConnection!
    totalPriceSet: MoneyBag!
    totalTaxSet: MoneyBag!
    fulfillments(first: Int): [Fulfillment!]!
    fulfillmentOrders(first: Int!): FulfillmentOrderConnection!
    refunds(first: Int): [Refund!]!
  }
  type OrderConnection {
    nodes: [Order!]!
    pageInfo: PageInfo!
  }
  type UserError {
    field: [String!]
    message: String!
  }
  type OrderCreateUserError {
    field: [String!]
    message: String!
    code: String
  }
  type OrderCreatePayload {
    order: Order
    userErrors: [OrderCreateUserError!]!
  }
  enum WebhookSubscriptionTopic {
    ORDERS_CREATE
    FULFILLMENTS_CREATE
    REFUNDS_CREATE
    INVENTORY_LEVELS_UPDATE
  }
  type WebhookSubscription {
    id: ID!
    topic: WebhookSubscriptionTopic!
    callbackUrl: String!
  }
  type WebhookSubscriptionCreatePayload {
    webhookSubscription: WebhookSubscription
    userErrors: [UserError!]!
  }
  type InventoryChange {
    name: String!
    delta: Int!
    quantityAfterChange: Int
  }
  type InventoryAdjustmentGroup {
    id: ID!
    reason: String!
    referenceDocumentUri: String
    changes: [InventoryChange!]!
  }
  type InventoryUserError {
    field: [String!]
    message: String!
    code: String
  }
  type InventorySetQuantitiesPayload {
    inventoryAdjustmentGroup: InventoryAdjustmentGroup
    userErrors: [InventoryUserError!]!
  }

  input MoneyInput {
    amount: Decimal!
    currencyCode: String!
  }
  input MoneyBagInput {
    shopMoney: MoneyInput!
  }
  input TaxLineInput {
    title: String!
    rate: Decimal!
    priceSet: MoneyBagInput!
  }
  input OrderCreateLineItemInput {
    variantId: ID
    sku: String
    title: String
    quantity: Int!
    priceSet: MoneyBagInput
    taxLines: [TaxLineInput!]
    requiresShipping: Boolean
  }
  input OrderCreateShippingLineInput {
    title: String!
    code: String
    priceSet: MoneyBagInput!
    taxLines: [TaxLineInput!]
  }
  input MailingAddressInput {
    firstName: String
    lastName: String
    company: String
    address1: String
    address2: String
    city: String
    provinceCode: String
    zip: String
    countryCode: String
    phone: String
  }
  input MetafieldInput {
    namespace: String!
    key: String!
    type: String!
    value: String!
  }
  input OrderCreateOrderInput {
    currency: String
    email: String
    note: String
    lineItems: [OrderCreateLineItemInput!]!
    shippingLines: [OrderCreateShippingLineInput!]
    shippingAddress: MailingAddressInput
    billingAddress: MailingAddressInput
    sourceIdentifier: String
    sourceName: String
    tags: [String!]
    metafields: [MetafieldInput!]
    taxesIncluded: Boolean
    financialStatus: String
  }
  input OrderCreateOptionsInput {
    inventoryBehaviour: String
    sendReceipt: Boolean
    sendFulfillmentReceipt: Boolean
  }
  input WebhookSubscriptionInput {
    callbackUrl: String!
    format: String
  }
  input InventoryQuantityInput {
    inventoryItemId: ID!
    locationId: ID!
    quantity: Int!
    changeFromQuantity: Int
  }
  input InventorySetQuantitiesInput {
    name: String!
    reason: String!
    referenceDocumentUri: String
    quantities: [InventoryQuantityInput!]!
  }

  type Query {
    orders(first: Int!, after: String, query: String): OrderConnection!
    order(id: ID!): Order
    productVariants(first: Int!, after: String, query: String): ProductVariantConnection!
    inventoryItems(first: Int!, after: String, query: String): InventoryItemConnection!
  }
  type Mutation {
    orderCreate(order: OrderCreateOrderInput!, options: OrderCreateOptionsInput): OrderCreatePayload
    webhookSubscriptionCreate(
      topic: WebhookSubscriptionTopic!
      webhookSubscription: WebhookSubscriptionInput!
    ): WebhookSubscriptionCreatePayload
    inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  }
`;
