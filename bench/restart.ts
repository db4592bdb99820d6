/**
 * Issue 16's figures: a worker SIGKILLed with 16 running jobs and started again on its data
 * folder. Per round: from the new process's start to the jobs taken back from the supervisor,
 * to registered with them, and to the scheduler showing all 16 `running` again. Same-run
 * baseline: the same restart with no job to take back (process and module start-up,
 * certificates, registration). And the supervisor's memory with 0 and with 16 jobs.
 */
import { startScheduler, startWorker, startProcess, jobsDir, cleanUp, type BatonProcess, type SchedulerHandle, type WorkerHandle } from '../test/support/cluster.js';
import { allJobs, post } from './http.js';
import { rssMiB } from './proc.js';
import { fmt, type Section } from './report.js';
import { percentile } from './stats.js';

const JOBS = Number(process.env.BENCH_RESTART_JOBS ?? 16);
const ROUNDS = Number(process.env.BENCH_RESTART_ROUNDS ?? 5);

interface Round {
  /** Process start → 'took back the jobs…' (undefined with none to take back). */
  adoptedMs?: number;
  /** Process start → 'worker registered'. */
  registeredMs: number;
  /** Process start → the scheduler lists every job `running` (undefined with none). */
  runningMs?: number;
}

export async function restart(): Promise<Section> {
  const scheduler = await startScheduler();
  const jobs = jobsDir({ 'sleeper.sh': '#!/bin/bash\nsleep 3600\n' });
  let worker = await startWorker(scheduler, { jobsDir: jobs });
  try {
    const supervisorIdle = await supervisorPid(worker);
    const rssIdle = rssMiB(supervisorIdle);
    const baseline: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const round = await restartRound(scheduler, worker, 0);
      baseline.push(round.timing);
      worker = round.worker;
    }

    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) ids.push(String((await post(`${scheduler.api}/v1/jobs`, { worker_id: worker.id, command: 'bash', path: 'sleeper.sh' })).id));
    await until(async () => (await runningOn(scheduler, worker.id)) === JOBS, `${JOBS} jobs running`);
    const supervisorBusy = await supervisorPid(worker);
    const rssBusy = rssMiB(supervisorBusy);
    const loaded: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const round = await restartRound(scheduler, worker, JOBS);
      loaded.push(round.timing);
      worker = round.worker;
    }
    const jobsNow = await allJobs(scheduler.api, `worker_id=${worker.id}`);
    const attempts = (jobsNow as unknown as { id: string; attempt: number }[]).filter((j) => ids.includes(j.id)).map((j) => j.attempt);

    const stat = (values: number[]): string => `p50 ${fmt(percentile(values, 50))} ms, max ${fmt(Math.max(...values))} ms`;
    return {
      title: `Worker restart: ${JOBS} running jobs taken back`,
      method: `One scheduler (SQLite, mTLS), one worker running ${JOBS} \`sleep 3600\` jobs; ${ROUNDS} rounds of SIGKILL the worker, wait until the scheduler has marked its jobs \`unknown\`, start it again on the same data folder. Times are from the new process's start. Baseline: ${ROUNDS} rounds of the same restart with no job running (what any worker start costs; it includes starting a new supervisor, since one with neither jobs nor worker exits, which a restart with jobs does not need). Memory is the supervisor's RSS with the worker connected. BENCH_RESTART_JOBS and BENCH_RESTART_ROUNDS set the sizes.`,
      rows: [
        { measure: 'restart with no jobs → registered (baseline)', figure: stat(baseline.map((r) => r.registeredMs)), target: '' },
        { measure: `restart with ${JOBS} jobs → jobs taken back from the supervisor`, figure: stat(loaded.map((r) => r.adoptedMs ?? NaN)), target: '' },
        { measure: `restart with ${JOBS} jobs → registered with them`, figure: stat(loaded.map((r) => r.registeredMs)), target: '' },
        {
          measure: `restart with ${JOBS} jobs → all \`running\` at the scheduler`,
          figure: stat(loaded.map((r) => r.runningMs ?? NaN)),
          target: 'the baseline plus a little',
        },
        {
          measure: `jobs still on their first attempt after ${ROUNDS} restarts`,
          figure: `${attempts.filter((a) => a === 1).length} of ${JOBS}`,
          target: 'all',
          met: attempts.length === JOBS && attempts.every((a) => a === 1),
        },
        { measure: 'supervisor RSS, 0 jobs (baseline)', figure: `${fmt(rssIdle, 1)} MiB`, target: '' },
        {
          measure: `supervisor RSS, ${JOBS} jobs`,
          figure: `${fmt(rssBusy, 1)} MiB (${fmt(((rssBusy - rssIdle) * 1024) / JOBS)} KiB per job over the baseline)`,
          target: '',
        },
      ],
    };
  } finally {
    await worker.kill('SIGTERM'); // drains with --drain-timeout 0: its jobs are stopped
    await scheduler.kill();
    await cleanUp();
  }
}

/** SIGKILL `worker`, wait for the scheduler to notice, start it again with the same arguments; times from its start. */
async function restartRound(scheduler: SchedulerHandle, worker: WorkerHandle, jobs: number): Promise<{ worker: WorkerHandle; timing: Round }> {
  await worker.kill('SIGKILL');
  if (jobs > 0) await until(async () => (await runningOn(scheduler, worker.id)) === 0, 'the jobs marked unknown');
  const args = worker.child.spawnargs.slice(worker.child.spawnargs.indexOf('worker'));
  const started = performance.now();
  const again = startProcess('worker', args);
  const timing: Round = { registeredMs: 0 };
  const adopted =
    jobs > 0
      ? again.waitForLog((l) => l.msg === 'took back the jobs the last worker process left to its supervisor').then(() => (timing.adoptedMs = performance.now() - started))
      : undefined;
  await again.waitForLog((l) => l.msg === 'worker registered');
  timing.registeredMs = performance.now() - started;
  await adopted;
  if (jobs > 0) {
    await until(async () => (await runningOn(scheduler, worker.id)) === jobs, `${jobs} jobs running again`, 5);
    timing.runningMs = performance.now() - started;
  }
  return { worker: Object.assign(again, { id: worker.id, dataDir: worker.dataDir }) as WorkerHandle, timing };
}

async function supervisorPid(worker: BatonProcess): Promise<number> {
  return Number((await worker.waitForLog((l) => l.msg === 'connected to the job supervisor')).supervisor_pid);
}

async function runningOn(scheduler: SchedulerHandle, workerId: string): Promise<number> {
  return (await allJobs(scheduler.api, `state=running&worker_id=${workerId}`)).length;
}

async function until(check: () => Promise<boolean>, what: string, everyMs = 20, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
