import { Command, Option } from 'commander';
import { clientFrom, CONNECTION_HELP, guarded, printJson, withClientOptions, type ClientFlags } from './client-options.js';

/** `baton drain WORKER` and `baton undrain WORKER`: stop or resume new placements on a worker (admin). */
export function drainCommands(): Command[] {
  return [
    drainCommand('drain', 'Stop placing new jobs on a worker; its running jobs go on. Needs an admin token.', true),
    drainCommand('undrain', 'Let a drained worker take jobs again. Needs an admin token.', false),
  ];
}

function drainCommand(name: string, description: string, on: boolean): Command {
  const command = withClientOptions(
    new Command(name).description(description).argument('<worker>', 'the worker id (see `baton workers`)').addOption(new Option('--json', 'print the worker as JSON')),
  ).addHelpText(
    'after',
    `${CONNECTION_HELP}

Examples:
  baton ${name} worker-1
  baton workers          # STATE shows "up (draining)" while drained`,
  );
  command.action(
    guarded(async (workerId: string) => {
      const flags = command.opts<ClientFlags>();
      const client = clientFrom(flags);
      const worker = on ? await client.drainWorker(workerId) : await client.undrainWorker(workerId);
      if (flags.json) return printJson(worker);
      process.stdout.write(on ? `worker ${worker.id} draining: no new jobs will be placed on it (${worker.running} running go on)\n` : `worker ${worker.id} takes jobs again\n`);
    }),
  );
  return command;
}
