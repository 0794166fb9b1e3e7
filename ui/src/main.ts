// The dashboard: a header with the navigation, the key prompt until a key is accepted, then the pages.
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { setUnauthorizedHandler } from './api/client.ts';
import { h } from './dom.ts';
import { keyStore } from './key-store.ts';
import { filesPage, fileDetailPage } from './pages/files.ts';
import { jobCreatePage } from './pages/job-create.ts';
import { jobDetailPage } from './pages/job-detail.ts';
import { jobsPage } from './pages/jobs.ts';
import { keyGate } from './pages/key-gate.ts';
import { modelsPage } from './pages/models.ts';
import { playgroundPage } from './pages/playground.ts';
import { Router } from './router.ts';

const SECTIONS = [
  { path: '/files', label: 'Files' },
  { path: '/jobs', label: 'Jobs' },
  { path: '/models', label: 'Models' },
  { path: '/playground', label: 'Playground' },
];

const main = h('main', { id: 'main', tabindex: -1 });
const links = SECTIONS.map((s) => h('a', { href: `#${s.path}` }, s.label));
const signOut = h('button', { type: 'button', class: 'link-button', onclick: () => showKeyGate() }, 'Forget key');
const nav = h('nav', { 'aria-label': 'Main' }, h('ul', {}, links.map((a) => h('li', {}, a))));
const skip = h('a', { class: 'skip-link', href: '#main', onclick: (e: Event) => (e.preventDefault(), main.focus()) }, 'Skip to content');
const header = h('header', { class: 'top' }, skip, h('span', { class: 'brand' }, 'glmtune'), nav, signOut);
document.getElementById('app')!.append(header, main);

const router = new Router(main, '/jobs', (path) => {
  const section = SECTIONS.find((s) => path === s.path || path.startsWith(`${s.path}/`));
  for (const [i, a] of links.entries()) {
    if (SECTIONS[i] === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = section ? `${section.label} · glmtune` : 'glmtune';
})
  .add('/files', filesPage)
  .add('/files/:id', fileDetailPage)
  .add('/jobs', jobsPage)
  .add('/jobs/new', jobCreatePage)
  .add('/jobs/:id', jobDetailPage)
  .add('/models', modelsPage)
  .add('/playground', playgroundPage);

function showPages(moveFocus: boolean): void {
  nav.hidden = false;
  signOut.hidden = false;
  router.start(moveFocus);
}

function showKeyGate(notice?: string): void {
  router.suspend();
  keyStore.clear();
  nav.hidden = true;
  signOut.hidden = true;
  document.title = 'Sign in · glmtune';
  main.replaceChildren(keyGate(() => showPages(true), notice));
}

setUnauthorizedHandler(() => showKeyGate('The service refused the key (revoked or mistyped). Enter it again.'));
if (keyStore.get()) showPages(false);
else showKeyGate();
