// How the service serves the dashboard: under /ui/ without a key and without rate limiting, with a
// content security policy that allows nothing from other sites, hashed assets cached for good, and a
// clear answer when the dashboard was not built.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Fastify from 'fastify';
import { uiRoutes } from '../../src/api/routes/ui/index.ts';
import { call } from '../helpers/http.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { assertUiBuildIsCurrent } from './browser.ts';

let svc: TestService;

before(async () => {
  assertUiBuildIsCurrent();
  svc = await startTestService({ env: { RATE_LIMIT_PER_MINUTE: '3' } });
});
after(() => svc.destroy());

test('/ui redirects to /ui/, which serves the page without a key; API calls still need one', async () => {
  const redirect = await fetch(`${svc.url}/ui`, { redirect: 'manual' });
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.get('location'), '/ui/');
  const page = await call(`${svc.url}/ui/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  assert.match(page.body, /<script type="module" crossorigin src="\/ui\/assets\/index-[\w-]+\.js">/);
  assert.doesNotMatch(page.body, /https?:\/\//, 'nothing is loaded from another site');
  assert.equal(page.headers.get('cache-control'), 'no-cache');
  const csp = page.headers.get('content-security-policy')!;
  for (const directive of ["default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(directive), csp);
  assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
  assert.equal((await call(`${svc.url}/v1/files`)).status, 401);
});

test('hashed assets are cached for good; the dashboard is never rate limited', async () => {
  const script = readdirSync(new URL('../../ui/dist/assets/', import.meta.url)).find((name) => name.endsWith('.js'))!;
  for (let i = 0; i < 10; i += 1) {
    const res = await fetch(`${svc.url}/ui/assets/${script}`);
    assert.equal(res.status, 200, `request ${i + 1} of 10 with a limit of 3 per minute`);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(res.headers.get('content-type')!, /javascript/);
    await res.arrayBuffer();
  }
  assert.equal((await call(`${svc.url}/ui/assets/nothing-here.js`)).status, 404);
});

test('without a build, /ui/ says how to make one', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'glmtune-ui-'));
  const app = Fastify();
  await app.register(uiRoutes, { root: empty });
  try {
    for (const url of ['/ui', '/ui/', '/ui/assets/x.js']) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 503, url);
      assert.match(res.body, /npm run build/);
    }
  } finally {
    await app.close();
    rmSync(empty, { recursive: true, force: true });
  }
});
