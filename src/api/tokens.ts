import { Type, type Static } from 'typebox';
import { ROLES } from '../scheduler/auth/roles.js';
import { NullableTime, Strict, Time } from './shared.js';

export const TokenRoleSchema = Type.Enum(ROLES);
export type TokenRole = Static<typeof TokenRoleSchema>;

export const NewTokenSchema = Strict({ name: Type.String(), role: TokenRoleSchema });
export type NewTokenRequest = Static<typeof NewTokenSchema>;

export const TokenNameParams = Type.Object({ name: Type.String() });

/** An API token as listed: never its secret, nor its hash. */
export const ApiTokenSchema = Type.Object(
  { name: Type.String(), role: Type.String({ description: 'viewer, operator or admin' }), created_at: Time, revoked_at: NullableTime },
  { description: 'the token' },
);
export type ApiToken = Static<typeof ApiTokenSchema>;

/** `POST /v1/tokens`: the new token with its secret, shown this once. */
export const CreatedTokenSchema = Type.Object(
  { ...ApiTokenSchema.properties, token: Type.String({ description: 'the secret, shown this once' }) },
  { description: 'the new token and its secret' },
);
export type CreatedApiToken = Static<typeof CreatedTokenSchema>;

export const TokenListSchema = Type.Object({ tokens: Type.Array(ApiTokenSchema) }, { description: 'the live tokens' });
