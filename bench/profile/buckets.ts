/**
 * Pure: a V8 CPU profile (.cpuprofile) summed into self time per bucket (what kind of work:
 * SQLite, logging, HTTP, gRPC, TLS, GC…) and per function.
 */

export interface CpuProfile {
  nodes: { id: number; children?: number[]; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface Summary {
  /** Milliseconds of self time, idle excluded. */
  totalMs: number;
  buckets: { name: string; ms: number }[];
  functions: { name: string; bucket: string; ms: number }[];
}

/** Native methods of better-sqlite3's Statement and Database (they have no script URL). */
const SQLITE_NATIVE = new Set(['run', 'all', 'get', 'iterate', 'prepare', 'exec', 'pragma']);

/** [bucket, test on the script URL] in order: the first that matches names the bucket. */
const BY_URL: [string, RegExp][] = [
  ['logging (pino)', /node_modules\/(pino|sonic-boom|fast-redact|quick-format|on-exit-leak-free|thread-stream)/],
  ['SQLite (better-sqlite3 JS)', /node_modules\/better-sqlite3/],
  ['PostgreSQL (pg)', /node_modules\/(pg|pg-protocol|pg-pool|pg-types)\//],
  ['query building (Kysely)', /node_modules\/kysely/],
  ['HTTP validation (ajv/TypeBox)', /node_modules\/(ajv|@sinclair|fast-uri|@fastify\/ajv-compiler)/],
  ['HTTP serialisation (fast-json-stringify)', /node_modules\/(fast-json-stringify|@fastify\/fast-json-stringify-compiler)/],
  ['HTTP framework (Fastify)', /node_modules\/(fastify|find-my-way|avvio|@fastify|light-my-request|toad-cache|abstract-logging|process-warning|rfdc|secure-json-parse)/],
  ['gRPC (grpc-js)', /node_modules\/@grpc/],
  ['protobuf (bufbuild, generated)', /node_modules\/@bufbuild|\/dist\/src\/gen\//],
  ['TLS and crypto (node)', /node:(internal\/)?(tls|_tls|crypto|internal\/tls|internal\/crypto)|_tls_/],
  ['HTTP (node:http)', /node:(_http|internal\/http|http)/],
  ['HTTP/2 (node:http2)', /node:internal\/http2/],
  ['sockets and streams (node)', /node:(net|internal\/net|stream|internal\/streams|internal\/stream_base)/],
  ['timers and event loop (node)', /node:(internal\/timers|timers|internal\/process\/task_queues|internal\/async_hooks|events)/],
  ['Baton: store', /\/dist\/src\/scheduler\/store\//],
  ['Baton: dispatch and placement', /\/dist\/src\/scheduler\/(dispatcher|planner|placement|start-chunks|start-stream|registry)/],
  ['Baton: job status and events', /\/dist\/src\/scheduler\/(job-status|job-state|events|event-log|status-burst|parent)/],
  ['Baton: worker channel (gRPC client)', /\/dist\/src\/scheduler\/(worker-channel|grpc)/],
  ['Baton: HTTP routes and views', /\/dist\/src\/scheduler\/http\//],
  ['Baton: other', /\/dist\/src\//],
  ['node internals (other)', /^node:/],
  ['other dependencies', /node_modules/],
];

export function bucketOf(frame: { functionName: string; url: string }): string {
  const { functionName: fn, url } = frame;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8 and native, not attributed (program)';
  if (fn === '(idle)') return 'idle';
  if (url === '') {
    if (SQLITE_NATIVE.has(fn)) return 'SQLite (native: statements, commits)';
    if (fn === 'stringify' || fn === 'parse') return 'JSON (native)';
    if (fn === 'writeUtf8String' || fn === 'writev' || fn === 'writeBuffer' || fn === 'writeLatin1String') return 'socket writes (native)';
    return 'native, other';
  }
  for (const [name, test] of BY_URL) if (test.test(url)) return name;
  return 'other';
}

/** The bench's own frames (bench/profile/preload.ts): the profiler's start and stop, and the counting wrappers. */
const isInstrumentation = (frame: { url: string }): boolean => frame.url.includes('/bench/profile/preload');
/** Under these the profiler starts or stops (and serialises the profile): not the scheduler's work. */
const PROFILER_ROOTS = new Set(['startWindow', 'endWindow']);

/** Ids of the nodes under the profiler's own start and stop. */
function profilerNodes(profile: CpuProfile): Set<number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Set<number>();
  const mark = (id: number): void => {
    out.add(id);
    for (const child of byId.get(id)?.children ?? []) mark(child);
  };
  for (const n of profile.nodes) if (isInstrumentation(n.callFrame) && PROFILER_ROOTS.has(n.callFrame.functionName)) mark(n.id);
  return out;
}

export function summarise(profile: CpuProfile): Summary {
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const excluded = profilerNodes(profile);
  const buckets = new Map<string, number>();
  const functions = new Map<string, { bucket: string; ms: number }>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0 || excluded.has(node.id) || isInstrumentation(node.callFrame)) continue;
    const bucket = bucketOf(node.callFrame);
    if (bucket === 'idle') continue;
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us / 1000);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '' : ` ${url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '')}:${lineNumber + 1}`;
    const name = `${functionName || '(anonymous)'}${where}`;
    const f = functions.get(name) ?? { bucket, ms: 0 };
    f.ms += us / 1000;
    functions.set(name, f);
  }
  const totalMs = [...buckets.values()].reduce((a, b) => a + b, 0);
  return {
    totalMs,
    buckets: [...buckets].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms),
    functions: [...functions].map(([name, f]) => ({ name, ...f })).sort((a, b) => b.ms - a.ms),
  };
}
