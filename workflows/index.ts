// Every workflow type the workers register (Temporal bundles this file for the workflow sandbox).
export { orderWorkflow } from './order';
export { intakeWorkflow } from './intake';
export { inventoryWorkflow } from './inventory';
