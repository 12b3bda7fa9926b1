// The part of Marketplacer's Seller GraphQL API that Loopline uses, as SDL for graphql-js. Names, enums and
// shapes follow the public reference (dev.marketplacer.com graph-doc pages: invoicefilters, invoicestatusflagenum,
// shipmentcreatemutationinput, variantupdatemutationinput/payload, refundrequestcreate…, refundrequestlineiteminput,
// refundrequestlineitem, refundrequest*enum, inventory) and the official sample client
// (marketplacer/seller-integration-nodejs GQLOperationLibrary.js). Where a field is not public (money on line items
// and invoices, an address's country, metadata and external ids on reads) the name is ours and docs/contracts.md
// marks it Low; the connector reads those fields tolerantly.
export const SELLER_SDL = /* GraphQL */ `
  scalar ISO8601DateTime
  scalar ISO8601Date

  interface Node {
    id: ID!
  }

  type PageInfo {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  type ValidationError {
    field: String
    messages: [String!]!
  }

  enum InvoiceStatusFlagEnum {
    PAID
    PAYMENT_UNDER_REVIEW
    SENT
    PARTIALLY_SENT
    AWAITING_RETURN
    AWAITING_REFUND
    REFUNDED
    CANCELLED
    READY
    COLLECTED
    REMITTED
  }

  "Values not public: the simulator takes the status flags' names (docs/contracts.md)."
  enum InvoiceStatusEnum {
    PAID
    PAYMENT_UNDER_REVIEW
    SENT
    PARTIALLY_SENT
    AWAITING_RETURN
    AWAITING_REFUND
    REFUNDED
    CANCELLED
  }

  enum InvoiceSortFieldEnum {
    CREATED_AT
    PAID_AT
  }

  enum SortOrderingEnum {
    ASCENDING
    DESCENDING
  }

  input InvoiceFilters {
    createdSince: ISO8601DateTime
    createdUntil: ISO8601DateTime
    updatedSince: ISO8601DateTime
    updatedUntil: ISO8601DateTime
    paidSince: ISO8601DateTime
    paidUntil: ISO8601DateTime
    statuses: [InvoiceStatusEnum!]
    buyerEmailAddress: String
    legacyId: Int
    notDispatched: Boolean
  }

  input InvoiceSort {
    fields: [InvoiceSortFieldEnum!]
    ordering: SortOrderingEnum
  }

  type State {
    short: String
    name: String
  }

  type Country {
    code: String
    name: String
  }

  type Address {
    address: String
    address2: String
    city: String
    state: State
    postcode: String
    country: Country
  }

  type Metadata {
    key: String!
    value: String
  }

  type ExternalId {
    key: String!
    value: String!
  }

  type Seller implements Node {
    id: ID!
    legacyId: Int!
    businessName: String
  }

  type LineItem implements Node {
    id: ID!
    legacyId: Int!
    variantId: ID
    variantSku: String
    variantBarcode: String
    variantName: String
    quantity: Int!
    status: String
    unitPriceCents: Int
    totalCents: Int
    taxCents: Int
  }

  type ShipmentCarrier implements Node {
    id: ID!
    legacyId: Int!
    name: String!
  }

  type ShippedItem implements Node {
    id: ID!
    quantity: Int!
    lineItem: LineItem!
  }

  type Shipment implements Node {
    id: ID!
    legacyId: Int!
    carrier: String
    postageCarrier: ShipmentCarrier
    trackingNumber: String
    trackingLink: String
    dispatchedAt: ISO8601DateTime
    note: String
    shippedItems: [ShippedItem!]!
  }

  enum RefundRequestStatusEnum {
    AWAITING
    RETURNED
    REFUND_ACCEPTED
    REFUND_DENIED
    REFUNDED
    DENIED
    PROCESSED
  }

  enum RefundRequestLineItemStatusEnum {
    PENDING_APPROVAL
    AWAITING_RETURN
    REFUND_ACCEPTED
    REFUND_DENIED
    REFUNDED
  }

  type RefundRequestNote {
    note: String!
  }

  type RefundRequestLineItem implements Node {
    id: ID!
    legacyId: Int!
    status: RefundRequestLineItemStatusEnum!
    quantity: Int!
    reason: String
    custom: String
    dispatched: Boolean
    lineItem: LineItem
    amountCents: Int!
    amountPerItemCents: Int!
  }

  type RefundRequest implements Node {
    id: ID!
    legacyId: Int!
    status: RefundRequestStatusEnum!
    createdAt: ISO8601DateTime!
    updatedAt: ISO8601DateTime!
    invoice: Invoice!
    lineItems: [RefundRequestLineItem!]!
    notes: [RefundRequestNote!]!
    externalIds: [ExternalId!]!
  }

  type Invoice implements Node {
    id: ID!
    legacyId: Int!
    createdAt: ISO8601DateTime!
    updatedAt: ISO8601DateTime!
    paidAt: ISO8601DateTime
    statusFlags: [InvoiceStatusFlagEnum!]!
    buyerFirstName: String
    buyerSurname: String
    buyerEmailAddress: String
    buyerPhone: String
    buyerMessageToSeller: String
    shippingAddress: Address
    buyerBillingAddress: Address
    seller: Seller
    lineItems: [LineItem!]!
    shipments: [Shipment!]!
    refundRequests: [RefundRequest!]!
    metadata: [Metadata!]!
    postageCents: Int
    subtotalCents: Int
    totalCents: Int
  }

  type Advert implements Node {
    id: ID!
    legacyId: Int!
    title: String
    variants(first: Int, after: String): VariantConnection!
  }

  type Variant implements Node {
    id: ID!
    legacyId: Int!
    sku: String
    barcode: String
    countOnHand: Int
    infiniteQuantity: Boolean
    advert: Advert
  }

  type InvoiceConnection {
    nodes: [Invoice!]!
    edges: [InvoiceEdge!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }
  type InvoiceEdge {
    cursor: String!
    node: Invoice!
  }
  type ShipmentCarrierConnection {
    nodes: [ShipmentCarrier!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }
  type RefundRequestConnection {
    nodes: [RefundRequest!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }
  type AdvertConnection {
    nodes: [Advert!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }
  type VariantConnection {
    nodes: [Variant!]!
    edges: [VariantEdge!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }
  type VariantEdge {
    cursor: String!
    node: Variant!
  }

  input RefundRequestFilters {
    statuses: [RefundRequestStatusEnum!]
  }

  type Query {
    invoices(first: Int, after: String, filters: InvoiceFilters, sort: InvoiceSort): InvoiceConnection!
    node(id: ID!): Node
    nodes(ids: [ID!]!): [Node]!
    shipmentCarriers(first: Int, after: String): ShipmentCarrierConnection!
    refundRequests(first: Int, after: String, filters: RefundRequestFilters): RefundRequestConnection!
    adverts(first: Int, after: String): AdvertConnection!
  }

  input ShippedItemInput {
    lineItemId: ID!
    quantity: Int!
  }

  input ShipmentCreateMutationInput {
    clientMutationId: String
    invoiceId: ID!
    shippedItems: [ShippedItemInput!]!
    postageCarrierId: ID!
    dispatchedAt: ISO8601Date!
    trackingNumber: String!
    shippedFromId: ID
    note: String
  }

  type ShipmentCreateMutationPayload {
    clientMutationId: String
    errors: [ValidationError!]
    status: Int!
    shipment: Shipment
  }

  input VariantInput {
    countOnHand: Int
    infiniteQuantity: Boolean
    sku: String
    barcode: String
  }

  input VariantUpdateMutationInput {
    clientMutationId: String
    variantId: ID
    attributes: VariantInput!
  }

  type VariantUpdateMutationPayload {
    clientMutationId: String
    errors: [ValidationError!]
    status: Int!
    variant: Variant
  }

  input RefundRequestNoteInput {
    note: String!
  }

  input ExternalIdInput {
    key: String!
    value: String!
  }

  input RefundRequestLineItemInput {
    lineItemId: ID
    custom: String
    amountPerItemCents: Int
    reason: String
    quantity: Int!
    onlyRemittance: Boolean
    dispatched: Boolean
    notes: [RefundRequestNoteInput!]
  }

  enum RefundRequestInitiatorEnum {
    ADMIN
    SELLER
    SHOPPER
  }

  input RefundRequestCreateMutationInput {
    clientMutationId: String
    invoiceId: ID!
    lineItems: [RefundRequestLineItemInput!]!
    notes: [RefundRequestNoteInput!]!
    initiator: RefundRequestInitiatorEnum
    externalIds: [ExternalIdInput!]
  }

  type RefundRequestCreateMutationPayload {
    clientMutationId: String
    errors: [ValidationError!]
    status: Int!
    refundRequest: RefundRequest
  }

  type Mutation {
    shipmentCreate(input: ShipmentCreateMutationInput!): ShipmentCreateMutationPayload
    variantUpdate(input: VariantUpdateMutationInput!): VariantUpdateMutationPayload
    refundRequestCreate(input: RefundRequestCreateMutationInput!): RefundRequestCreateMutationPayload
  }
`;
