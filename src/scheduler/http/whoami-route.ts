import { WhoAmISchema } from '../../api/whoami.js';
import { ANONYMOUS } from '../auth/authenticator.js';
import type { App } from './app.js';

/** `GET /v1/whoami`: any valid token may ask who it is and what its role allows (the dashboard hides what it may not do). */
export function whoamiRoute(app: App, authEnabled: boolean): void {
  app.get('/v1/whoami', { schema: { operationId: 'whoami', tags: ['tokens'], summary: "The caller's token name and role", response: { 200: WhoAmISchema } } }, async (req) => {
    const { name, role } = req.principal ?? ANONYMOUS;
    return { name, role, auth: authEnabled };
  });
}
