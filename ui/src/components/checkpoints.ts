// A job's checkpoints: each is a model id one can chat with or continue training from.
import { api, seg } from '../api/client.ts';
import type { Checkpoint, List } from '../api/types.ts';
import { h, numeric, table } from '../dom.ts';
import { dateTime, metric } from '../format.ts';

export async function checkpointsTable(jobId: string, signal: AbortSignal): Promise<HTMLElement> {
  const checkpoints = await api<List<Checkpoint>>(`/v1/fine_tuning/jobs/${seg(jobId)}/checkpoints?limit=100`, { signal });
  if (checkpoints.data.length === 0) return h('p', { class: 'hint' }, 'No checkpoints yet.');
  return table(
    'Checkpoints, newest first',
    [numeric('Step'), 'Model', numeric('Training loss'), numeric('Validation loss'), 'Saved', ''],
    checkpoints.data.map((c) =>
      h(
        'tr',
        {},
        h('td', { class: 'num' }, c.step_number),
        h('td', { class: 'id' }, c.fine_tuned_model_checkpoint),
        h('td', { class: 'num' }, metric(c.metrics.train_loss)),
        h('td', { class: 'num' }, metric(c.metrics.valid_loss)),
        h('td', {}, dateTime(c.created_at)),
        h('td', {}, h('a', { href: `#/playground?model=${seg(c.fine_tuned_model_checkpoint)}` }, 'Chat', h('span', { class: 'visually-hidden' }, ` with step ${c.step_number}`))),
      ),
    ),
  );
}
