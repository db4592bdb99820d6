import type { Logger } from '../../common/logger.js';
import { auditRecord, isAudited } from '../auth/audit.js';
import type { App } from './app.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The answer's body as the handler gave it, before serialisation: where the audit line finds a new job's id. */
    auditReply: unknown;
  }
}

/** One `audit` log line per call that `isAudited` picks, written once its answer has been sent. */
export function installAudit(app: App, log: Logger): void {
  app.decorateRequest('auditReply', null);
  app.addHook('preSerialization', async (req, _reply, payload) => {
    req.auditReply = payload;
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const facts = { method: req.method, route: req.routeOptions.url, status: reply.statusCode, authFailure: req.authFailure };
    if (!isAudited(facts)) return;
    const peer = req.socket.remoteAddress;
    log.info(
      auditRecord({
        ...facts,
        path: req.url.split('?')[0]!,
        principal: req.principal,
        client: req.ip,
        proxy: peer !== undefined && peer !== req.ip ? peer : undefined,
        params: req.params,
        body: req.body,
        reply: req.auditReply,
      }),
      'audit',
    );
  });
}
