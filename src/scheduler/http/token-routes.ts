import { CreatedTokenSchema, NewTokenSchema, TokenListSchema, TokenNameParams, ApiTokenSchema } from '../../api/tokens.js';
import { BatonError } from '../../common/errors.js';
import type { Authenticator } from '../auth/authenticator.js';
import { TOKEN_NAME, TOKEN_NAME_RULE } from '../auth/tokens.js';
import { TokenNameTaken, type TokenStore } from '../store/token-store.js';
import type { App } from './app.js';
import { tokenView } from './views.js';

const tags = ['tokens'];

/** Token management (admin): list, create (the secret is in this one answer only), revoke. */
export function tokenRoutes(app: App, authenticator: Authenticator, store: TokenStore): void {
  app.get(
    '/v1/tokens',
    { schema: { operationId: 'listTokens', tags, summary: 'Names, roles and dates of the live tokens (never a secret)', response: { 200: TokenListSchema } } },
    async () => ({ tokens: (await store.listTokens()).map(tokenView) }),
  );

  const createSchema = {
    operationId: 'createToken',
    tags,
    summary: 'A new token; its secret is in this answer only',
    body: NewTokenSchema,
    response: { 201: CreatedTokenSchema },
    errors: [409],
  };
  app.post('/v1/tokens', { schema: createSchema }, async (req, reply) => {
    const { name, role } = req.body;
    if (!TOKEN_NAME.test(name)) throw new BatonError('BAD_REQUEST', `name: ${TOKEN_NAME_RULE}`);
    try {
      const { token, secret } = await authenticator.create(name, role);
      return await reply.code(201).send({ ...tokenView(token), token: secret });
    } catch (err) {
      if (err instanceof TokenNameTaken) throw new BatonError('ALREADY_EXISTS', err.message);
      throw err;
    }
  });

  const revokeSchema = {
    operationId: 'revokeToken',
    tags,
    summary: 'Revoke the live token with this name',
    params: TokenNameParams,
    response: { 200: ApiTokenSchema },
    errors: [404],
  };
  app.delete('/v1/tokens/:name', { schema: revokeSchema }, async (req) => {
    const revoked = await authenticator.revoke(req.params.name);
    if (!revoked) throw new BatonError('NOT_FOUND', `no live token named "${req.params.name}"`);
    return tokenView(revoked);
  });
}
