import type { Logger } from '../../common/logger.js';
import { auditRecord, isAudited, type AuditFacts } from '../auth/audit.js';
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
  app.addHook('preSerialization', (req, _reply, payload, done) => {
    req.auditReply = payload;
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url;
    if (isAudited({ method: req.method, route, status: reply.statusCode, authFailure: req.authFailure })) {
      const peer = req.socket.remoteAddress;
      const client = req.ip;
      const facts: AuditFacts = {
        method: req.method,
        route,
        path: req.url.split('?')[0]!,
        status: reply.statusCode,
        principal: req.principal,
        authFailure: req.authFailure,
        client,
        proxy: peer !== undefined && peer !== client ? peer : undefined,
        params: req.params,
        body: req.body,
        reply: req.auditReply,
      };
      log.info(auditRecord(facts), 'audit');
    }
    done();
  });
}
