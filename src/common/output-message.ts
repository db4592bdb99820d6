import { makeGenericClientConstructor } from '@grpc/grpc-js';
import { StreamJobResponse, type WorkerServiceClient, WorkerServiceService } from '../gen/baton/v1/worker.js';

/**
 * StreamJobResponse on the wire, written and read by hand: it is the one message that carries
 * bulk bytes (a job's output, 256 KiB a message). The generated code copies them two or three
 * times each way (its writer's chunks, `finish()`, `Buffer.from`); these copy them once to
 * send and not at all to receive. The layout is protobuf's: field 1, length-delimited.
 */
const DATA_TAG = (1 << 3) | 2;

function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}

/** The worker's serializer for StreamJob answers. A message with more than `data` (a field added later) goes to the generated encoder. */
export function encodeOutputMessage(message: StreamJobResponse): Buffer {
  if (Object.keys(message).length !== 1) return Buffer.from(StreamJobResponse.encode(message).finish());
  const data = message.data;
  if (data.length === 0) return Buffer.alloc(0);
  const out = Buffer.allocUnsafe(1 + varintLength(data.length) + data.length);
  let at = 0;
  out[at++] = DATA_TAG;
  let n = data.length;
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  out.set(data, at);
  return out;
}

/** The scheduler's deserializer for StreamJob answers: `data` is a view of the received message. Anything else there goes to the generated decoder. */
export function decodeOutputMessage(message: Buffer): StreamJobResponse {
  if (message.length === 0) return { data: Buffer.alloc(0) };
  if (message[0] !== DATA_TAG) return StreamJobResponse.decode(message);
  let at = 1;
  let length = 0;
  let scale = 1;
  for (;;) {
    if (at >= message.length || scale > 2 ** 35) return StreamJobResponse.decode(message);
    const byte = message[at++]!;
    length += (byte & 0x7f) * scale;
    scale *= 0x80;
    if (byte < 0x80) break;
  }
  // A message of one field, as the worker writes them; any other shape is decoded in full.
  if (at + length !== message.length) return StreamJobResponse.decode(message);
  return { data: message.subarray(at) };
}

/** The worker service as the worker serves it: StreamJob answers written by encodeOutputMessage. */
export const WORKER_SERVICE_SERVED: typeof WorkerServiceService = {
  ...WorkerServiceService,
  streamJob: { ...WorkerServiceService.streamJob, responseSerialize: encodeOutputMessage },
};

/** The worker service's client as the scheduler uses it: StreamJob answers read by decodeOutputMessage. */
export const OutputViewClient = makeGenericClientConstructor(
  { ...WorkerServiceService, streamJob: { ...WorkerServiceService.streamJob, responseDeserialize: decodeOutputMessage } },
  'baton.v1.WorkerService',
) as unknown as typeof WorkerServiceClient;
