// Messages in a page: errors (announced at once), and short status lines.
import { h } from '../dom.ts';

export function errorNotice(err: unknown): HTMLElement {
  return h('p', { class: 'notice notice-error', role: 'alert' }, err instanceof Error ? err.message : String(err));
}

export function loading(what: string): HTMLElement {
  return h('p', { class: 'notice', role: 'status' }, `Loading ${what}…`);
}

/** Runs an async loader into a container: "Loading…", then the content or the error. Aborts are quiet. */
export async function fill(container: HTMLElement, what: string, load: () => Promise<Node>): Promise<void> {
  container.replaceChildren(loading(what));
  try {
    container.replaceChildren(await load());
  } catch (err) {
    if ((err as Error).name !== 'AbortError') container.replaceChildren(errorNotice(err));
  }
}
