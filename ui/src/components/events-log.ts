// A job's events, newest first. Per-step metrics lines are hidden unless asked for (a run has one per
// step); at most MAX_SHOWN lines stay in the page.
import type { JobEvent } from '../api/types.ts';
import { h, uid } from '../dom.ts';

const MAX_SHOWN = 300;

export class EventsLog {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly seen = new Set<string>();

  constructor() {
    const toggleId = uid('show-metrics');
    this.list = h('ol', { class: 'events hide-metrics', 'aria-label': 'Events, newest first' });
    const toggle = h('input', { id: toggleId, type: 'checkbox' });
    toggle.addEventListener('change', () => this.list.classList.toggle('hide-metrics', !toggle.checked));
    this.element = h('div', {}, h('div', { class: 'field checkbox' }, toggle, h('label', { for: toggleId }, 'Show every training step')), this.list);
  }

  /** Adds an event at the top (events arrive oldest first from the stream). Returns false if already shown. */
  prepend(event: JobEvent): boolean {
    if (this.seen.has(event.id)) return false;
    this.seen.add(event.id);
    this.list.prepend(line(event));
    while (this.list.children.length > MAX_SHOWN) this.list.lastElementChild!.remove();
    return true;
  }

  /** Adds events below (a page of older events, newest first). */
  appendOlder(events: JobEvent[]): void {
    for (const event of events) {
      if (this.seen.has(event.id)) continue;
      this.seen.add(event.id);
      if (this.list.children.length < MAX_SHOWN) this.list.append(line(event));
    }
  }
}

function line(event: JobEvent): HTMLElement {
  const at = new Date(event.created_at * 1000);
  return h(
    'li',
    { class: `event event-${event.type} level-${event.level}` },
    h('time', { datetime: at.toISOString() }, at.toLocaleTimeString()),
    event.level === 'info' ? null : h('span', { class: 'level' }, event.level),
    h('span', { class: 'message' }, event.message),
  );
}
