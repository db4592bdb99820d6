// Schedules with real processes: the API and its refusals, a schedule every second firing
// each tick once, and a scheduler SIGKILLed and restarted catching up the ticks it missed.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { startScheduler, startWorker, eventually, waitForFinal, type SchedulerHandle } from './harness.js';
import { assertEverySecondOnce, call, runsOf, sleep, type Run } from './support/schedules.js';
import { spawn } from 'node:child_process';
import { BatonClient } from '../src/client/index.js';
import { baton, MAIN } from './support/cli.js';
import { SseReader } from './support/sse.js';

describe('schedules API', () => {
  let scheduler: SchedulerHandle;
  before(async () => {
    scheduler = await startScheduler();
    await startWorker(scheduler);
  });

  it('refuses bad input with 400/409 naming the field and the fault', async () => {
    const api = `${scheduler.api}/v1/schedules`;
    const job = { command: 'true' };
    const cases: [unknown, number, string, RegExp][] = [
      [{ name: 'a', cron: '61 * * * *', job }, 400, 'bad_request', /^cron "61 \* \* \* \*": minute 61 is out of range 0-59$/],
      [{ name: 'a', cron: '* * * * *', timezone: 'Mars/Olympus', job }, 400, 'bad_request', /^timezone "Mars\/Olympus" is not an IANA time zone name/],
      [{ name: 'a', cron: '0 0 30 2 *', job }, 400, 'bad_request', /never fires/],
      [{ name: 'a', cron: '* * * * *', job: { args: ['x'] } }, 400, 'bad_request', /^job\.command is required$/],
      [{ name: 'a', cron: '* * * * *', job: { command: 'true', resources: { memory: 'lots' } } }, 400, 'bad_request', /^job\.resources\.memory: /],
      [{ name: 'a', cron: '* * * * *', job, overlap: 'sometimes' }, 400, 'bad_request', /^overlap must be one of skip, allow, buffer_one, cancel_previous$/],
      [{ name: 'a b', cron: '* * * * *', job }, 400, 'bad_request', /^name /],
      [{ name: 'a', cron: '* * * * *', job: { command: 'true', after: ['#0'] } }, 400, 'bad_request', /^job\.after: a schedule's runs cannot wait for other jobs/],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await call('POST', api, body);
      assert.equal(res.status, status, JSON.stringify(res.json));
      assert.equal(res.json.code, code);
      assert.match(String(res.json.error), message);
    }
    assert.equal((await call('POST', api, { name: 'twice', cron: '@daily', job })).status, 201);
    const dup = await call('POST', api, { name: 'twice', cron: '@hourly', job });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.code, 'already_exists');
    const unknown = await call('GET', `${api}/nope`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.code, 'schedule_not_found');
  });

  it('creates, shows the next five ticks, pauses, resumes, triggers and deletes', async () => {
    const api = `${scheduler.api}/v1/schedules`;
    const created = await call('POST', api, {
      name: 'nightly',
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      job: { command: 'true' },
      overlap: 'buffer_one',
      catchup_window: '5m',
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.catchup_window, 300);
    assert.equal(created.json.overlap, 'buffer_one');
    assert.equal(typeof created.json.next_run_at, 'string');

    const shown = await call('GET', `${api}/nightly`);
    const next = shown.json.next_runs as string[];
    assert.equal(next.length, 5);
    assert.equal(next[0], created.json.next_run_at);
    for (const t of next) assert.match(new Date(t).toLocaleString('en-GB', { timeZone: 'Europe/Berlin' }), /(02:30|03:00):00$/);

    const paused = await call('PATCH', `${api}/nightly`, { paused: true });
    assert.equal(paused.json.paused, true);
    assert.equal(paused.json.next_run_at, null);
    const resumed = await call('PATCH', `${api}/nightly`, { paused: false, cron: '45 3 * * *' });
    assert.equal(resumed.json.paused, false);
    assert.equal(resumed.json.cron, '45 3 * * *');

    const triggered = await call('POST', `${api}/nightly/trigger`);
    assert.equal(triggered.status, 201, JSON.stringify(triggered.json));
    assert.equal(triggered.json.schedule, 'nightly');
    assert.equal(triggered.json.scheduled_for, null);
    await waitForFinal(scheduler.api, String(triggered.json.id));
    const runs = await runsOf(scheduler.api, 'nightly');
    assert.deepEqual(
      runs.map((r) => r.id),
      [triggered.json.id],
    );
    const listed = (await call('GET', api)).json.schedules as { name: string; last_run: { job_id: string; state: string } | null }[];
    assert.deepEqual(listed.find((s) => s.name === 'nightly')?.last_run?.job_id, triggered.json.id);

    assert.equal((await call('DELETE', `${api}/nightly`)).status, 200);
    assert.equal((await call('GET', `${api}/nightly`)).status, 404);
    assert.equal((await runsOf(scheduler.api, 'nightly')).length, 1, 'its runs stay');
  });

  it('baton schedule: create with the job flags of baton run, ls, show, pause, resume, trigger, rm; --json on each', async () => {
    const cli = (args: string[]) => baton(['schedule', ...args], { api: scheduler.api });
    const created = await cli([
      'create',
      'cli-made',
      '--cron',
      '0 6 * * 1-5',
      '--tz',
      'America/New_York',
      '--overlap',
      'cancel_previous',
      '-e',
      'K=v',
      '--timeout',
      '90s',
      '--json',
      '--',
      'bash',
      '-c',
      'echo $K',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const schedule = JSON.parse(created.stdout) as { name: string; overlap: string; job: Record<string, unknown> };
    assert.equal(schedule.overlap, 'cancel_previous');
    assert.deepEqual(schedule.job, { command: 'bash', args: ['-c', 'echo $K'], env: { K: 'v' }, timeout: 90 });

    const bad = await cli(['create', 'cli-bad', '--cron', '61 * * * *', '--', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /minute 61 is out of range 0-59/);

    const ls = await cli(['ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /cli-made\s+0 6 \* \* 1-5\s+America\/New_York\s+cancel_previous/);
    assert.equal(
      (JSON.parse((await cli(['ls', '--json'])).stdout) as { name: string }[]).some((s) => s.name === 'cli-made'),
      true,
    );
    const show = await cli(['show', 'cli-made', '--json']);
    assert.equal((JSON.parse(show.stdout) as { next_runs: string[] }).next_runs.length, 5);
    assert.match((await cli(['show', 'cli-made'])).stdout, /Next runs/);
    assert.equal((JSON.parse((await cli(['pause', 'cli-made', '--json'])).stdout) as { paused: boolean }).paused, true);
    assert.match((await cli(['resume', 'cli-made'])).stdout, /schedule cli-made resumed; next run /);
    const triggered = await cli(['trigger', 'cli-made']);
    assert.equal(triggered.code, 0, triggered.stderr);
    const job = await waitForFinal(scheduler.api, triggered.stdout.trim());
    assert.equal(job.schedule, 'cli-made');
    assert.equal((await cli(['rm', 'cli-made'])).code, 0);
    const gone = await cli(['show', 'cli-made']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /schedule "cli-made" not found/);
  });

  it('a schedule every second runs each tick once, N±1 times in N seconds', async () => {
    const created = await call('POST', `${scheduler.api}/v1/schedules`, { name: 'every-second', cron: '* * * * * *', job: { command: 'true' }, overlap: 'allow' });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    await sleep(5_000);
    const paused = await call('PATCH', `${scheduler.api}/v1/schedules/every-second`, { paused: true });
    // Every tick after its creation and up to the pause, once: whole seconds in (created_at, updated_at].
    const from = Date.parse(String(created.json.created_at));
    const to = Date.parse(String(paused.json.updated_at));
    const expected = Math.floor(to / 1000) - Math.floor(from / 1000);
    const runs = await eventually(async () => {
      const r = await runsOf(scheduler.api, 'every-second');
      return r.length >= expected - 1 ? r : undefined;
    }, `${expected} runs`);
    assert.ok(Math.abs(runs.length - expected) <= 1, `${runs.length} runs for ${expected} ticks`);
    const ticks = assertEverySecondOnce(runs);
    assert.ok(ticks[0]! > from && ticks.at(-1)! <= to);
    const metrics = await fetch(`${scheduler.api}/metrics`).then((r) => r.text());
    assert.match(metrics, /baton_schedule_fires_total\{outcome="created"\} \d+/);
    assert.match(metrics, /baton_schedule_fire_lag_seconds_count \d+/);
  });
});

interface RunDetail extends Run {
  started_at: string | null;
  finished_at: string | null;
  created_at: string;
  stopped_by: string | null;
  attempts: { started_at: string | null }[];
}

/** A schedule every second whose runs outlast a tick, paused once `runs` of them exist; those runs, once the last is stopped. */
async function overlapping(api: string, name: string, overlap: string, seconds: number, runs: number): Promise<RunDetail[]> {
  const created = await call('POST', `${api}/v1/schedules`, { name, cron: '* * * * * *', job: { command: 'sleep', args: [String(seconds)] }, overlap });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  await eventually(async () => ((await runsOf(api, name)).length >= runs ? true : undefined), `${runs} runs of ${name}`);
  await call('PATCH', `${api}/v1/schedules/${name}`, { paused: true });
  const listed = await runsOf(api, name);
  const ids = listed.map((r) => r.id);
  await call('POST', `${api}/v1/jobs/${ids[0]}/stop`, {});
  return Promise.all(ids.map((id) => waitForFinal(api, id) as Promise<unknown> as Promise<RunDetail>));
}

/** No run started before the one before it ended. */
function assertOneAtATime(runs: RunDetail[]): void {
  const spans = runs.map((r) => [Date.parse(r.attempts[0]!.started_at!), Date.parse(r.finished_at!)] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1], `run ${i} started before run ${i - 1} ended`);
}

describe('schedules: overlap policies with real runs', () => {
  let scheduler: SchedulerHandle;
  before(async () => {
    scheduler = await startScheduler();
    await startWorker(scheduler);
  });

  it('skip: ticks while a run is going are skipped, counted in /metrics', async () => {
    const runs = await overlapping(scheduler.api, 'overlap-skip', 'skip', 2.5, 2);
    assertOneAtATime(runs);
    assert.match(await fetch(`${scheduler.api}/metrics`).then((r) => r.text()), /baton_schedule_overlap_skips_total [1-9]/);
  });

  it('buffer_one: one tick waits and runs when the previous run ends', async () => {
    const runs = await overlapping(scheduler.api, 'overlap-buffer', 'buffer_one', 2.5, 3);
    assertOneAtATime(runs);
    // A buffered tick's job is made when the run before it ends: well after its tick.
    assert.ok(
      runs.some((r) => Date.parse(r.created_at) - Date.parse(r.scheduled_for!) > 1_000),
      'a tick ran late, after the run before it',
    );
  });

  it('cancel_previous: each tick stops the run still going', async () => {
    const runs = await overlapping(scheduler.api, 'overlap-cancel', 'cancel_previous', 30, 3);
    const byTick = runs.sort((a, b) => Date.parse(a.scheduled_for!) - Date.parse(b.scheduled_for!));
    for (const r of byTick.slice(0, -1)) {
      assert.equal(r.state, 'stopped');
      assert.equal(r.stopped_by, 'schedule overlap-cancel');
    }
  });

  it('schedule changes appear on /v1/events', async () => {
    const events = await SseReader.open(`${scheduler.api}/v1/events?types=schedule`);
    try {
      await call('POST', `${scheduler.api}/v1/schedules`, { name: 'watched', cron: '@daily', job: { command: 'true' } });
      await call('DELETE', `${scheduler.api}/v1/schedules/watched`);
      const made = await events.next((e) => e.event === 'schedule' && e.data.name === 'watched');
      assert.equal(made.data.cron, '@daily');
      const deleted = await events.next((e) => e.event === 'schedule' && e.data.deleted === true);
      assert.equal(deleted.data.name, 'watched');
    } finally {
      events.close();
    }
  });

  it('client events() and `baton events --type schedule` carry schedule changes', async () => {
    const client = new BatonClient({ address: scheduler.api });
    const stop = new AbortController();
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const seen = (async () => {
      const got: string[] = [];
      for await (const e of client.events({ types: ['schedule'], signal: stop.signal, onOpen: opened })) {
        if (e.type !== 'schedule') throw new Error(`a ${e.type} event passed the schedule filter`);
        got.push('deleted' in e.schedule ? `${e.schedule.name} deleted` : `${e.schedule.name} ${e.schedule.cron}`);
        if (got.length === 2) return got;
      }
      return got;
    })();
    await open;
    const cli = spawn(process.execPath, [MAIN, 'events', '--type', 'schedule'], { env: { ...process.env, BATON_ADDR: scheduler.api }, stdio: ['ignore', 'pipe', 'pipe'] });
    let printed = '';
    cli.stdout.setEncoding('utf8').on('data', (d: string) => (printed += d));
    try {
      // The CLI's stream is open once it answers a first change; create until it has printed one.
      await eventually(async () => {
        await call('POST', `${scheduler.api}/v1/schedules`, { name: 'followed', cron: '@hourly', job: { command: 'true' } });
        await call('DELETE', `${scheduler.api}/v1/schedules/followed`);
        return /schedule {2}followed {2}deleted/.test(printed) ? true : undefined;
      }, 'baton events printing a schedule line');
      assert.deepEqual((await seen).slice(0, 2), ['followed @hourly', 'followed deleted']);
    } finally {
      stop.abort();
      cli.kill();
    }
  });
});

describe('schedules across a scheduler SIGKILLed and restarted', () => {
  it('fires each tick once, the missed ones inside the catch-up window included', async () => {
    let scheduler = await startScheduler();
    const { dataDir } = scheduler;
    // No worker: the runs wait queued (overlap allow), which is all this needs to count.
    const created = await call('POST', `${scheduler.api}/v1/schedules`, { name: 'through-crash', cron: '@every 1s', job: { command: 'true' }, overlap: 'allow' });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    await eventually(async () => ((await runsOf(scheduler.api, 'through-crash')).length >= 2 ? true : undefined), 'two runs');
    await scheduler.kill('SIGKILL');
    const killedAt = Date.now();
    await sleep(3_000);
    scheduler = await startScheduler({ dataDir });
    // Ticks from while it was down fire on restart, and the ones after keep coming.
    const runs = await eventually(async () => {
      const r = await runsOf(scheduler.api, 'through-crash');
      return r.some((run) => Date.parse(run.scheduled_for!) > killedAt + 4_000) ? r : undefined;
    }, 'runs after the restart');
    const ticks = assertEverySecondOnce(runs);
    assert.ok(ticks.filter((t) => t > killedAt && t < killedAt + 3_000).length >= 2, 'the ticks while it was down fired');
    await scheduler.kill();
  });
});
