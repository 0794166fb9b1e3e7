// A job's or file's status as a word with a colour (the word carries the meaning; the colour helps).
import { h } from '../dom.ts';

const LABELS: Record<string, string> = {
  validating_files: 'validating files',
  queued: 'queued',
  running: 'running',
  paused: 'paused',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  uploaded: 'uploaded',
  processed: 'processed',
  error: 'has errors',
};

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `status status-${status}`, 'data-status': status }, LABELS[status] ?? status);
}
