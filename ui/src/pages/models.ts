// Models: the base models and the organization's fine-tuned models (and checkpoints), with sizes;
// fine-tuned ones can be opened in the playground, their files downloaded, or deleted.
import { api, request, seg } from '../api/client.ts';
import type { List, Model } from '../api/types.ts';
import { modelArtifacts } from '../components/artifacts.ts';
import { confirmDialog } from '../components/confirm.ts';
import { errorNotice, fill } from '../components/notice.ts';
import { h, numeric, table } from '../dom.ts';
import { age, bytes, count, dateTime } from '../format.ts';
import type { PageContext } from '../router.ts';

export function modelsPage({ signal }: PageContext): HTMLElement {
  const body = h('div');
  const reload = () =>
    fill(body, 'models', async () => {
      const models = (await api<List<Model>>('/v1/models', { signal })).data;
      const base = models.filter((m) => m.base_model === null);
      const tuned = models.filter((m) => m.base_model !== null);
      return h(
        'div',
        {},
        h('section', { 'aria-labelledby': 'base-models' }, h('h2', { id: 'base-models' }, 'Base models'), table('Base models', ['Model', 'Architecture', numeric('Parameters'), numeric('Context'), ''], base.map(baseRow), { captionHidden: true })),
        h(
          'section',
          { 'aria-labelledby': 'tuned-models' },
          h('h2', { id: 'tuned-models' }, 'Fine-tuned models'),
          tuned.length === 0
            ? h('p', {}, 'No fine-tuned models yet: they appear here when a job succeeds.')
            : table('Fine-tuned models', ['Model', 'Method', 'Base model', numeric('Trained parameters'), numeric('Files'), 'Created', ''], tuned.map((m) => tunedRow(m, reload, signal)), { captionHidden: true }),
        ),
      );
    });
  void reload();
  return h('div', { class: 'page' }, h('h1', { tabindex: -1 }, 'Models'), body);
}

function chatLink(model: Model): HTMLElement {
  return h('a', { href: `#/playground?model=${seg(model.id)}` }, 'Chat', h('span', { class: 'visually-hidden' }, ` with ${model.id}`));
}

function baseRow(model: Model): HTMLElement {
  return h(
    'tr',
    { 'data-model-id': model.id },
    h('td', { class: 'id' }, model.id),
    h('td', {}, model.architecture),
    h('td', { class: 'num' }, count(model.parameters)),
    h('td', { class: 'num' }, `${model.context_length.toLocaleString()} tokens`),
    h('td', {}, chatLink(model)),
  );
}

function tunedRow(model: Model, reload: () => void, signal: AbortSignal): HTMLElement {
  const files = h('div', { class: 'model-files' });
  const showFiles = h('button', { type: 'button', class: 'small', 'aria-expanded': 'false' }, 'Files');
  showFiles.addEventListener('click', () => {
    const open = showFiles.getAttribute('aria-expanded') !== 'true';
    showFiles.setAttribute('aria-expanded', String(open));
    if (open) void fill(files, 'files', () => modelArtifacts(model.id, signal));
    else files.replaceChildren();
  });
  const remove = h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete ${model.id}` }, 'Delete');
  remove.addEventListener('click', async () => {
    if (!(await confirmDialog(`Delete ${model.id} and its files?`, 'Delete model'))) return;
    try {
      await request(`/v1/models/${seg(model.id)}`, { method: 'DELETE', signal });
      reload();
    } catch (err) {
      files.replaceChildren(errorNotice(err));
    }
  });
  const kind = model.checkpoint_step !== null ? `checkpoint at step ${model.checkpoint_step}` : null;
  return h(
    'tr',
    { 'data-model-id': model.id },
    h('td', {}, h('div', { class: 'id' }, model.id), kind ? h('div', { class: 'hint' }, kind) : null, model.job_id ? h('a', { href: `#/jobs/${seg(model.job_id)}` }, model.job_id) : null, files),
    h('td', {}, model.method ?? '—'),
    h('td', {}, model.base_model ?? '—'),
    h('td', { class: 'num' }, count(model.trained_parameters)),
    h('td', { class: 'num' }, bytes(model.artifact_bytes)),
    h('td', {}, h('time', { datetime: new Date(model.created * 1000).toISOString(), title: dateTime(model.created) }, age(model.created))),
    h('td', {}, h('div', { class: 'actions' }, chatLink(model), showFiles, remove)),
  );
}
