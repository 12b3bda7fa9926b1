export { miraklSimulator, MIRAKL_RATE_LIMITS, type MiraklSimulator } from './simulator';
export { MiraklShop, MiraklError, deepMerge } from './shop';
export { generateDemoOrder, MALFORMED_KINDS, type MalformedKind, type DemoOrderOptions } from './demo';
export type * from './types';
