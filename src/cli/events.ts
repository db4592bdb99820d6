import { Command, Option } from 'commander';
import { argument } from './arguments.js';
import { clientFrom, CONNECTION_HELP, exitQuietlyOnEpipe, guarded, stdoutPalette, withClientOptions, type ClientFlags } from './client-options.js';
import { paintState } from './format/color.js';

interface EventsFlags extends ClientFlags {
  job?: string;
  type?: 'job' | 'worker' | 'schedule';
  since?: number;
}

/** `baton events`: job, worker and schedule changes as they happen, a line each (or JSON lines). */
export function eventsCommand(): Command {
  const command = withClientOptions(
    new Command('events')
      .description('Follow job, worker and schedule changes as they happen, one line each, until interrupted.')
      .addOption(new Option('--job <id>', "only this job's events"))
      .addOption(new Option('--type <type>', 'only job, worker or schedule events').choices(['job', 'worker', 'schedule']))
      .addOption(
        new Option('--since <event-id>', 'first replay the events after this id (0: all that are kept)').argParser(
          argument((t) => {
            if (!/^\d+$/.test(t)) throw new Error(`not an event id: "${t}"`);
            return Number(t);
          }),
        ),
      )
      .addOption(new Option('--json', 'one JSON object a line: {id, type, job|worker|schedule}')),
  ).addHelpText(
    'after',
    `${CONNECTION_HELP}

Examples:
  baton events
  baton events --job "$id" --since 0
  baton events --type worker --json | jq -c 'select(.worker.state == "down")'`,
  );
  command.action(
    guarded(async () => {
      const flags = command.opts<EventsFlags>();
      const client = clientFrom(flags);
      exitQuietlyOnEpipe();
      const p = stdoutPalette();
      for await (const e of client.events({ jobId: flags.job, types: flags.type ? [flags.type] : undefined, lastEventId: flags.since })) {
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(e)}\n`);
          continue;
        }
        // A job's change is dated by the job (a replay is in the past); a worker's or schedule's
        // view carries no time of change, so its lines show when they arrived.
        const at = (e.type === 'job' && e.job.updated_at !== null ? new Date(e.job.updated_at) : new Date()).toISOString().slice(11, 23);
        if (e.type === 'job') {
          const j = e.job;
          const detail = j.state === 'queued' && j.reason ? j.reason : (j.error ?? (j.exit_code !== null ? `exit ${j.exit_code}` : ''));
          process.stdout.write(`${at}  job     ${j.id}  ${paintState(p, j.state)}${j.worker_id ? `  on ${j.worker_id}` : ''}${detail ? `  ${detail}` : ''}\n`);
        } else if (e.type === 'schedule') {
          const s = e.schedule;
          const detail = 'deleted' in s ? 'deleted' : s.paused ? 'paused' : `next ${s.next_run_at ?? '-'}`;
          process.stdout.write(`${at}  schedule  ${s.name}  ${detail}\n`);
        } else {
          const w = e.worker;
          if (e.removed) {
            process.stdout.write(`${at}  worker  ${w.id}  removed\n`);
            continue;
          }
          process.stdout.write(`${at}  worker  ${w.id}  ${paintState(p, w.state)}${w.draining ? ' (draining)' : ''}  ${w.running}/${w.capacity} running\n`);
        }
      }
    }),
  );
  return command;
}
