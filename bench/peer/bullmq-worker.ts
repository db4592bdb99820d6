/**
 * A BullMQ worker run as a BullMQ user would run one: in its own process (as Baton's worker
 * is), its processor spawning the job's command and resolving when it exits. Started by
 * bench/peer.ts with `<queue> <host> <port> <concurrency>`; prints "ready" once connected
 * and closes when its stdin ends.
 */
import { spawn } from 'node:child_process';
import { Worker } from 'bullmq';

const [queue, host, port, concurrency] = process.argv.slice(2);
if (queue === undefined || host === undefined || port === undefined || concurrency === undefined) {
  console.error('usage: bullmq-worker <queue> <host> <port> <concurrency>');
  process.exit(2);
}

const worker = new Worker<{ command: string }>(
  queue,
  (job) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(job.data.command, [], { stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${job.data.command} exited with ${signal ?? code}`))));
    }),
  { connection: { host, port: Number(port) }, concurrency: Number(concurrency) },
);
worker.on('error', (err) => console.error(`bullmq worker: ${err.message}`));
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.stdin.resume().once('end', () => void worker.close());
