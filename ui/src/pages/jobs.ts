// Jobs: every fine-tuning job with its status and age; refreshes itself while any job is active.
import { api, seg } from '../api/client.ts';
import { FINAL_STATUSES, type Job, type List } from '../api/types.ts';
import { errorNotice } from '../components/notice.ts';
import { statusBadge } from '../components/status-badge.ts';
import { h, numeric, table } from '../dom.ts';
import { age, dateTime } from '../format.ts';
import type { PageContext } from '../router.ts';

const REFRESH_MS = 3000;
const PAGE_SIZE = 50;

export function jobsPage({ signal }: PageContext): HTMLElement {
  const list = h('div', { 'aria-busy': 'true' }, h('p', { class: 'notice' }, 'Loading jobs…'));
  let shown = PAGE_SIZE;
  let timer: ReturnType<typeof setTimeout> | undefined;
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });

  const load = async () => {
    clearTimeout(timer);
    try {
      const jobs = await api<List<Job>>(`/v1/fine_tuning/jobs?limit=${shown}`, { signal });
      list.removeAttribute('aria-busy');
      const more = jobs.has_more ? h('button', { type: 'button', onclick: () => ((shown += PAGE_SIZE), void load()) }, 'Show more jobs') : null;
      list.replaceChildren(
        jobs.data.length === 0
          ? h('p', {}, 'No fine-tuning jobs yet.')
          : table('Fine-tuning jobs, newest first', ['Job', 'Status', numeric('Progress'), 'Model', 'Method', 'Fine-tuned model', 'Created'], jobs.data.map(jobRow)),
        more ?? '',
      );
      if (jobs.data.some((j) => !FINAL_STATUSES.includes(j.status))) timer = setTimeout(load, REFRESH_MS);
    } catch (err) {
      if ((err as Error).name !== 'AbortError') list.replaceChildren(errorNotice(err));
    }
  };
  void load();

  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, 'Jobs'), h('a', { class: 'button primary', href: '#/jobs/new' }, 'New fine-tuning job')),
    list,
  );
}

function jobRow(job: Job): HTMLElement {
  const { step, total_steps: total } = job.progress;
  return h(
    'tr',
    { 'data-job-id': job.id },
    h('td', {}, h('a', { href: `#/jobs/${seg(job.id)}` }, job.id), job.suffix ? h('div', { class: 'id' }, job.suffix) : null),
    h('td', {}, statusBadge(job.status)),
    h('td', { class: 'num' }, total ? `${step} / ${total}` : step ? String(step) : '—'),
    h('td', {}, job.model),
    h('td', {}, job.tuning.method?.type ?? '—'),
    h('td', { class: 'id' }, job.fine_tuned_model ?? '—'),
    h('td', {}, h('time', { datetime: new Date(job.created_at * 1000).toISOString(), title: dateTime(job.created_at) }, age(job.created_at))),
  );
}
