// The dashboard (ui/, built into ui/dist by `npm run build`) served under /ui/. Its pages carry no
// data and need no key: they call the public API with the key the user enters in the browser.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

const DIST = fileURLToPath(new URL('../../../../ui/dist/', import.meta.url));

/** Only this origin's scripts, styles and API; blob: for downloads of files fetched with the key. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface UiRoutesOptions {
  /** The built dashboard (default: ui/dist of this checkout). */
  root?: string;
}

export const uiRoutes: FastifyPluginAsync<UiRoutesOptions> = async (app, options) => {
  const root = options.root ?? DIST;
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
  });
  if (!existsSync(`${root}/index.html`)) {
    // A checkout installed with --ignore-scripts has no build: say how to make one instead of a bare 404.
    const notBuilt = async (_request: unknown, reply: FastifyReply) =>
      reply.code(503).type('text/plain; charset=utf-8').send('The dashboard is not built. Run `npm run build` and restart the service.\n');
    app.get('/ui', { schema: { hide: true } }, notBuilt);
    app.get('/ui/*', { schema: { hide: true } }, notBuilt);
    return;
  }
  // People type /ui; the page and its assets live under /ui/.
  app.get('/ui', { schema: { hide: true } }, (_request, reply) => reply.redirect('/ui/'));
  await app.register(fastifyStatic, {
    root,
    prefix: '/ui/',
    decorateReply: false,
    cacheControl: false,
    setHeaders(res, path) {
      // Vite puts a content hash in every asset name: those never change; index.html always may.
      res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
};
