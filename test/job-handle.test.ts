// The job handle (`const job = await baton.run(...)`) against a real scheduler and worker:
// the output of every attempt live, the final attempt's output, a queued job stopped.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { BatonClient } from '../src/client/index.js';
import { startScheduler, startWorker, tempDir } from './harness.js';

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  let text = '';
  for await (const chunk of chunks) text += Buffer.from(chunk).toString();
  return text;
}

describe('JobHandle', () => {
  let client: BatonClient;

  before(async () => {
    const scheduler = await startScheduler();
    await startWorker(scheduler);
    client = new BatonClient({ address: scheduler.api });
  });

  it('streams every attempt of a retried job, then gives the last attempt’s output and result', async () => {
    const dir = tempDir('baton-tries-');
    chmodSync(dir, 0o777); // a root worker runs jobs as nobody
    const counter = path.join(dir, 'tries');
    const script = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo "try $n"; [ $n -ge 2 ]`;
    const job = await client.run({ command: 'bash', args: ['-c', script], retry: { max_attempts: 3, backoff: { base: 0, cap: 0 }, on: ['failed'] } });
    assert.equal(await collect(job.outputStream()), 'try 1\ntry 2\n');
    assert.equal(await job.output(), 'try 2\n');
    const result = await job.result();
    assert.equal(result.state, 'succeeded');
    assert.equal(result.attempt, 2);
    assert.deepEqual(
      result.attempts.map((a) => a.state),
      ['failed', 'succeeded'],
    );
  });

  it('waits while the job is queued; a stop ends it with no output', async () => {
    const job = await client.run({ command: 'true', labels: { gpu: 'none-here' } });
    assert.equal(job.job.state, 'queued');
    const streamed = collect(job.outputStream());
    const stopped = await job.stop();
    assert.equal(stopped.state, 'stopped');
    assert.equal(await streamed, '');
    assert.equal(await job.output(), '');
    assert.equal((await job.result()).state, 'stopped');
  });

  it('stops a running job', async () => {
    const job = await client.run({ command: 'bash', args: ['-c', 'echo up; exec sleep 300'] });
    for await (const chunk of job.outputStream()) {
      assert.equal(Buffer.from(chunk).toString(), 'up\n');
      break;
    }
    await job.stop({ graceMs: 2_000 });
    const result = await job.result();
    assert.equal(result.state, 'stopped');
    assert.equal(await job.output(), 'up\n');
  });
});
