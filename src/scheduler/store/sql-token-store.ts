import type { Selectable } from 'kysely';
import type { TokensTable } from './schema.js';
import { isUniqueViolation, type SqlContext } from './sql.js';
import { TokenNameTaken, type TokenRecord, type TokenStore } from './token-store.js';

/** The token port on SQLite and PostgreSQL. */
export class SqlTokenStore implements TokenStore {
  constructor(private readonly ctx: SqlContext) {}

  async createToken(token: Omit<TokenRecord, 'revokedAt'>): Promise<void> {
    const { db } = this.ctx;
    const taken = await db.selectFrom('tokens').select('id').where('name', '=', token.name).where('revoked_at', 'is', null).executeTakeFirst();
    if (taken) throw new TokenNameTaken(token.name);
    try {
      await db.insertInto('tokens').values({ id: token.id, name: token.name, role: token.role, hash: token.hash, created_at: token.createdAt, revoked_at: null }).execute();
    } catch (err) {
      // Two creators raced past the check above: the unique index on live names refused the second.
      if (isUniqueViolation(err)) throw new TokenNameTaken(token.name);
      throw err;
    }
  }

  async listTokens(all = false): Promise<TokenRecord[]> {
    let query = this.ctx.db.selectFrom('tokens').selectAll();
    if (!all) query = query.where('revoked_at', 'is', null);
    const rows = await query.orderBy('created_at').orderBy('id').execute();
    return rows.map(toToken);
  }

  async revokeToken(name: string, now: number): Promise<TokenRecord | undefined> {
    const { db } = this.ctx;
    const live = await db.selectFrom('tokens').selectAll().where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
    if (!live) return undefined;
    await db.updateTable('tokens').set({ revoked_at: now }).where('id', '=', live.id).where('revoked_at', 'is', null).execute();
    return { ...toToken(live), revokedAt: now };
  }
}

function toToken(r: Selectable<TokensTable>): TokenRecord {
  return { id: r.id, name: r.name, role: r.role, hash: r.hash, createdAt: r.created_at, revokedAt: r.revoked_at };
}
