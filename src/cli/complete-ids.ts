import { Command } from 'commander';
import { clientFrom, type ClientFlags, withClientOptions } from './client-options.js';
import { COMPLETE_COMMAND, ID_KINDS, type IdKind } from './completion.js';

/** A Tab press waits at most this long for the scheduler. */
const COMPLETE_TIMEOUT_MS = 2_000;
/** Job ids offered: the newest ones. */
const JOBS_OFFERED = 100;

/**
 * `baton __complete jobs|workers`: ids one a line, for the completion scripts (completion.ts).
 * Hidden; prints nothing and exits 0 when the scheduler cannot be asked, so a Tab press never
 * prints an error into the command line being typed.
 */
export function completeIdsCommand(): Command {
  const command = withClientOptions(new Command(COMPLETE_COMMAND).description('ids for shell completion').argument('<kind>', ID_KINDS.join(' or ')));
  command.action(async (kind: string) => {
    if (!(ID_KINDS as readonly string[]).includes(kind)) return;
    const client = clientFrom(command.opts<ClientFlags>());
    const signal = AbortSignal.timeout(COMPLETE_TIMEOUT_MS);
    try {
      const ids =
        (kind as IdKind) === 'jobs' ? (await client.listJobs({ limit: JOBS_OFFERED }, { signal })).jobs.map((j) => j.id) : (await client.listWorkers({ signal })).map((w) => w.id);
      if (ids.length > 0) process.stdout.write(`${ids.join('\n')}\n`);
    } catch {
      // Unreachable, refused or too slow: no ids, and the shell offers none.
    }
  });
  return command;
}
