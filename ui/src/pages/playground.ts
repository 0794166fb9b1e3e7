// Playground: chat with any model, streaming; a fine-tuned model can be compared side by side with
// its base model (same messages, same sampling settings).
import { api } from '../api/client.ts';
import type { List, Model } from '../api/types.ts';
import { ChatPane, type Sampling } from '../components/chat-pane.ts';
import { errorNotice } from '../components/notice.ts';
import { h } from '../dom.ts';
import type { PageContext } from '../router.ts';

export function playgroundPage({ query, signal }: PageContext): HTMLElement {
  const modelSelect = h('select', { id: 'pg-model' }, h('option', { value: '' }, 'Loading models…'));
  const compare = h('input', { id: 'pg-compare', type: 'checkbox', checked: true });
  const temperature = h('input', { id: 'pg-temperature', type: 'number', min: 0, max: 2, step: 0.1, value: 0.7 });
  const topP = h('input', { id: 'pg-top-p', type: 'number', min: 0, max: 1, step: 0.05, value: 1 });
  const maxTokens = h('input', { id: 'pg-max-tokens', type: 'number', min: 1, step: 1, value: 128 });
  const system = h('textarea', { id: 'pg-system', rows: 2, placeholder: 'Optional' });
  const message = h('textarea', { id: 'pg-message', rows: 3, required: true, 'aria-describedby': 'pg-message-help' });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const stop = h('button', { type: 'button', disabled: true }, 'Stop');
  const clear = h('button', { type: 'button' }, 'Clear conversation');
  const notice = h('div', { role: 'alert' });

  const primary = new ChatPane('', 'model');
  const base = new ChatPane('', 'base');
  const panes = h('div', { class: 'panes' }, primary.element, base.element);
  let models: Model[] = [];

  const layout = () => {
    const model = models.find((m) => m.id === modelSelect.value);
    const baseId = model?.base_model ?? null;
    compare.disabled = baseId === null;
    base.element.hidden = baseId === null || !compare.checked;
    panes.classList.toggle('two', !base.element.hidden);
    primary.setModel(modelSelect.value);
    if (baseId) base.setModel(baseId);
  };
  modelSelect.addEventListener('change', layout);
  compare.addEventListener('change', layout);

  let inFlight: AbortController | undefined;
  signal.addEventListener('abort', () => inFlight?.abort(), { once: true });
  stop.addEventListener('click', () => inFlight?.abort());
  clear.addEventListener('click', () => (primary.clear(), base.clear()));

  const form = h(
    'form',
    { class: 'chat-form' },
    h('label', { for: 'pg-message' }, 'Message'),
    message,
    h('p', { id: 'pg-message-help', class: 'hint' }, 'Enter sends; Shift+Enter starts a new line.'),
    h('div', { class: 'actions' }, send, stop, clear),
  );
  message.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = message.value.trim();
    if (!text || !modelSelect.value || inFlight) return;
    const sampling: Sampling = { temperature: Number(temperature.value), top_p: Number(topP.value), max_tokens: Number(maxTokens.value), system: system.value.trim() };
    inFlight = new AbortController();
    send.disabled = true;
    stop.disabled = false;
    message.value = '';
    try {
      const active = [primary, base].filter((p) => !p.element.hidden);
      await Promise.all(active.map((p) => p.send(text, sampling, inFlight!.signal)));
    } finally {
      inFlight = undefined;
      send.disabled = false;
      stop.disabled = true;
      message.focus();
    }
  });

  const settings = h(
    'div',
    { class: 'card playground-settings' },
    h('div', { class: 'grid' }, field('pg-model', 'Model', modelSelect), field('pg-temperature', 'Temperature', temperature), field('pg-top-p', 'Top-p', topP), field('pg-max-tokens', 'Max tokens', maxTokens)),
    h('div', { class: 'field checkbox' }, compare, h('label', { for: 'pg-compare' }, 'Compare with the base model')),
    h('details', {}, h('summary', {}, 'System message'), field('pg-system', 'System message', system)),
  );

  api<List<Model>>('/v1/models', { signal }).then(
    (list) => {
      models = list.data;
      const group = (label: string, items: Model[]) => (items.length ? h('optgroup', { label }, items.map((m) => h('option', { value: m.id }, m.id))) : null);
      modelSelect.replaceChildren(
        ...[
          group('Fine-tuned', models.filter((m) => m.base_model !== null && m.checkpoint_step === null)),
          group('Checkpoints', models.filter((m) => m.checkpoint_step !== null)),
          group('Base', models.filter((m) => m.base_model === null)),
        ].filter((g): g is HTMLOptGroupElement => g !== null),
      );
      const wanted = query.get('model');
      if (wanted && models.some((m) => m.id === wanted)) modelSelect.value = wanted;
      layout();
    },
    (err) => {
      if (!signal.aborted) notice.replaceChildren(errorNotice(err));
    },
  );

  return h('div', { class: 'page playground' }, h('h1', { tabindex: -1 }, 'Playground'), notice, settings, panes, form);
}

function field(id: string, label: string, control: HTMLElement): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}
