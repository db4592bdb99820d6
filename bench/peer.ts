/**
 * Issue 20's peer: the same `true` jobs through BullMQ (on Redis) and through Baton in one
 * run, beside Node's own spawn('true'). The figures move with the machine's load, so rounds
 * alternate which system goes first and the best of each is kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { cleanUp, jobsDir, startScheduler, startWorker, type SchedulerHandle } from '../test/support/cluster.js';
import { CONCURRENCY, JOBS, rawSpawnRate, WARMUP } from './core.js';
import { allJobs, lastRecorded, post, waitIdle } from './http.js';
import { dropLogs } from './proc.js';
import { fmt, type Row, type Section } from './report.js';
import { runPool } from './stats.js';

const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS ?? 3);
/** Where Redis listens, `host:port`; loopback only, so the two systems share one machine. */
const REDIS = process.env.BATON_BENCH_REDIS ?? '127.0.0.1:6379';
/** Processes at once on each side: BullMQ's worker concurrency and Baton's worker capacity. */
const IN_FLIGHT = Number(process.env.BENCH_PEER_CAPACITY ?? CONCURRENCY);
/** `POST /v1/jobs/batch` takes 1–1000 jobs. */
const BATCH_MAX = 1000;
const WORKER = fileURLToPath(new URL('./peer/bullmq-worker.js', import.meta.url));
const JOB = { command: 'true' };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const chunks = (n: number): number[] => Array.from({ length: Math.ceil(n / BATCH_MAX) }, (_, i) => Math.min(BATCH_MAX, n - i * BATCH_MAX));

function redisAddress(): { host: string; port: number } | string {
  const url = URL.canParse(`redis://${REDIS}`) ? new URL(`redis://${REDIS}`) : undefined;
  const host = url?.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url === undefined || host === undefined || !['127.0.0.1', 'localhost', '::1'].includes(host)) {
    return `BATON_BENCH_REDIS="${REDIS}" is not host:port on loopback (127.0.0.1, localhost or [::1])`;
  }
  return { host, port: Number(url.port || 6379) };
}

/** Whether a Redis answers PING at the address, within a second. */
function redisAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString('utf8').startsWith('+PONG')));
  });
}

/** The Redis the peer runs on, or why it cannot run here. */
async function redisForPeer(): Promise<string | { host: string; port: number }> {
  const address = redisAddress();
  if (typeof address === 'string') return address;
  if (!(await redisAnswers(address.host, address.port))) {
    return `no Redis answered PING at ${REDIS} (start one, or point BATON_BENCH_REDIS at one on loopback)`;
  }
  try {
    createRequire(import.meta.url).resolve('ioredis');
  } catch {
    return 'BullMQ needs the ioredis package to reach Redis and it is not installed (npm install --no-save ioredis)';
  }
  return address;
}

/** BullMQ's side: a queue to add to and a worker process taking from it. */
class Bull {
  readonly queue: Queue<typeof JOB>;
  private expected = 0;

  private constructor(
    readonly name: string,
    address: { host: string; port: number },
    private readonly worker: ChildProcess,
  ) {
    this.queue = new Queue(name, { connection: address });
  }

  static async start(address: { host: string; port: number }): Promise<Bull> {
    const name = `baton-bench-${process.pid}-${Date.now().toString(36)}`;
    const worker = spawn(process.execPath, [WORKER, name, address.host, String(address.port), String(IN_FLIGHT)], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      worker.stdout!.setEncoding('utf8').once('data', resolve);
      worker.once('exit', (code) => reject(new Error(`the BullMQ worker exited (${code}) before it was ready`)));
    });
    return new Bull(name, address, worker);
  }

  /** Jobs per second from before `submit` to the last job's `finishedOn` (the worker's clock, same machine). */
  async rate(n: number, submit: (queue: Queue<typeof JOB>) => Promise<unknown>): Promise<number> {
    const t0 = Date.now();
    await submit(this.queue);
    this.expected += n;
    const deadline = Date.now() + 300_000;
    for (;;) {
      const counts = await this.queue.getJobCounts('completed', 'failed');
      if ((counts.completed ?? 0) + (counts.failed ?? 0) >= this.expected) break;
      if (Date.now() > deadline) throw new Error(`BullMQ jobs did not finish within 300s (${JSON.stringify(counts)})`);
      await sleep(50);
    }
    const [last] = await this.queue.getJobs(['completed'], 0, 0, false);
    return n / (((last?.finishedOn ?? NaN) - t0) / 1000);
  }

  async failed(): Promise<number> {
    return (await this.queue.getJobCounts('failed')).failed ?? 0;
  }

  /** Stops the worker, removes every key of the queue and closes the connections. */
  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.stdin!.end();
    const timer = setTimeout(() => this.worker.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    await this.queue.obliterate({ force: true });
    const client = await this.queue.backend.client;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, { MATCH: `bull:${this.name}:*`, COUNT: 1000 });
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await this.queue.close();
  }
}

