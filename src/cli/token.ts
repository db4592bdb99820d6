import path from 'node:path';
import { Command, Option } from 'commander';
import { applyConfigFile } from '../common/options.js';
import { schedulerCommand } from './scheduler.js';
import { isRole, ROLES } from '../scheduler/auth/roles.js';
import { TOKEN_NAME, TOKEN_NAME_RULE } from '../scheduler/auth/tokens.js';
import type { Authenticator } from '../scheduler/auth/authenticator.js';
import type { TokenStore } from '../scheduler/store/token-store.js';

interface StoreFlags {
  dataDir: string;
  store?: string;
  config?: string;
}

/** The same store options and defaults as `baton scheduler`, so both open the same database. */
function withStoreOptions(command: Command): Command {
  return command
    .addOption(new Option('--data-dir <dir>', "the scheduler's data folder (its SQLite store)").env('BATON_DATA_DIR').default('./.baton/scheduler'))
    .addOption(new Option('--store <url>', 'sqlite:<file> or postgres://user@host:port/db (default: sqlite:<data-dir>/baton.db)').env('BATON_STORE'))
    .addOption(
      new Option('--config <file>', 'TOML config file; --data-dir and --store are read from its [scheduler] table (default: ./baton.toml if present)').env('BATON_CONFIG'),
    );
}

/** Opens the scheduler's store and an authenticator over it for `fn`. */
async function withStore<T>(command: Command, fn: (auth: Authenticator, tokens: TokenStore) => Promise<T>): Promise<T> {
  // The file's [scheduler] is checked against the scheduler's own options: a misspelt
  // `store` must stop this command too, not open another database.
  applyConfigFile(command, 'scheduler', schedulerCommand());
  const flags = command.opts<StoreFlags>();
  // The store's modules (database drivers) load only for the token commands.
  const { openStores } = await import('../scheduler/store/stores.js');
  const store = await openStores(flags.store ?? `sqlite:${path.join(flags.dataDir, 'baton.db')}`);
  const { Authenticator } = await import('../scheduler/auth/authenticator.js');
  try {
    return await fn(new Authenticator(store.tokens), store.tokens);
  } finally {
    await store.close();
  }
}

/** `baton token create|list|revoke`: manages API tokens directly in the scheduler's store. */
export function tokenCommand(): Command {
  const token = new Command('token').description("manage API tokens in the scheduler's store (works with or without a running scheduler)").addHelpText(
    'after',
    `
Roles: viewer   read workers, jobs and output
       operator viewer + start, stop, query and stream jobs
       admin    operator + manage tokens

Examples:
  baton token create --role admin --name admin
  baton token create --role operator --name ci --store postgres://postgres@db:5432/baton
  baton token list
  baton token revoke ci`,
  );

  const create = withStoreOptions(
    new Command('create')
      .description('create a token and print it once (only its hash is stored)')
      .addOption(new Option('--role <role>', 'what the token may do').choices(ROLES).makeOptionMandatory())
      .requiredOption('--name <name>', 'who or what uses it (recorded as submitted_by/stopped_by of its jobs)'),
  ).action(async () => {
    const { role, name } = create.opts<{ role: string; name: string }>();
    if (!TOKEN_NAME.test(name)) throw new Error(TOKEN_NAME_RULE);
    if (!isRole(role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
    const { secret } = await withStore(create, (auth) =>
      auth.create(name, role).catch((err: unknown) => {
        throw err instanceof Error && err.name === 'TokenNameTaken' ? new Error(err.message) : err;
      }),
    );
    process.stdout.write(`${secret}\n`);
    process.stderr.write(`Token "${name}" (${role}) created. It is shown only this once: store it now.\nUse it as: curl -H "Authorization: Bearer <token>" …\n`);
  });

  const list = withStoreOptions(new Command('list').description('list tokens (never their secrets)').option('--all', 'include revoked tokens')).action(async () => {
    const { all } = list.opts<{ all?: boolean }>();
    const tokens = await withStore(list, (_auth, store) => store.listTokens(all === true));
    if (tokens.length === 0) {
      process.stdout.write('no tokens\n');
      return;
    }
    const rows = tokens.map((t) => [t.name, t.role, new Date(t.createdAt).toISOString(), t.revokedAt === null ? '' : `revoked ${new Date(t.revokedAt).toISOString()}`]);
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['NAME', 'ROLE', 'CREATED'][i]!.length));
    const line = (r: string[]): string =>
      r
        .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c))
        .join('  ')
        .trimEnd();
    process.stdout.write(`${[line(['NAME', 'ROLE', 'CREATED', '']), ...rows.map(line)].join('\n')}\n`);
  });

  const revoke = withStoreOptions(
    new Command('revoke').description('revoke the live token with this name (a running scheduler stops accepting it within a second)').argument('<name>'),
  ).action(async (name: string) => {
    const revoked = await withStore(revoke, (auth) => auth.revoke(name));
    if (!revoked) throw new Error(`no live token named "${name}"`);
    process.stdout.write(`revoked ${name}\n`);
  });

  return token.addCommand(create).addCommand(list).addCommand(revoke);
}
