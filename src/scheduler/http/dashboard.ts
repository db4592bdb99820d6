import fastifyStatic from '@fastify/static';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../common/package-root.js';
import { errorBody } from '../../common/errors.js';
import type { App } from './app.js';

/** Where `npm run build` puts the dashboard (web/, built by Vite). */
const DASHBOARD_DIR = path.join(packageRoot, 'dist', 'dashboard');

/**
 * The web dashboard at `/`, its files under `/assets/`: both open (the page asks for a token
 * when the API needs one, and keeps it in the browser). Only these two routes, so an unknown
 * path still gets the API's JSON 404.
 */
export async function dashboardRoutes(app: App): Promise<void> {
  const index = path.join(DASHBOARD_DIR, 'index.html');
  if (!existsSync(index)) {
    app.get('/', { schema: { hide: true } }, (_req, reply) =>
      reply.code(503).send(errorBody('UNAVAILABLE', 'the dashboard is not built: run `npm run build` (it builds web/ with Vite into dist/dashboard)')),
    );
    return;
  }
  const html = readFileSync(index);
  app.get('/', { schema: { hide: true } }, (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html));
  await app.register(fastifyStatic, {
    root: path.join(DASHBOARD_DIR, 'assets'),
    prefix: '/assets/',
    // File names carry a content hash: they never change under the same name.
    immutable: true,
    maxAge: '365d',
    schemaHide: true,
  });
}
