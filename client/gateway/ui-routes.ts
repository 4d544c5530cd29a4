// The dashboard's files (ui/, built by `npm run build` into dist/ui) under /ui/, with headers that
// keep the page to its own origin: scripts, styles and data only from the gateway (no CDN, works
// offline), never framed. The page talks to the gateway's /api with the caller's bearer token.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { problem } from './http.js';

/** dist/ui next to the compiled gateway (dist/client/gateway). */
export const UI_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));

const SECURITY_HEADERS = {
  // uPlot sizes its elements through the CSSOM (allowed); no inline script or style attribute is used.
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export async function registerUiRoutes(app: FastifyInstance, dir = UI_DIR): Promise<void> {
  app.get('/', (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui', (_req, reply) => reply.redirect('/ui/'));
  if (!existsSync(`${dir}/index.html`)) {
    app.get('/ui/*', (_req, reply) => problem(reply, 503, 'dashboard not built', 'run npm run build (it builds ui/ into dist/ui)'));
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/ui/',
    // Hashed asset names change with their content; index.html is always revalidated.
    setHeaders: (res, path) => {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      res.setHeader('cache-control', path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
    },
  });
}