/** Baton's side: a scheduler and one worker (mTLS, SQLite), as in the e2e scenario. */
async function startBaton(): Promise<SchedulerHandle> {
  const scheduler = await startScheduler();
  dropLogs(await startWorker(scheduler, { jobsDir: jobsDir({ 'noop.sh': '' }), args: ['--capacity', String(IN_FLIGHT)] }));
  return dropLogs(scheduler);
}

/** Jobs per second from before `submit` to the last change the scheduler recorded. */
async function batonRate(api: string, n: number, submit: () => Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  await submit();
  await waitIdle(api);
  return n / (((await lastRecorded(api)) - t0) / 1000);
}

const MEASURES = ['raw spawn', 'BullMQ add', 'Baton one at a time', 'BullMQ addBulk', 'Baton batch'] as const;
type Measure = (typeof MEASURES)[number];

async function runRounds(bull: Bull, api: string): Promise<Record<Measure, number[]>> {
  const runs: Record<Measure, () => Promise<number>> = {
    'raw spawn': () => rawSpawnRate(JOBS),
    'BullMQ add': () => bull.rate(JOBS, (q) => runPool(JOBS, CONCURRENCY, async () => void (await q.add('true', JOB)))),
    'Baton one at a time': () => batonRate(api, JOBS, () => runPool(JOBS, CONCURRENCY, async () => void (await post(`${api}/v1/jobs`, JOB)))),
    'BullMQ addBulk': () => bull.rate(JOBS, (q) => Promise.all(chunks(JOBS).map((n) => q.addBulk(Array.from({ length: n }, () => ({ name: 'true', data: JOB })))))),
    'Baton batch': () =>
      batonRate(api, JOBS, async () => {
        for (const n of chunks(JOBS)) await post(`${api}/v1/jobs/batch`, { jobs: Array.from({ length: n }, () => JOB) });
      }),
  };
  const rates = Object.fromEntries(MEASURES.map((m) => [m, [] as number[]])) as Record<Measure, number[]>;
  for (let round = 1; round <= ROUNDS; round++) {
    // Each round the other system goes first, so neither always meets the machine warmer or busier.
    const pairs: Measure[][] = [
      ['BullMQ add', 'Baton one at a time'],
      ['BullMQ addBulk', 'Baton batch'],
    ];
    const order: Measure[] = ['raw spawn', ...pairs.flatMap((p) => (round % 2 === 1 ? p : [...p].reverse()))];
    const line: string[] = [];
    for (const m of order) {
      const rate = await runs[m]();
      rates[m].push(rate);
      line.push(`${m} ${fmt(rate)}`);
    }
    console.log(`  round ${round}: ${line.join(', ')} /s`);
  }
  return rates;
}

