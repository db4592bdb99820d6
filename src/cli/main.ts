#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../common/package-root.js';
import { schedulerCommand } from './scheduler.js';
import { workerCommand } from './worker.js';
import { devCommand } from './dev.js';
import { certsCommand } from './certs.js';
import { tokenCommand } from './token.js';
import { runCommand } from './run.js';
import { psCommand } from './ps.js';
import { statusCommand } from './status.js';
import { logsCommand } from './logs.js';
import { stopCommand } from './stop.js';
import { workersCommand } from './workers.js';
import { drainCommands } from './drain.js';
import { waitCommand } from './wait.js';
import { eventsCommand } from './events.js';
import { completionCommand } from './completion.js';
import { completeIdsCommand } from './complete-ids.js';
import { globalClientOptions } from './client-options.js';
import { scheduleCommand } from './schedule.js';

const version = packageVersion();

const program = globalClientOptions(new Command('baton'))
  .description('Baton: a job scheduler. One scheduler, a fleet of workers, real OS processes.')
  .version(version)
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(devCommand())
  .addCommand(schedulerCommand())
  .addCommand(workerCommand())
  .addCommand(certsCommand())
  .addCommand(tokenCommand())
  .addCommand(runCommand())
  .addCommand(psCommand())
  .addCommand(statusCommand())
  .addCommand(logsCommand())
  .addCommand(stopCommand())
  .addCommand(workersCommand())
  .addCommand(waitCommand())
  .addCommand(eventsCommand())
  .addCommand(scheduleCommand());
for (const c of drainCommands()) program.addCommand(c);
program.addCommand(completeIdsCommand(), { hidden: true });
program.addCommand(completionCommand(() => program)).addHelpText(
  'after',
  `
Examples:
  baton dev                                   a scheduler and two workers on 127.0.0.1:7070
  baton certs init && baton certs issue scheduler && baton certs issue worker w-1
                                              the cluster CA and certificates (./.baton/certs)
  baton scheduler --http 127.0.0.1:7070       the scheduler alone
  baton worker --id w-1 --scheduler 127.0.0.1:7071 --jobs-dir ./jobs
  baton run -- bash -c 'echo hi; exit 7'      run a command on the one worker up; exits 7
  baton run --label zone=gpu --timeout 1h -- ./train.sh
                                              placed by the scheduler on a worker with that label
  baton ps --state running                    jobs, newest first
  baton --addr http://10.0.0.2:7070 workers   the workers of another scheduler
  baton drain worker-1 && baton workers       no new jobs on worker-1
  baton events                                job and worker changes, live
  baton schedule create nightly --cron '30 2 * * *' --tz Europe/Berlin -- ./backup.sh
                                              a job at each tick, once
  source <(baton completion bash)             tab completion`,
);

// Set by `baton dev` for its children: the parent holds our stdin open, so its end means
// the parent is gone and this process must not outlive it.
if (process.env.BATON_EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
  process.stdin.resume();
}

program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  console.error(`baton: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
