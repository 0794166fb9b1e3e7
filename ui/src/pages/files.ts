// Files: the datasets of the organization, an upload form with a progress bar, and each file's
// validation report with its line numbers.
import { api, request, seg } from '../api/client.ts';
import type { FileObject, List } from '../api/types.ts';
import { uploadFile } from '../api/upload.ts';
import { confirmDialog } from '../components/confirm.ts';
import { errorNotice, fill } from '../components/notice.ts';
import { statusBadge } from '../components/status-badge.ts';
import { validationReport } from '../components/validation-report.ts';
import { h, numeric, table } from '../dom.ts';
import { age, bytes, dateTime } from '../format.ts';
import type { PageContext } from '../router.ts';

export function filesPage({ signal }: PageContext): HTMLElement {
  const list = h('div', { class: 'files-list' });
  const reload = () =>
    fill(list, 'files', async () => {
      const files = await api<List<FileObject>>('/v1/files?purpose=fine-tune', { signal });
      if (files.data.length === 0) return h('p', {}, 'No datasets yet: upload a JSONL file above.');
      return table('Datasets', ['Name', 'Status', numeric('Size'), 'Format', numeric('Examples'), 'Uploaded', ''], files.data.map((f) => fileRow(f, reload, signal)));
    });
  void reload();
  return h('div', { class: 'page' }, h('h1', { tabindex: -1 }, 'Files'), uploadForm(reload, signal), h('section', { 'aria-label': 'Uploaded datasets' }, list));
}

function fileRow(file: FileObject, reload: () => void, signal: AbortSignal): HTMLElement {
  const remove = async () => {
    if (!(await confirmDialog(`Delete ${file.filename} (${file.id})?`, 'Delete file'))) return;
    try {
      await request(`/v1/files/${seg(file.id)}`, { method: 'DELETE', signal });
      reload();
    } catch (err) {
      row.after(h('tr', {}, h('td', { colspan: 7 }, errorNotice(err))));
    }
  };
  const row = h(
    'tr',
    { 'data-file-id': file.id },
    h('td', {}, h('a', { href: `#/files/${seg(file.id)}` }, file.filename), h('div', { class: 'id' }, file.id)),
    h('td', {}, statusBadge(file.status)),
    h('td', { class: 'num' }, bytes(file.bytes)),
    h('td', {}, file.format ?? '—'),
    h('td', { class: 'num' }, file.examples ?? '—'),
    h('td', {}, h('time', { datetime: new Date(file.created_at * 1000).toISOString(), title: dateTime(file.created_at) }, age(file.created_at))),
    h('td', {}, h('button', { type: 'button', class: 'small', onclick: remove, 'aria-label': `Delete ${file.filename}` }, 'Delete')),
  );
  return row;
}

function uploadForm(onUploaded: () => void, signal: AbortSignal): HTMLElement {
  const input = h('input', { id: 'upload-file', type: 'file', accept: '.jsonl,.json,.txt,application/jsonl,application/json,text/plain', required: true, 'aria-describedby': 'upload-help' });
  const progress = h('progress', { id: 'upload-progress', max: 100, value: 0, 'aria-label': 'Upload progress' });
  const progressRow = h('div', { class: 'progress-row', hidden: true }, progress, h('span', { class: 'progress-text' }));
  const status = h('div', { class: 'upload-result', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Upload');
  const form = h(
    'form',
    { class: 'card upload' },
    h('h2', {}, 'Upload a dataset'),
    h('label', { for: 'upload-file' }, 'JSONL file'),
    input,
    h('p', { id: 'upload-help', class: 'hint' }, 'One JSON object per line: openai-chat, prompt-completion, alpaca, sharegpt, chatglm3, chatglm or adgen.'),
    progressRow,
    submit,
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = input.files?.[0];
    if (!file) {
      status.replaceChildren(errorNotice('Choose a file to upload.'));
      input.focus();
      return;
    }
    submit.disabled = true;
    status.replaceChildren();
    progressRow.hidden = false;
    const text = progressRow.querySelector('.progress-text')!;
    const show = (fraction: number) => {
      progress.value = Math.round(fraction * 100);
      text.textContent = `${progress.value}% of ${bytes(file.size)}`;
    };
    show(0);
    try {
      const uploaded = await uploadFile(file, show, signal);
      status.replaceChildren(
        h('p', {}, 'Uploaded ', h('a', { href: `#/files/${seg(uploaded.id)}` }, uploaded.filename), ' as ', h('code', {}, uploaded.id), '. ', statusBadge(uploaded.status)),
        validationReport(uploaded),
      );
      form.reset();
      onUploaded();
    } catch (err) {
      if ((err as Error).name !== 'AbortError') status.replaceChildren(errorNotice(err));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export function fileDetailPage({ params, signal }: PageContext): HTMLElement {
  const heading = h('h1', { tabindex: -1 }, params.id);
  const body = h('div');
  void fill(body, 'the file', async () => {
    const file = await api<FileObject>(`/v1/files/${seg(params.id)}`, { signal });
    heading.textContent = file.filename;
    const facts: [string, Node | string][] = [
      ['ID', h('code', {}, file.id)],
      ['Status', statusBadge(file.status)],
      ['Size', bytes(file.bytes)],
      ['Format', file.format ?? '—'],
      ['Examples', String(file.examples ?? '—')],
      ['Characters', String(file.characters ?? '—')],
      ['Uploaded', dateTime(file.created_at)],
    ];
    return h('div', {}, h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])), validationReport(file));
  });
  return h('div', { class: 'page' }, h('p', { class: 'crumbs' }, h('a', { href: '#/files' }, '← Files')), heading, body);
}
