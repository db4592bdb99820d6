import { Type } from 'typebox';
import { BatonError } from '../../common/errors.js';
import type { Authenticator } from '../auth/authenticator.js';
import { isRole, ROLES } from '../auth/roles.js';
import { TOKEN_NAME, TOKEN_NAME_RULE } from '../auth/tokens.js';
import { TokenNameTaken, type Store } from '../store/store.js';
import type { App } from './app.js';
import { tokenView } from './views.js';

const NewTokenBody = Type.Object({ name: Type.String(), role: Type.String() });
const NameParams = Type.Object({ name: Type.String() });

/** Token management (admin): list, create (the secret is in this one answer only), revoke. */
export function tokenRoutes(app: App, authenticator: Authenticator, store: Store): void {
  app.get('/v1/tokens', async () => ({ tokens: (await store.listTokens()).map(tokenView) }));

  app.post('/v1/tokens', { schema: { body: NewTokenBody } }, async (req, reply) => {
    const { name, role } = req.body;
    if (!TOKEN_NAME.test(name)) throw new BatonError('BAD_REQUEST', `name: ${TOKEN_NAME_RULE}`);
    if (!isRole(role)) throw new BatonError('BAD_REQUEST', `role must be one of ${ROLES.join(', ')}`);
    try {
      const { token, secret } = await authenticator.create(name, role);
      return await reply.code(201).send({ ...tokenView(token), token: secret });
    } catch (err) {
      if (err instanceof TokenNameTaken) throw new BatonError('ALREADY_EXISTS', err.message);
      throw err;
    }
  });

  app.delete('/v1/tokens/:name', { schema: { params: NameParams } }, async (req) => {
    const revoked = await authenticator.revoke(req.params.name);
    if (!revoked) throw new BatonError('NOT_FOUND', `no live token named "${req.params.name}"`);
    return tokenView(revoked);
  });
}
