import path from 'node:path';
import { Command, Option } from 'commander';
import { applyConfigFile } from '../common/options.js';
import { schedulerCommand } from './scheduler.js';
import { isRole, ROLES } from '../scheduler/auth/roles.js';
import { TOKEN_NAME, TOKEN_NAME_RULE } from '../scheduler/auth/tokens.js';
import type { Authenticator } from '../scheduler/auth/authenticator.js';
import type { TokenStore } from '../scheduler/store/token-store.js';
import { clientFrom, CONNECTION_HELP, guarded, withClientOptions, type ClientFlags } from './client-options.js';

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

/**
 * Where a token command works: through the API of a running scheduler (with an admin token,
 * from any machine) or straight in the scheduler's store (on its machine, running or not; how
 * the first token is made). Flags on the command line decide (--data-dir, --store or --config:
 * the store; --addr or --token: the API); without either, BATON_ADDR or BATON_TOKEN in the
 * environment mean the API, else the store.
 */
function modeOf(command: Command): 'api' | 'store' {
  const from = (source: string, names: string[]): boolean => names.some((n) => command.getOptionValueSource(n) === source);
  const store = from('cli', ['dataDir', 'store', 'config']);
  const api = from('cli', ['addr', 'token']);
  if (store && api) throw new Error('give --addr/--token (through a running scheduler) or --data-dir/--store/--config (straight in its store), not both');
  if (store) return 'store';
  if (api) return 'api';
  return from('env', ['addr', 'token']) ? 'api' : 'store';
}

/** The store options and the client options: the command works either way (see modeOf). */
function withBothOptions(command: Command): Command {
  return withClientOptions(withStoreOptions(command));
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

/** `baton token create|list|revoke`: manages API tokens through the API or straight in the scheduler's store (see modeOf). */
export function tokenCommand(): Command {
  const token = new Command('token')
    .description(
      "manage API tokens: through a running scheduler's API with an admin token (--addr/--token, from any machine), or straight in its store (--data-dir/--store, on its machine, running or not: how the first token is made)",
    )
    .addHelpText(
      'after',
      `
Roles: viewer   read workers, jobs and output
       operator viewer + start, stop, query and stream jobs, schedules
       admin    operator + drain and remove workers, manage tokens

Through the API when --addr or --token is given (or, with no store flag, BATON_ADDR or
BATON_TOKEN is set); straight in the store otherwise (--data-dir, --store, --config, or
their defaults: the same as \`baton scheduler\`).
${CONNECTION_HELP}

Examples:
  baton token create --role admin --name admin          the first one, on the scheduler's machine
  baton token create --role operator --name ci --store postgres://postgres@db:5432/baton
  baton token create --role operator --name ci --addr https://baton.internal:7070 --token "$ADMIN_TOKEN"
  BATON_TOKEN=$ADMIN_TOKEN baton token list
  baton token revoke ci --addr https://baton.internal:7070 --token "$ADMIN_TOKEN"`,
    );

  const create = withBothOptions(
    new Command('create')
      .description('create a token and print it once (only its hash is stored)')
      .addOption(new Option('--role <role>', 'what the token may do').choices(ROLES).makeOptionMandatory())
      .requiredOption('--name <name>', 'who or what uses it (recorded as submitted_by/stopped_by of its jobs)'),
  ).action(
    guarded(async () => {
      const { role, name } = create.opts<{ role: string; name: string }>();
      if (!TOKEN_NAME.test(name)) throw new Error(TOKEN_NAME_RULE);
      if (!isRole(role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
      const secret =
        modeOf(create) === 'api'
          ? (await clientFrom(create.opts<ClientFlags>()).createToken(name, role)).token
          : (
              await withStore(create, (auth) =>
                auth.create(name, role).catch((err: unknown) => {
                  throw err instanceof Error && err.name === 'TokenNameTaken' ? new Error(err.message) : err;
                }),
              )
            ).secret;
      process.stdout.write(`${secret}\n`);
      process.stderr.write(`Token "${name}" (${role}) created. It is shown only this once: store it now.\nUse it as: curl -H "Authorization: Bearer <token>" …\n`);
    }),
  );

  const list = withBothOptions(new Command('list').description('list tokens (never their secrets)').option('--all', 'include revoked tokens (from the store only)')).action(
    guarded(async () => {
      const { all } = list.opts<{ all?: boolean }>();
      const tokens = await listed(list, all === true);
      printTokens(tokens);
    }),
  );

  const revoke = withBothOptions(
    new Command('revoke').description('revoke the live token with this name (a running scheduler stops accepting it within a second)').argument('<name>'),
  ).action(
    guarded(async (name: string) => {
      if (modeOf(revoke) === 'api') await clientFrom(revoke.opts<ClientFlags>()).revokeToken(name);
      else if (!(await withStore(revoke, (auth) => auth.revoke(name)))) throw new Error(`no live token named "${name}"`);
      process.stdout.write(`revoked ${name}\n`);
    }),
  );

  return token.addCommand(create).addCommand(list).addCommand(revoke);
}

interface ListedToken {
  name: string;
  role: string;
  createdAt: number;
  revokedAt: number | null;
}

/** The tokens, from the API (live ones) or the store (revoked ones too with `all`). */
async function listed(command: Command, all: boolean): Promise<ListedToken[]> {
  if (modeOf(command) === 'store') return withStore(command, (_auth, store) => store.listTokens(all));
  if (all) throw new Error("--all lists revoked tokens, which only the store keeps: give --data-dir or --store on the scheduler's machine");
  const tokens = await clientFrom(command.opts<ClientFlags>()).listTokens();
  return tokens.map((t) => ({ name: t.name, role: t.role, createdAt: Date.parse(t.created_at), revokedAt: t.revoked_at === null ? null : Date.parse(t.revoked_at) }));
}

function printTokens(tokens: ListedToken[]): void {
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
}
