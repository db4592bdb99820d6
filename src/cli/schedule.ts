import { Command, Option } from 'commander';
import type { Schedule, ScheduleDetail } from '../client/index.js';
import { OVERLAP_POLICIES, type OverlapPolicy } from '../scheduler/schedules/overlap.js';
import { clientFrom, CONNECTION_HELP, guarded, printJson, printLines, stdoutPalette, withClientOptions, type ClientFlags } from './client-options.js';
import { paintState, type Palette } from './format/color.js';
import { renderTable } from './format/table.js';
import { formatDuration, relativeTime } from './format/time.js';
import { jobsTable } from './format/views.js';
import { jobRequestFrom, withJobOptions, type JobFlags } from './run.js';

interface CreateFlags extends ClientFlags, JobFlags {
  cron: string;
  tz?: string;
  overlap?: OverlapPolicy;
  catchupWindow?: string;
  paused?: boolean;
}

/** The next tick: "in 5m02s" (relativeTime reads the past). */
function inTime(iso: string | null, now: number): string {
  return iso ? `in ${formatDuration(Math.max(0, Date.parse(iso) - now))}` : '-';
}

function schedulesTable(schedules: readonly Schedule[], now: number, p: Palette): string[] {
  const rows = [['NAME', 'CRON', 'TIMEZONE', 'OVERLAP', 'NEXT RUN', 'LAST RUN', 'STATE'].map(p.bold)];
  for (const s of schedules) {
    const last = s.last_run ? `${paintState(p, s.last_run.state)} ${relativeTime(s.last_run.created_at, now)}` : '-';
    rows.push([s.name, s.cron, s.timezone, s.overlap, s.paused ? 'paused' : inTime(s.next_run_at, now), last, s.paused ? 'paused' : 'active']);
  }
  return renderTable(rows);
}

function scheduleLines(s: ScheduleDetail, now: number, p: Palette): string[] {
  const job = [s.job.command, ...(s.job.args ?? [])].join(' ');
  return [
    `${p.bold('Schedule')}  ${s.name}${s.paused ? ' (paused)' : ''}`,
    `${p.bold('Cron')}      ${s.cron} (${s.timezone})`,
    `${p.bold('Overlap')}   ${s.overlap}, catch-up window ${s.catchup_window}s`,
    `${p.bold('Job')}       ${job}`,
    `${p.bold('Missed')}    ${s.missed}${s.last_missed_at ? ` (last ${s.last_missed_at})` : ''}`,
    `${p.bold('Next runs')} ${s.next_runs.length > 0 ? s.next_runs.join(', ') : '-'}`,
    '',
    ...(s.runs.length > 0 ? jobsTable(s.runs, now, p) : ['no runs yet']),
  ];
}

/** A subcommand taking a schedule's NAME, with --addr/--token/--json. */
function named(name: string, description: string, act: (flags: ClientFlags, scheduleName: string) => Promise<unknown>, show: (value: never) => string[]): Command {
  const command = withClientOptions(new Command(name).description(description).argument('<name>', 'the schedule').addOption(new Option('--json', 'print the answer as JSON')));
  command.action(
    guarded(async (scheduleName: string) => {
      const flags = command.opts<ClientFlags>();
      const value = await act(flags, scheduleName);
      if (flags.json) printJson(value);
      else printLines(show(value as never));
    }),
  );
  return command;
}

