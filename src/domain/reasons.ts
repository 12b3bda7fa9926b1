// Every way an order can need a person, with who owns it and the sentence they read. Business failures
// become non-retryable Temporal failures whose `type` is the reason code; the playbook (docs/playbook.md)
// has one section per code.
import type { Owner } from './owners';

export interface ReasonDefinition {
  owner: Owner;
  /** A sentence a person can act on; {placeholders} are filled from the exception's details. */
  template: string;
  /** What the operator does about it. */
  fix: string;
}

export const REASONS = {
  SKU_UNMAPPED: {
    owner: 'merchandising',
    template: 'Order {orderId} line {lineId}: offer SKU "{offerSku}" has no item code in the warehouse.',
    fix: 'Add the item in Peoplevox or a skuMap entry for the channel, then retry the order.',
  },
  QUANTITY_INVALID: {
    owner: 'customer-service',
    template: 'Order {orderId} line {lineId}: quantity {quantity} is not a positive whole number.',
    fix: 'Check the order on the marketplace; cancel or correct it there, then resolve here.',
  },
  DUPLICATE_LINE_ID: {
    owner: 'ops',
    template: 'Order {orderId}: line id {lineId} appears more than once.',
    fix: 'Raise with the marketplace operator; resolve once the order has been corrected.',
  },
  NO_LINES: {
    owner: 'ops',
    template: 'Order {orderId} has no order lines.',
    fix: 'Raise with the marketplace operator; cancel the order here once confirmed.',
  },
  TOO_MANY_LINES: {
    owner: 'ops',
    template: 'Order {orderId} has {count} lines, more than the {max} the warehouse accepts on one order.',
    fix: 'Split the order manually in the warehouse, then resolve here.',
  },
  ADDRESS_MISSING: {
    owner: 'customer-service',
    template: 'Order {orderId}: the shipping address is missing {field}.',
    fix: 'Contact the customer through the marketplace for the address; resolve once it is on the order.',
  },
  POSTCODE_INVALID: {
    owner: 'customer-service',
    template: 'Order {orderId}: postcode "{postcode}" is not valid for {country}.',
    fix: 'Confirm the postcode with the customer through the marketplace, then retry.',
  },
  COUNTRY_UNKNOWN: {
    owner: 'customer-service',
    template:
      'Order {orderId}: the shipping country (code "{code}", name "{country}") is not a country ISO 3166 knows.',
    fix: 'Confirm the destination with the customer through the marketplace; if the country is real but spelled in a way Loopline does not read, report it to the maintainers. Resolve once the parcel is arranged by hand, or cancel.',
  },
  ADDITIONAL_FIELD_MISSING: {
    owner: 'customer-service',
    template: 'Order {orderId}: the marketplace field "{code}", which channel {channel} requires, is missing or empty.',
    fix: 'Ask the customer (or the marketplace operator) for the value through the marketplace; retry once it is on the order, or make the field optional in channels[].additionalFields if it is not needed.',
  },
  FIELD_TOO_LONG: {
    owner: 'customer-service',
    template: 'Order {orderId}: {field} is {length} characters; the warehouse accepts at most {max}.',
    fix: 'Shorten the field in the warehouse order by hand or ask the customer, then resolve.',
  },
  CURRENCY_MISMATCH: {
    owner: 'finance',
    template: 'Order {orderId} is in {currency}; channel {channel} settles in {expected}.',
    fix: 'Check the channel configuration with finance; retry once the currency is allowed.',
  },
  TOTALS_MISMATCH: {
    owner: 'finance',
    template: 'Order {orderId}: {what} is {actual} but the lines add up to {expected} ({difference} apart).',
    fix: 'Compare the order with the marketplace back office; resolve if the marketplace figure is right.',
  },
  PRICE_INVALID: {
    owner: 'finance',
    template: 'Order {orderId} line {lineId}: {field} {value} is not a valid amount.',
    fix: 'Check the order in the marketplace back office with finance.',
  },
  CARRIER_UNMAPPED: {
    owner: 'ops',
    template: 'Order {orderId}: despatch {despatchNumber} uses carrier "{carrier}", which has no marketplace mapping.',
    fix: 'Add the carrier to the channel carrierMap, then retry the order.',
  },
  WMS_REJECTED: {
    owner: 'ops',
    template: 'Order {orderId}: the warehouse rejected the sales order: {detail}.',
    fix: 'Correct the data named in the message (in Peoplevox or the mapping tables), then retry.',
  },
  ACCEPTANCE_REJECTED: {
    owner: 'ops',
    template: 'Order {orderId}: the marketplace refused the acceptance: {detail}.',
    fix: 'Check the order state in the marketplace back office; resolve or cancel here.',
  },
  ACCEPTANCE_DEADLINE_PASSED: {
    owner: 'ops',
    template: 'Order {orderId} was not accepted before its deadline {deadline}; the marketplace refuses it.',
    fix: 'No action on the order; find why acceptance was held (manual policy, unmapped SKU) and fix that.',
  },
  AWAITING_MANUAL_ACCEPTANCE: {
    owner: 'ops',
    template: 'Order {orderId} waits for a person to accept it (channel policy is manual); deadline {deadline}.',
    fix: 'Accept it in the marketplace back office or retry here to accept it through Loopline.',
  },
  CANCELLATION_REJECTED: {
    owner: 'ops',
    template: 'Order {orderId}: the marketplace refused the cancellation: {detail}.',
    fix: 'Look at the order in the marketplace back office: cancel the lines there (Marketplacer: a refund request for the units not shipped), then resolve; or retry once the cause is fixed.',
  },
  CANCELLED_AFTER_PICK: {
    owner: 'ops',
    template: 'Order {orderId} was cancelled on the marketplace but the warehouse has already {wmsStatus} it.',
    fix: 'Stop the parcel if you can; otherwise contact the customer. Resolve when handled.',
  },
  SHIPMENT_REJECTED: {
    owner: 'ops',
    template:
      'Order {orderId}: the marketplace rejected shipment confirmation for despatch {despatchNumber}: {detail}.',
    fix: 'Check the order lines and tracking in the marketplace back office, then retry.',
  },
  DESPATCH_EXCEEDS_ORDER: {
    owner: 'ops',
    template:
      'Order {orderId}: despatch {despatchNumber} ships {quantity} of item {itemCode}, more than is left to ship.',
    fix: 'Check the despatch in Peoplevox; the extra units were not confirmed to the marketplace.',
  },
  DESPATCH_WITHOUT_ORDER: {
    owner: 'ops',
    template:
      'Despatch {despatchNumber} in the warehouse is for sales order {salesOrderNumber}, which Loopline has no workflow for.',
    fix: 'Find where the sales order came from; confirm the shipment on the marketplace by hand if it is a marketplace order.',
  },
  DESPATCH_FOR_CLOSED_ORDER: {
    owner: 'ops',
    template:
      'Despatch {despatchNumber} (sales order {salesOrderNumber}) arrived after order {orderId} was {status} in Loopline, so it was never confirmed to the marketplace.',
    fix: 'If goods really left for a cancelled order, contact the customer or intercept the parcel; otherwise confirm the shipment on the marketplace by hand. Resolve when handled.',
  },
  SYSTEM_UNAVAILABLE: {
    owner: 'ops',
    template: 'Order {orderId}: {system} did not answer after repeated retries during "{step}": {detail}.',
    fix: 'Check the system status page or credentials; retry the order when it is back.',
  },
  ORDER_UNREADABLE: {
    owner: 'ops',
    template:
      'Order {orderId} on {channel} could not be read: field {field}: {problem}. The other orders of the page went ahead.',
    fix: 'Look at the order in the marketplace back office and raise the bad field with the marketplace operator; retry once it is corrected (Loopline reads it again), or handle the order by hand there and resolve.',
  },
  WMS_ORDER_NUMBER_TAKEN: {
    owner: 'ops',
    template:
      'Order {orderId}: warehouse order {salesOrderNumber} already exists for another order (reference "{reference}"), so this order was not created.',
    fix: 'Find the other warehouse order in Peoplevox: if it really is this order under another reference, resolve; otherwise change the channel orderNumberPrefix or the other order, then retry.',
  },
  UNEXPECTED_ERROR: {
    owner: 'ops',
    template: 'Order {orderId}: step "{step}" failed unexpectedly: {detail}.',
    fix: 'Report it to the Loopline maintainers with the order id; retry after a fix.',
  },
  SHIPPING_DEADLINE_PASSED: {
    owner: 'ops',
    template: 'Order {orderId} missed its shipping deadline {deadline}; {missing}.',
    fix: 'Despatch the order or cancel it with the customer; the marketplace counts it as late.',
  },
  // Returns and refunds (docs/returns.md): one return workflow per return, parked with one of these.
  RETURN_REASON_UNMAPPED: {
    owner: 'customer-service',
    template:
      'Return {returnId} of order {orderId}: the {source} reason "{reasonCode}" has no row in the returns reason table, so nothing is refunded or restocked.',
    fix: "Add the reason to returns.reasons in the configuration (with the other systems' reasons and its disposition: restock, inspect or write-off), restart the workers, then retry the return.",
  },
  RETURN_ORDER_UNKNOWN: {
    owner: 'ops',
    template: 'Return {returnId} on {channel} is for order {orderId}, which Loopline never saw: {detail}.',
    fix: 'Find the order in the marketplace back office: if it was shipped before Loopline went live, handle the return there and resolve; if the order id is wrong, raise it with the source system. Retry once the order is in Loopline.',
  },
  RETURN_LINE_UNKNOWN: {
    owner: 'customer-service',
    template: 'Return {returnId} of order {orderId}: {what} "{line}" is not on the order.',
    fix: 'Check the return against the order in the marketplace back office; correct it at the source (or refund it there by hand) and retry, or resolve once handled.',
  },
  RETURN_QUANTITY_INVALID: {
    owner: 'customer-service',
    template: 'Return {returnId} of order {orderId} line {lineId}: quantity {quantity} is not a positive whole number.',
    fix: 'Correct the return at its source (marketplace, Reveni or the warehouse booking) and retry, or resolve once handled by hand.',
  },
  RETURN_QUANTITY_EXCEEDS_SHIPPED: {
    owner: 'customer-service',
    template:
      'Return {returnId} of order {orderId} line {lineId}: {quantity} unit(s) returned, but only {left} of the {shipped} shipped are left to return or refund.',
    fix: 'Compare the return with what was shipped and already refunded; correct the return at its source and retry, or refund the right units by hand and resolve.',
  },
  RETURN_AFTER_WINDOW: {
    owner: 'customer-service',
    template:
      'Return {returnId} of order {orderId} arrived {days} day(s) after the return window closed ({windowEnd}).',
    fix: 'Decide with the customer: resolve to accept it anyway (it is then refunded and restocked as usual), or cancel to refuse it (on the marketplace: RETURN_REJECTION_WINDOW_CLOSED).',
  },
  RETURN_CURRENCY_MISMATCH: {
    owner: 'finance',
    template:
      'Return {returnId} of order {orderId}: {source} states the refund in {currency}; the order is in {expected}.',
    fix: 'Check the return in the returns platform; nothing is refunded until the currencies agree. Retry once corrected, or refund by hand and resolve.',
  },
  RETURN_AMOUNT_INVALID: {
    owner: 'finance',
    template: 'Return {returnId} of order {orderId}: {what} {value} is not a valid amount.',
    fix: 'Check the order and the return with finance; retry once corrected at the source, or refund by hand and resolve.',
  },
  REFUND_EXCEEDS_PAID: {
    owner: 'finance',
    template:
      'Return {returnId} of order {orderId} line {lineId}: refunding {amount} would take the refunds of the line to {total}, more than the {paid} paid.',
    fix: 'Look at the refunds already made on the line in the marketplace back office (a goodwill or back-office refund?); refund the right amount by hand and resolve, or retry after correcting the return.',
  },
  REFUND_AMOUNT_DISPUTED: {
    owner: 'finance',
    template:
      'Return {returnId} of order {orderId}: {platform} computed a refund of {theirs}; the marketplace order gives {ours} ({difference} apart). The customer was refunded {ours}, the marketplace figure.',
    fix: "Nothing to refund: compare the two calculations (the return shows ours line by line) and correct the returns platform's settings if it is wrong; resolve when explained. Retry reads the platform's figure again.",
  },
  REFUND_REJECTED: {
    owner: 'finance',
    template: 'Return {returnId} of order {orderId}: the marketplace refused the refund: {detail}.',
    fix: 'Check the order lines and refunds in the marketplace back office; refund by hand and resolve, or retry once the cause is fixed.',
  },
  RETURN_ACTION_REJECTED: {
    owner: 'ops',
    template: 'Return {returnId} of order {orderId}: {system} refused "{step}": {detail}.',
    fix: 'Check the return in the named system (it may have been handled there already); retry once fixed, or resolve if the return is done.',
  },
  // Catalogue audit findings (docs/catalogue-audit.md): one exception per channel and kind, listing SKUs.
  OFFER_WITHOUT_ITEM: {
    owner: 'merchandising',
    template:
      'Channel {channel}: {count} offer SKU(s) have no item code in the warehouse, so their orders cannot be fulfilled: {sample}. Full list: {report}.',
    fix: 'Create the items in Peoplevox or add skuMap entries for the channel (or delete the offers on the marketplace), then retry to re-run the audit.',
  },
  ITEM_WITHOUT_OFFER: {
    owner: 'merchandising',
    template:
      'Channel {channel}: {count} warehouse item code(s) have no offer on the marketplace: {sample}. Full list: {report}.',
    fix: 'Create the offers for products meant to sell on this channel, then retry; resolve if the rest are deliberately not listed here.',
  },
  INACTIVE_OFFER_WITH_STOCK: {
    owner: 'merchandising',
    template:
      'Channel {channel}: {count} offer(s) are inactive or show 0 on the marketplace while the warehouse has stock to sell: {sample}. Full list: {report}.',
    fix: 'Check each offer in the marketplace back office (inactivity reason, dates, product status) and the stock sync; reactivate or push stock, then retry.',
  },
  SKU_CASE_MISMATCH: {
    owner: 'merchandising',
    template:
      'Channel {channel}: {count} SKU(s) match another only when case or spaces are ignored: {sample}. Full list: {report}.',
    fix: 'Spell the offer SKU and the Peoplevox item code exactly the same (or add a skuMap entry), then retry.',
  },
  // Payout reconciliation findings (docs/reconciliation.md): one exception per channel, billing cycle and kind.
  PAYOUT_ORDER_NOT_IN_SHOPIFY: {
    owner: 'finance',
    template:
      'Channel {channel}, billing cycle {cycleId}: {count} billed order line(s) have no matching Shopify order line: {sample}. Full list: {report}.',
    fix: 'Find each order in Shopify by its marketplace order id; if it was never imported, import it (or book the sale by hand), then retry to reconcile the cycle again; resolve if it is explained.',
  },
  PAYOUT_LINE_NOT_BILLED: {
    owner: 'finance',
    template:
      'Channel {channel}, billing cycle {cycleId}: {count} Shopify order line(s) of billed orders are not in the cycle: {sample}. Full list: {report}.',
    fix: 'Check whether the line was cancelled or refused on the marketplace (cancel it in Shopify) or will be billed in the next cycle; resolve when explained.',
  },
  PAYOUT_AMOUNT_DIFFERENCE: {
    owner: 'finance',
    template:
      'Channel {channel}, billing cycle {cycleId}: {count} order amount(s) billed differ from Shopify by more than one penny: {sample}. Full list: {report}.',
    fix: 'Compare the order in the marketplace back office with Shopify; correct the Shopify order or raise it with the marketplace, then retry or resolve.',
  },
  PAYOUT_COMMISSION_DIFFERENCE: {
    owner: 'finance',
    template:
      'Channel {channel}, billing cycle {cycleId}: {count} commission charge(s) differ from the contract rate: {sample}. Full list: {report}.',
    fix: 'Check the commission rate for the category with the marketplace; claim the overcharge from the operator, or correct the finance.reconciliation commission settings, then resolve.',
  },
  PAYOUT_REFUND_DIFFERENCE: {
    owner: 'finance',
    template:
      'Channel {channel}, billing cycle {cycleId}: {count} refund(s) billed differ from the refunds in Shopify: {sample}. Full list: {report}.',
    fix: 'Compare the refund on the marketplace with Shopify: refund the missing amount where it is due, or record it in Shopify; retry or resolve.',
  },
  PAYOUT_TOTAL_MISMATCH: {
    owner: 'finance',
    template:
      'Channel {channel}, billing cycle {cycleId}: the payout does not equal the sum of the cycle transactions: {sample}. Full list: {report}.',
    fix: 'Raise the payout statement with the marketplace operator; resolve when the difference is explained or paid.',
  },
  // Refunds on the payout against the refunds Loopline's returns made (channels with returns, every route).
  PAYOUT_REFUND_NOT_RETURNED: {
    owner: 'finance',
    template:
      'Channel {channel}, billing cycle {cycleId}: {count} refund(s) on the payout were made by no return Loopline knows of: {sample}. Full list: {report}.',
    fix: 'Find who refunded it in the marketplace back office (customer service, a goodwill gesture, the operator); when it is due, book it and resolve; when it is not, claim it back from the operator, then resolve.',
  },
  PAYOUT_RETURN_REFUND_MISSING: {
    owner: 'finance',
    template:
      'Channel {channel}, billing cycle {cycleId}: {count} refund(s) Loopline made for returns are not on the payout: {sample}. Full list: {report}.',
    fix: 'Look the refund id up on the marketplace order: billed in another cycle (retry that cycle), still pending at the operator (retry after the next cycle), or never billed (raise it with the operator); resolve when explained.',
  },
  PAYOUT_RETURN_REFUND_DIFFERENCE: {
    owner: 'finance',
    template:
      'Channel {channel}, billing cycle {cycleId}: {count} refund(s) on the payout differ from what the return refunded by more than one penny: {sample}. Full list: {report}.',
    fix: "Compare the refund on the marketplace order with the return's refund calculation (loopline returns show); raise the difference with the operator or correct the refund, then retry or resolve.",
  },
} as const satisfies Record<string, ReasonDefinition>;

export type ReasonCode = keyof typeof REASONS;

export function isReasonCode(x: string): x is ReasonCode {
  return Object.prototype.hasOwnProperty.call(REASONS, x);
}

/** Fills a reason template. Unknown placeholders stay visible rather than vanishing. */
export function describe(reason: ReasonCode, details: Record<string, string | number | undefined>): string {
  return REASONS[reason].template.replace(/\{(\w+)\}/g, (m, k: string) => {
    const v = details[k];
    return v === undefined ? m : String(v);
  });
}

export interface OrderException {
  reason: ReasonCode;
  owner: Owner;
  message: string;
  /** Record and field the problem was found in, e.g. "order_lines[2].offer_sku". */
  field?: string;
  details: Record<string, string | number | undefined>;
  /** Epoch ms. */
  at: number;
}

export function makeException(
  reason: ReasonCode,
  details: Record<string, string | number | undefined>,
  at: number,
  field?: string,
): OrderException {
  return { reason, owner: REASONS[reason].owner, message: describe(reason, details), field, details, at };
}
