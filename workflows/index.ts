// Every workflow type the workers register (Temporal bundles this file for the workflow sandbox).
export { orderWorkflow } from './order';
export { intakeWorkflow } from './intake';
export { despatchSweepWorkflow } from './despatch-sweep';
export { despatchExceptionWorkflow } from './despatch-exception';
export { pushedOrdersWorkflow } from './pushed-orders';
export { inventoryWorkflow } from './inventory';
export { inventoryShardWorkflow } from './inventory-shard';
export { catalogueAuditWorkflow } from './catalogue-audit';
export { payoutReconciliationWorkflow } from './payout-reconciliation';
export {
  findingsExceptionWorkflow,
  catalogueExceptionWorkflow,
  reconciliationExceptionWorkflow,
} from './findings-exception';
export { alertRouterWorkflow } from './alerts';
export { orderUnreadableWorkflow } from './order-unreadable';
export { returnWorkflow } from './returns';
export { returnReceiptsSweepWorkflow } from './return-receipts-sweep';
export { warehouseGatewayWorkflow } from './warehouse-gateway';
export { marketplaceEventsWorkflow } from './marketplace-events';
export { rateBudgetWorkflow } from './rate-budget';
