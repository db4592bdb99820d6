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
  baton workers --json | jq -r '.[] | select(.state == "up") | .id'
  baton workers rm worker-3        forget a dead worker (admin)`,
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
  return command.addCommand(removeCommand());
}

/** `baton workers rm ID…`: forgets workers that are down or deregistered (admin). */
function removeCommand(): Command {
  const command = withClientOptions(
    new Command('rm')
      .description(
        'Forget a worker that is down or deregistered: it leaves `baton workers`, the store and /metrics, and its attempts still unknown end lost now (retried by their policy) instead of after --lost-after. A worker that is up is refused (409 worker_up): stop it first. One that registers again later is known again. Needs an admin token.',
      )
      .argument('<worker...>', 'worker ids (see `baton workers`)')
      .addOption(new Option('--json', 'print the removed workers as a JSON array')),
  ).addHelpText(
    'after',
    `${CONNECTION_HELP}

Examples:
  baton workers rm worker-3
  baton workers --json | jq -r '.[] | select(.state == "down") | .id' | xargs baton workers rm`,
  );
  command.action(
    guarded(async (ids: string[]) => {
      const flags = command.opts<ClientFlags>();
      const client = clientFrom(flags);
      const removed = [];
      for (const id of ids) {
        const worker = await client.removeWorker(id);
        removed.push(worker);
        if (!flags.json) process.stdout.write(`worker ${worker.id} removed (it was ${worker.state})\n`);
      }
      if (flags.json) printJson(removed);
    }),
  );
  return command;
}