/** `baton schedule create|ls|show|pause|resume|trigger|rm`. */
export function scheduleCommand(): Command {
  const schedule = new Command('schedule').description('cron schedules: a job run at each tick, once').addHelpText(
    'after',
    `
Each run is an ordinary job carrying the schedule's name and the tick it ran for:
\`baton ps\` lists it, and GET /v1/jobs?schedule=NAME lists a schedule's runs.
${CONNECTION_HELP}

Examples:
  baton schedule create nightly --cron '30 2 * * *' --tz Europe/Berlin -- ./backup.sh
  baton schedule create heartbeat --cron '@every 30s' --overlap allow -- curl -fsS https://example.com/ping
  baton schedule ls
  baton schedule show nightly
  baton schedule pause nightly && baton schedule resume nightly
  baton schedule trigger nightly
  baton schedule rm nightly`,
  );

  const create = withClientOptions(
    withJobOptions(
      new Command('create')
        .usage('<name> --cron <expr> [options] -- <command> [args...]')
        .description("create a schedule: the command runs at each tick of the cron expression (the job flags are `baton run`'s)")
        .argument('<name>', 'the schedule: letters, digits, ".", "_", "-"')
        .argument('<command>', 'the program to run')
        .argument('[args...]', 'its arguments (put them after --)'),
    )
      .addOption(new Option('--cron <expr>', 'five fields (minute hour day month weekday), or six with seconds first; @hourly, @daily, @weekly; @every 30s').makeOptionMandatory())
      .addOption(new Option('--tz <zone>', 'the IANA time zone the expression is read in (default UTC)'))
      .addOption(new Option('--overlap <policy>', 'when the previous run is still going (default skip)').choices(OVERLAP_POLICIES))
      .addOption(new Option('--catchup-window <duration>', 'how late a missed tick may still run (default 60s)'))
      .addOption(new Option('--paused', 'create it paused'))
      .addOption(new Option('--json', 'print the schedule as JSON')),
  );
  create.action(
    guarded(async (name: string, program: string, args: string[]) => {
      const flags = create.opts<CreateFlags>();
      const created = await clientFrom(flags).createSchedule({
        name,
        cron: flags.cron,
        job: jobRequestFrom(program, args, flags),
        ...(flags.tz !== undefined && { timezone: flags.tz }),
        ...(flags.overlap !== undefined && { overlap: flags.overlap }),
        ...(flags.catchupWindow !== undefined && { catchup_window: flags.catchupWindow }),
        ...(flags.paused && { paused: true }),
      });
      if (flags.json) printJson(created);
      else process.stdout.write(`schedule ${created.name} created; next run ${created.next_run_at ?? '- (paused)'}\n`);
    }),
  );

  const ls = withClientOptions(new Command('ls').description('list the schedules: next run, last run and its state').addOption(new Option('--json', 'print them as a JSON array')));
  ls.action(
    guarded(async () => {
      const flags = ls.opts<ClientFlags>();
      const schedules = await clientFrom(flags).listSchedules();
      if (flags.json) return printJson(schedules);
      if (schedules.length === 0) process.stderr.write('no schedules: create one with `baton schedule create`\n');
      else printLines(schedulesTable(schedules, Date.now(), stdoutPalette()));
    }),
  );

  const line = (what: string) => (s: Schedule) => [`schedule ${s.name} ${what}${s.paused ? '' : `; next run ${s.next_run_at ?? '-'}`}`];
  return schedule
    .addCommand(create)
    .addCommand(ls)
    .addCommand(
      named(
        'show',
        'one schedule: its next five ticks and last twenty runs',
        (flags, name) => clientFrom(flags).getSchedule(name),
        (s: ScheduleDetail) => scheduleLines(s, Date.now(), stdoutPalette()),
      ),
    )
    .addCommand(
      named('pause', 'pause a schedule: its ticks do not run until it is resumed', (flags, name) => clientFrom(flags).updateSchedule(name, { paused: true }), line('paused')),
    )
    .addCommand(
      named(
        'resume',
        'resume a paused schedule (ticks from while it was paused do not run)',
        (flags, name) => clientFrom(flags).updateSchedule(name, { paused: false }),
        line('resumed'),
      ),
    )
    .addCommand(
      named(
        'trigger',
        'run the schedule’s job now, outside the cron; prints the job id',
        (flags, name) => clientFrom(flags).triggerSchedule(name),
        (job: { id: string }) => [job.id],
      ),
    )
    .addCommand(
      named(
        'rm',
        'delete a schedule (its runs stay, as jobs)',
        (flags, name) => clientFrom(flags).deleteSchedule(name),
        (s: Schedule) => [`schedule ${s.name} deleted`],
      ),
    );
}
