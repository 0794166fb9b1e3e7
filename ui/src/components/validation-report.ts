// A dataset's problems by line number, as the Files API reports them.
import type { FileObject } from '../api/types.ts';
import { h, numeric, table } from '../dom.ts';

export function validationReport(file: FileObject): HTMLElement {
  const report = file.validation;
  if (file.status !== 'error' || !report) {
    return h('p', { class: 'notice notice-ok' }, file.status === 'processed' ? `Valid ${file.format ?? ''} dataset: ${file.examples ?? 0} examples.` : `Status: ${file.status}.`);
  }
  const rows = report.errors.map((e) =>
    h(
      'tr',
      {},
      h('td', { class: 'num' }, e.line ?? '—'),
      // The API's message starts with "line N: "; the number has its own column.
      h('td', {}, e.message.replace(/^line \d+: /, '')),
    ),
  );
  const shown = report.errors.length;
  return h(
    'section',
    { class: 'validation-report', 'aria-labelledby': `report-${file.id}` },
    h('h2', { id: `report-${file.id}` }, `${report.error_count} ${report.error_count === 1 ? 'problem' : 'problems'} in ${file.filename}`),
    h('p', {}, 'No job can train on this file until the lines below are fixed and the file is uploaded again.'),
    table('Dataset problems by line', [numeric('Line'), 'Problem'], rows),
    report.error_count > shown ? h('p', { class: 'hint' }, `Showing the first ${shown} of ${report.error_count} problems.`) : null,
  );
}
