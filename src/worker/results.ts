// A job's result file: OpenAI's step_metrics.csv columns, one row per training step, with the
// validation numbers on the steps that were evaluated, and glmtune's learning-rate column.
import type { JobEventRow } from '../db/schema/index.ts';

const COLUMNS = ['step', 'train_loss', 'train_accuracy', 'valid_loss', 'valid_mean_token_accuracy', 'learning_rate'] as const;

export function resultsCsv(metricsEvents: readonly JobEventRow[]): string {
  const rows = new Map<number, Record<string, unknown>>();
  for (const event of metricsEvents) {
    const d = event.data ?? {};
    if (typeof d.step !== 'number') continue;
    const row = rows.get(d.step) ?? { step: d.step };
    if (typeof d.train_loss === 'number') Object.assign(row, { train_loss: d.train_loss, train_accuracy: d.train_mean_token_accuracy, learning_rate: d.learning_rate });
    if (typeof d.valid_loss === 'number') Object.assign(row, { valid_loss: d.valid_loss, valid_mean_token_accuracy: d.valid_mean_token_accuracy });
    rows.set(d.step, row);
  }
  const cell = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '');
  const lines = [...rows.values()].sort((a, b) => (a.step as number) - (b.step as number)).map((r) => COLUMNS.map((c) => cell(r[c])).join(','));
  return `${[COLUMNS.join(','), ...lines].join('\n')}\n`;
}
