export * from './client';
export * from './map';
export * from './schemas';
