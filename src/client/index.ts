export { BatonClient, DEFAULT_ADDRESS, normalizeAddress, type BatonClientOptions, type OutputOptions, type RequestOptions, type StopJobOptions } from './client.js';
export { BatonApiError, BatonConnectionError } from './errors.js';
export * from './types.js';
