import { Command, Option } from 'commander';
import { clientFrom, CONNECTION_HELP, guarded, printJson, printLines, stdoutPalette, withClientOptions, type ClientFlags } from './client-options.js';
import { workersTable } from './format/views.js';

export function workersCommand(): Command {
  const command = withClientOptions(
    new Command('workers')
      .description('List the workers the scheduler knows: state, address, jobs running of capacity, labels, last heartbeat.')
      .addOption(new Option('--json', 'print the workers as a JSON array')),
  ).addHelpText(
    'after',
    `${CONNECTION_HELP}

Examples:
  baton workers
  baton workers --json | jq -r '.[] | select(.state == "up") | .id'`,
  );

  command.action(
    guarded(async () => {
      const flags = command.opts<ClientFlags>();
      const workers = await clientFrom(flags).listWorkers();
      if (flags.json) return printJson(workers);
      if (workers.length === 0) {
        process.stderr.write('no workers have registered: start one with `baton worker`\n');
        return;
      }
      printLines(workersTable(workers, Date.now(), stdoutPalette()));
    }),
  );
  return command;
}
