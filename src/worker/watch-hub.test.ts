import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { JobState } from '../gen/baton/v1/common.js';
import type { WatchJobsRequest, WatchJobsResponse } from '../gen/baton/v1/worker.js';
import { JobTable } from './job-table.js';
import { ReportHold, REPORT_HOLD_MS } from './report-hold.js';
import { newStatus } from './runner.js';
import { WatchHub } from './watch-hub.js';

/** A hub that holds reports whenever a job is active: as a busy worker's does. */
const busyHub = (table: JobTable): WatchHub => new WatchHub(table, new ReportHold(REPORT_HOLD_MS, 1));

/** A WatchJobs call as the hub sees it: what it was sent, as "job state" lines. */
class FakeCall extends EventEmitter {
  cancelled = false;
  writable = true;
  readonly sent: string[] = [];
  constructor(readonly request: WatchJobsRequest) {
    super();
  }
  write(msg: WatchJobsResponse): boolean {
    this.sent.push(`${msg.status!.jobId} ${JobState[msg.status!.state]}`);
    return true;
  }
  end(): void {
    this.writable = false;
    this.emit('finish');
  }
}

function attach(hub: WatchHub, afterSeq = 0): FakeCall {
  const call = new FakeCall({ afterSeq });
  hub.attach(call as unknown as ServerWritableStream<WatchJobsRequest, WatchJobsResponse>);
  return call;
}

/** A table with its hub and one watcher, and job `a` accepted and started (not yet ended). */
function started(): { table: JobTable; hub: WatchHub; call: FakeCall } {
  const table = new JobTable(10, () => {});
  const hub = busyHub(table);
  const call = attach(hub);
  table.add(newStatus('a'));
  table.update('a', { state: JobState.JOB_STATE_RUNNING, pid: 42, startedAtMs: 1 });
  return { table, hub, call };
}

test("a short job's RUNNING and end are written together; its STARTING is not written", () => {
  const { table, call } = started();
  assert.equal(call.sent.length, 0);
  table.update('a', { state: JobState.JOB_STATE_SUCCEEDED, exitCode: 0, finishedAtMs: 2 });
  assert.deepEqual(call.sent, ['a JOB_STATE_RUNNING', 'a JOB_STATE_SUCCEEDED']);
});

test('a long job is reported running without waiting for its end', async () => {
  const { hub, call } = started();
  assert.equal(call.sent.length, 0);
  // Sent once the hold has passed: waited for, not timed.
  await new Promise<void>((resolve) => {
    const check = (): void => void (call.sent.length > 0 ? resolve() : setTimeout(check, 10));
    check();
  });
  assert.deepEqual(call.sent, ['a JOB_STATE_RUNNING']);
  await hub.closeAll(1000);
});

test('a watcher that attaches gets every job as it is, held ones too, and closing sends what is held', async () => {
  const table = new JobTable(10, () => {});
  const hub = busyHub(table);
  table.add(newStatus('a'));
  table.add(newStatus('b'));
  table.update('b', { state: JobState.JOB_STATE_RUNNING, pid: 42, startedAtMs: 1 });
  const call = attach(hub);
  assert.deepEqual(call.sent, ['a JOB_STATE_STARTING', 'b JOB_STATE_RUNNING']);
  table.add(newStatus('c'));
  table.update('c', { state: JobState.JOB_STATE_RUNNING, pid: 43, startedAtMs: 2 });
  await hub.closeAll(1000);
  // The held ones again (harmless: a status is applied once), then c, held since.
  assert.deepEqual(call.sent.slice(2), ['a JOB_STATE_STARTING', 'b JOB_STATE_RUNNING', 'c JOB_STATE_RUNNING']);
  assert.equal(call.writable, false);
});

test('a job whose output is read is reported running at once, without waiting for the hold', async () => {
  const { hub, call } = started();
  assert.equal(call.sent.length, 0);
  hub.release('a');
  assert.deepEqual(call.sent, ['a JOB_STATE_RUNNING']);
  hub.release('a');
  assert.equal(call.sent.length, 1);
  await hub.closeAll(1000);
  assert.equal(call.sent.length, 1);
});

test('a worker with few jobs reports each change at once', async () => {
  const table = new JobTable(10, () => {});
  const hub = new WatchHub(table);
  const call = attach(hub);
  table.add(newStatus('a'));
  table.update('a', { state: JobState.JOB_STATE_RUNNING, pid: 42, startedAtMs: 1 });
  assert.deepEqual(call.sent, ['a JOB_STATE_STARTING', 'a JOB_STATE_RUNNING']);
  await hub.closeAll(1000);
});

test('a job whose output is followed is reported at once while followed, held again after', async () => {
  const table = new JobTable(10, () => {});
  const hub = busyHub(table);
  const call = attach(hub);
  table.add(newStatus('a'));
  const unfollow = hub.follow('a');
  assert.deepEqual(call.sent, ['a JOB_STATE_STARTING'], 'the held STARTING went when the output was asked for');
  table.update('a', { state: JobState.JOB_STATE_RUNNING, pid: 42, startedAtMs: 1 });
  assert.deepEqual(call.sent.slice(1), ['a JOB_STATE_RUNNING']);
  unfollow();
  table.add(newStatus('b'));
  const again = hub.follow('b');
  const other = hub.follow('b');
  again();
  table.update('b', { state: JobState.JOB_STATE_RUNNING, pid: 43, startedAtMs: 2 });
  assert.deepEqual(call.sent.slice(2), ['b JOB_STATE_STARTING', 'b JOB_STATE_RUNNING'], 'one reader of two left: still followed');
  other();
  table.update('a', { state: JobState.JOB_STATE_RUNNING, pid: 42, startedAtMs: 1, outputTruncated: true });
  assert.equal(call.sent.length, 4, 'no longer followed: held again');
  await hub.closeAll(1000);
});
