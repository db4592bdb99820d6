export {
  BatonClient,
  DEFAULT_ADDRESS,
  normalizeAddress,
  type BatonClientOptions,
  type EventsOptions,
  type OutputOptions,
  type OutputPart,
  type OutputRange,
  type OutputSearchOptions,
  type StreamOptions,
  type SubmitOptions,
  type RequestOptions,
  type StopJobOptions,
} from './client.js';
export { JobHandle } from './job-handle.js';
export { BatonApiError, BatonConnectionError, type ApiErrorCode } from './errors.js';
export * from './types.js';
export { SseParser, type SseMessage } from './sse.js';
