export const OWNERS = ['ops', 'merchandising', 'customer-service', 'finance'] as const;
export type Owner = (typeof OWNERS)[number];
