/**
 * `bytes` as a Buffer over the same memory, without copying them (a write to either shows in
 * the other): for bytes that come as a plain Uint8Array (protobuf fields, database blobs, stream
 * chunks) where Buffer's methods are wanted.
 */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
