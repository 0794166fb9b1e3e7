// Evaluation metrics by step: validation loss, token accuracy, perplexity, and the generation metrics
// (ROUGE, BLEU) when the job generates replies. Fed by /metrics and by live metrics events. A job
// evaluates at least once per epoch, so only the newest rows show until all are asked for.
import type { Metrics } from '../api/types.ts';
import { h, numeric, table } from '../dom.ts';
import { metric } from '../format.ts';

const NEWEST_SHOWN = 8;

const COLUMNS: { key: string; label: string }[] = [
  { key: 'loss', label: 'Validation loss' },
  { key: 'accuracy', label: 'Token accuracy' },
  { key: 'perplexity', label: 'Perplexity' },
  { key: 'rouge-1', label: 'ROUGE-1' },
  { key: 'rouge-2', label: 'ROUGE-2' },
  { key: 'rouge-l', label: 'ROUGE-L' },
  { key: 'bleu-4', label: 'BLEU-4' },
];

/** Metrics event keys → column keys. */
const EVENT_KEYS: Record<string, string> = {
  valid_loss: 'loss',
  valid_mean_token_accuracy: 'accuracy',
  valid_perplexity: 'perplexity',
  'rouge-1': 'rouge-1',
  'rouge-2': 'rouge-2',
  'rouge-l': 'rouge-l',
  'bleu-4': 'bleu-4',
};

export class Evaluations {
  readonly element = h('div', { class: 'evaluations' });
  private readonly byStep = new Map<number, Record<string, number | null>>();
  private showAll = false;

  constructor() {
    this.render();
  }

  addSeries(metrics: Metrics): void {
    for (const { step, ...values } of [...metrics.validation, ...metrics.generation]) this.merge(step, values);
    this.render();
  }

  /** A live metrics event (a training step's carries no evaluation and changes nothing). */
  addEventData(data: Record<string, unknown>): void {
    if (typeof data.step !== 'number') return;
    const values = Object.fromEntries(Object.entries(EVENT_KEYS).filter(([k]) => typeof data[k] === 'number').map(([k, column]) => [column, data[k] as number]));
    if (Object.keys(values).length === 0) return;
    this.merge(data.step, values);
    this.render();
  }

  private merge(step: number, values: Record<string, number | null>): void {
    this.byStep.set(step, { ...this.byStep.get(step), ...values });
  }

  private render(): void {
    if (this.byStep.size === 0) {
      this.element.replaceChildren(h('p', { class: 'hint' }, 'No evaluations yet. Give a validation file or a validation split to see validation loss.'));
      return;
    }
    const rows = [...this.byStep.entries()].sort(([a], [b]) => b - a);
    const shown = this.showAll ? rows : rows.slice(0, NEWEST_SHOWN);
    const columns = COLUMNS.filter((c) => rows.some(([, v]) => v[c.key] !== undefined && v[c.key] !== null));
    const toggle =
      rows.length > NEWEST_SHOWN
        ? h('button', { type: 'button', class: 'link-button', onclick: () => ((this.showAll = !this.showAll), this.render()) }, this.showAll ? `Show the newest ${NEWEST_SHOWN}` : `Show all ${rows.length} evaluations`)
        : null;
    this.element.replaceChildren(
      table(
        'Evaluations, newest first',
        [numeric('Step'), ...columns.map((c) => numeric(c.label))],
        shown.map(([step, values]) => h('tr', {}, h('td', { class: 'num' }, step), columns.map((c) => h('td', { class: 'num' }, metric(values[c.key]))))),
      ),
      toggle ?? '',
    );
  }
}
