import { uuidv7 } from '../../common/ids.js';
import type { TokenRecord, TokenStore } from '../store/token-store.js';
import { isRole, type Role } from './roles.js';
import { matchToken, newToken } from './tokens.js';

export interface Principal {
  /** The token's name, or "anonymous" when the API runs without tokens. */
  name: string;
  role: Role;
}

export const ANONYMOUS: Principal = { name: 'anonymous', role: 'admin' };

/** How stale the in-memory copy of the live tokens may get: a token made or revoked by `baton token` (another process) counts within this. */
const REFRESH_MS = 1_000;

/**
 * Checks presented tokens against the live tokens in the store. The live set is cached
 * for a second so a request costs no query; changes made through this process apply at once.
 */
export class Authenticator {
  private live: TokenRecord[] = [];
  private loadedAt = -Infinity;
  private loading: Promise<TokenRecord[]> | undefined;
  /** Bumped by every change made here, so a load that started before it is not kept as fresh. */
  private generation = 0;

  constructor(private readonly store: TokenStore) {}

  async authenticate(secret: string): Promise<Principal | undefined> {
    const match = matchToken(secret, await this.liveTokens());
    if (!match || !isRole(match.role)) return undefined;
    return { name: match.name, role: match.role };
  }

  async liveTokens(): Promise<TokenRecord[]> {
    if (Date.now() - this.loadedAt < REFRESH_MS) return this.live;
    const generation = this.generation;
    this.loading ??= this.store.listTokens().then(
      (tokens) => {
        this.loading = undefined;
        if (generation !== this.generation) return tokens;
        this.live = tokens;
        this.loadedAt = Date.now();
        return tokens;
      },
      (err: unknown) => {
        this.loading = undefined;
        throw err;
      },
    );
    return this.loading;
  }

  /** A new token; its secret is returned here once and never stored. */
  async create(name: string, role: Role): Promise<{ token: TokenRecord; secret: string }> {
    const { secret, hash } = newToken();
    const now = Date.now();
    const token = { id: uuidv7(now), name, role, hash, createdAt: now };
    await this.store.createToken(token);
    this.invalidate();
    return { token: { ...token, revokedAt: null }, secret };
  }

  async revoke(name: string): Promise<TokenRecord | undefined> {
    const revoked = await this.store.revokeToken(name, Date.now());
    this.invalidate();
    return revoked;
  }

  private invalidate(): void {
    this.generation++;
    this.loadedAt = -Infinity;
    this.loading = undefined;
  }
}