export async function peer(): Promise<Section> {
  const title = 'Peer: Baton beside BullMQ, same jobs, same run (issue 20)';
  const method = `${JOBS} jobs of \`true\` (\`BENCH_JOBS\`) per system per round, ${ROUNDS} rounds (\`BENCH_PEER_ROUNDS\`); each round runs raw spawn, then BullMQ and Baton in turn (the other one first in the next round), and the best round of each is kept. Raw: Node's \`child_process.spawn('true')\`, ${CONCURRENCY} in flight (\`BENCH_CONCURRENCY\`). BullMQ: a \`Queue\` in the bench process on Redis at ${REDIS} (\`BATON_BENCH_REDIS\`, loopback only; a queue of its own per run, its keys removed after) and a \`Worker\` in a process of its own, concurrency ${IN_FLIGHT} (\`BENCH_PEER_CAPACITY\`), whose processor spawns \`true\` and resolves on its exit; \`add\` with ${CONCURRENCY} in flight, or \`addBulk\`; timed from the first add to the last job's \`finishedOn\`. Baton: a scheduler and one worker of capacity ${IN_FLIGHT} (mTLS, SQLite); \`POST /v1/jobs\` with ${CONCURRENCY} in flight, or ${chunks(JOBS).length} \`POST /v1/jobs/batch\`; timed from the first request to the last change the scheduler recorded. Each side first runs ${WARMUP} jobs one at a time to warm up (\`BENCH_WARMUP\`).`;
  const address = await redisForPeer();
  if (typeof address === 'string') {
    console.log(`  peer skipped: ${address}`);
    return { title, method, rows: [{ measure: 'BullMQ beside Baton', figure: `skipped: ${address}`, target: 'a Redis on loopback' }] };
  }
  const bull = await Bull.start(address);
  let rates: Record<Measure, number[]>;
  let failed: { bull: number; baton: number };
  try {
    const baton = await startBaton();
    await rawSpawnRate(100); // warm up: JIT, connections, SQLite pages, Redis scripts
    await bull.rate(WARMUP, (q) => runPool(WARMUP, CONCURRENCY, async () => void (await q.add('true', JOB))));
    await batonRate(baton.api, WARMUP, () => runPool(WARMUP, CONCURRENCY, async () => void (await post(`${baton.api}/v1/jobs`, JOB))));
    rates = await runRounds(bull, baton.api);
    const submitted = WARMUP + ROUNDS * 2 * JOBS;
    failed = { bull: await bull.failed(), baton: submitted - (await allJobs(baton.api, 'state=succeeded')).length };
  } finally {
    await bull.stop();
    await cleanUp();
  }
  const best = (m: Measure): number => Math.max(...rates[m]);
  const each = (m: Measure): string => `best of ${rates[m].map((r) => fmt(r)).join(', ')}`;
  const [raw, add, one, bulk, batch] = MEASURES.map(best) as [number, number, number, number, number];
  const rows: Row[] = [
    { measure: `raw \`spawn('true')\`, ${CONCURRENCY} in flight`, figure: `${fmt(raw)} /s (${each('raw spawn')})`, target: 'the baseline' },
    { measure: 'BullMQ `add`, one job at a time', figure: `${fmt(add)} jobs/s, ${fmt(add / raw, 2)}× spawn (${each('BullMQ add')})`, target: 'the peer' },
    { measure: 'BullMQ `addBulk`', figure: `${fmt(bulk)} jobs/s, ${fmt(bulk / raw, 2)}× spawn (${each('BullMQ addBulk')})`, target: 'the peer' },
    { measure: 'Baton one at a time (`POST /v1/jobs`)', figure: `${fmt(one)} jobs/s (${each('Baton one at a time')})`, target: 'see the ratios below' },
    { measure: 'Baton batch (`POST /v1/jobs/batch`)', figure: `${fmt(batch)} jobs/s (${each('Baton batch')})`, target: 'see the ratios below' },
    { measure: 'Baton one at a time ÷ BullMQ `add`', figure: `${fmt(one / add, 2)}×`, target: '≥ 1.0×', met: one / add >= 1 },
    { measure: 'Baton one at a time ÷ raw spawn (end to end)', figure: `${fmt(one / raw, 2)}×`, target: '≥ 0.9×', met: one / raw >= 0.9 },
    { measure: 'Baton batch ÷ BullMQ `addBulk`', figure: `${fmt(batch / bulk, 2)}×`, target: '≥ 1.2×', met: batch / bulk >= 1.2 },
    { measure: 'Baton batch ÷ raw spawn', figure: `${fmt(batch / raw, 2)}×`, target: 'reported' },
    { measure: 'jobs that did not succeed, Baton / BullMQ', figure: `${failed.baton} / ${failed.bull}`, target: 'none', met: failed.baton === 0 && failed.bull === 0 },
  ];
  return { title, method, rows };
}
