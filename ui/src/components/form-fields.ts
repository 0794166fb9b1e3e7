// Labelled form controls that carry the API path of the value they hold (data-param), and the
// collector that turns the visible controls of a form into a request body. Every control has a hint
// and an error slot linked by aria-describedby (FormErrors fills the slot with the API's message).
import { h } from '../dom.ts';

const idFor = (param: string) => `f-${param.replace(/[^A-Za-z0-9]+/g, '-')}`;

interface FieldOptions {
  hint?: string;
  placeholder?: string;
  value?: string;
  /** How the value is sent: a number (default for numeric fields) or the text as typed. */
  kind?: 'number' | 'text';
}

function wrap(param: string, label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = idFor(param);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { id: `${id}-hint`, class: 'hint' }, hint) : null,
    h('p', { id: `${id}-error`, class: 'field-error' }),
  );
}

function describedBy(id: string, hint?: string): string {
  return hint ? `${id}-hint ${id}-error` : `${id}-error`;
}

/** A number typed as text: the API, not the browser, judges it (and says what is wrong). */
export function numberField(param: string, label: string, options: FieldOptions = {}): HTMLElement {
  const id = idFor(param);
  const input = h('input', { id, name: param, type: 'text', inputmode: 'decimal', autocomplete: 'off', 'data-param': param, 'data-kind': 'number', placeholder: options.placeholder, value: options.value, 'aria-describedby': describedBy(id, options.hint) });
  return wrap(param, label, input, options.hint);
}

export function textField(param: string, label: string, options: FieldOptions & { list?: string } = {}): HTMLElement {
  const id = idFor(param);
  const input = h('input', { id, name: param, type: 'text', autocomplete: 'off', spellcheck: 'false', list: options.list, 'data-param': param, 'data-kind': 'text', placeholder: options.placeholder, value: options.value, 'aria-describedby': describedBy(id, options.hint) });
  return wrap(param, label, input, options.hint);
}

export function selectField(param: string, label: string, choices: { value: string; label: string }[], options: FieldOptions = {}): HTMLElement {
  const id = idFor(param);
  const select = h(
    'select',
    { id, name: param, 'data-param': param, 'data-kind': options.kind ?? 'text', 'aria-describedby': describedBy(id, options.hint) },
    choices.map((c) => h('option', { value: c.value, selected: c.value === options.value }, c.label)),
  );
  return wrap(param, label, select, options.hint);
}

export function checkboxField(param: string, label: string, options: { hint?: string; checked?: boolean } = {}): HTMLElement {
  const id = idFor(param);
  return h(
    'div',
    { class: 'field checkbox' },
    h('input', { id, name: param, type: 'checkbox', checked: options.checked, 'data-param': param, 'data-kind': 'boolean', 'aria-describedby': describedBy(id, options.hint) }),
    h('label', { for: id }, label),
    options.hint ? h('p', { id: `${id}-hint`, class: 'hint' }, options.hint) : null,
    h('p', { id: `${id}-error`, class: 'field-error' }),
  );
}

/** Several checkboxes that make one array value. */
export function checkboxGroup(param: string, legend: string, values: string[], checked: string[], hint?: string): HTMLElement {
  const id = idFor(param);
  return h(
    'fieldset',
    { id, class: 'checkbox-group', tabindex: -1, 'data-param': param, 'data-kind': 'array', 'aria-describedby': describedBy(id, hint) },
    h('legend', {}, legend),
    values.map((value) => {
      const boxId = `${id}-${value}`;
      return h('div', { class: 'field checkbox' }, h('input', { id: boxId, type: 'checkbox', value, checked: checked.includes(value) }), h('label', { for: boxId }, value));
    }),
    hint ? h('p', { id: `${id}-hint`, class: 'hint' }, hint) : null,
    h('p', { id: `${id}-error`, class: 'field-error' }),
  );
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys.at(-1)!] = value;
}

/**
 * The request body from the form's visible controls: blank fields are left out (the API's defaults
 * apply), numbers that do not parse are sent as typed so that the API's message names them.
 */
export function collect(form: HTMLFormElement): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const el of form.querySelectorAll<HTMLElement>('[data-param]')) {
    if (el.closest('[hidden]')) continue;
    const param = el.dataset.param!;
    switch (el.dataset.kind) {
      case 'boolean':
        setPath(body, param, (el as HTMLInputElement).checked);
        break;
      case 'array':
        setPath(body, param, [...el.querySelectorAll<HTMLInputElement>('input:checked')].map((box) => box.value));
        break;
      default: {
        const raw = (el as HTMLInputElement | HTMLSelectElement).value.trim();
        if (raw === '') break;
        const n = Number(raw);
        setPath(body, param, el.dataset.kind === 'number' && Number.isFinite(n) ? n : raw);
      }
    }
  }
  return body;
}
