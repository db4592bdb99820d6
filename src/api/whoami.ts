import { Type, type Static } from 'typebox';
import { TokenRoleSchema } from './tokens.js';

/** `GET /v1/whoami`: the caller as the scheduler sees it, so a front end shows only what the caller may do. */
export const WhoAmISchema = Type.Object(
  {
    name: Type.String({ description: 'the token\'s name; "anonymous" when the API runs without tokens' }),
    role: TokenRoleSchema,
    auth: Type.Boolean({ description: 'false when the scheduler runs with --no-auth (every caller may do everything)' }),
  },
  { description: 'the caller' },
);
export type WhoAmI = Static<typeof WhoAmISchema>;
