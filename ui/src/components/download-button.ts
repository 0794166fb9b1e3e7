// A button that downloads an API file with the key, reporting failures beside itself.
import { downloadWithKey } from '../api/download.ts';
import { h } from '../dom.ts';
import { bytes } from '../format.ts';

export function downloadButton(path: string, filename: string, size: number | null, signal: AbortSignal): HTMLElement {
  const error = h('span', { class: 'field-error', role: 'alert' });
  const button = h('button', { type: 'button', class: 'link-button', 'data-download': filename }, `Download ${filename}`);
  button.addEventListener('click', async () => {
    button.disabled = true;
    error.textContent = '';
    try {
      await downloadWithKey(path, filename, signal);
    } catch (err) {
      if ((err as Error).name !== 'AbortError') error.textContent = (err as Error).message;
    } finally {
      button.disabled = false;
    }
  });
  return h('span', { class: 'download' }, button, size === null ? null : h('span', { class: 'hint' }, ` ${bytes(size)}`), error);
}
