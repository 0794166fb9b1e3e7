// Asks for the API key once per tab; checks it against the API before keeping it.
import { api, ApiError } from '../api/client.ts';
import { h } from '../dom.ts';
import { keyStore } from '../key-store.ts';

export function keyGate(onAccepted: () => void, notice?: string): HTMLElement {
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'api-key-help api-key-error' });
  const error = h('p', { id: 'api-key-error', class: 'field-error', role: 'alert' }, notice ?? '');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Continue');
  const form = h(
    'form',
    { class: 'card key-gate', 'aria-labelledby': 'key-title' },
    h('h1', { id: 'key-title', tabindex: -1 }, 'Sign in to glmtune'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', { id: 'api-key-help', class: 'hint' }, 'The key (sk-glm-…) is kept in this browser tab only and sent to this service with each request.'),
    error,
    submit,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (!key) {
      error.textContent = 'Enter your API key.';
      input.focus();
      return;
    }
    submit.disabled = true;
    error.textContent = '';
    try {
      await api('/v1/files?limit=1', { key });
      keyStore.set(key);
      onAccepted();
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401 ? 'The service does not accept this key.' : (err as Error).message;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    } finally {
      submit.disabled = false;
    }
  });
  queueMicrotask(() => input.focus());
  return form;
}
