// Tells the idle trim (memory/idle-trim.ts) when transfers start and end. The hook is attached to the
// transfer routes only, through onRoute, so a metadata GET pays nothing for it.
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import type { IdleMemoryTrim } from '../../memory/idle-trim.js';

export function registerIdleMemoryTrim(app: FastifyInstance, trimmer: IdleMemoryTrim, isTransfer: (method: string, route: string) => boolean): void {
  const track: onRequestHookHandler = (_request, reply, done) => {
    // 'close' comes once the answer is out or the connection is gone, whichever way it ends.
    reply.raw.once('close', trimmer.begin());
    done();
  };
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.some((method) => isTransfer(method, route.url))) return;
    const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [...own, track];
  });
  app.addHook('onReady', (done) => {
    trimmer.afterStart();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    trimmer.close();
    done();
  });
}
