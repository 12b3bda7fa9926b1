export {
  peoplevoxSimulator,
  PVX_RATE_LIMIT,
  PVX_RATE_LIMIT_RESPONSE_STATUS,
  PVX_INVALID_SESSION_DETAIL,
} from './simulator';
export type { PeoplevoxSimulatorOptions } from './simulator';
export { DEFAULT_STATUSES, DEFAULT_TEMPLATES, EVENT_TYPES } from './templates';
export { compileSearchClause } from './search-clause';
