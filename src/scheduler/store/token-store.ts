export interface TokenRecord {
  id: string;
  name: string;
  /** viewer | operator | admin; the auth layer grants nothing to a role it does not know. */
  role: string;
  /** Hex SHA-256 of the secret. */
  hash: string;
  createdAt: number;
  revokedAt: number | null;
}

/** API tokens: at most one live token per name; a revoked one is kept, and its name may be used again. */
export interface TokenStore {
  /** Fails with `TokenNameTaken` when a live token has this name. */
  createToken(token: Omit<TokenRecord, 'revokedAt'>): Promise<void>;
  /** Live tokens only unless `all`; oldest first. */
  listTokens(all?: boolean): Promise<TokenRecord[]>;
  /** Revokes the live token with this name; undefined when there is none. */
  revokeToken(name: string, now: number): Promise<TokenRecord | undefined>;
}

export class TokenNameTaken extends Error {
  constructor(readonly tokenName: string) {
    super(`a live token named "${tokenName}" already exists; revoke it first or pick another name`);
    this.name = 'TokenNameTaken';
  }
}
