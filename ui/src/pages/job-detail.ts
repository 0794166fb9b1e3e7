// One job: status and controls, live loss and learning-rate charts, evaluations, checkpoints, the
// trained model's files and the events log. While the job is active the page follows its event
// stream; a finished job is read once.
import { api, ApiError, request, seg } from '../api/client.ts';
import { readEvents } from '../api/sse.ts';
import { FINAL_STATUSES, type FileObject, type Job, type JobEvent, type List, type Metrics } from '../api/types.ts';
import { modelArtifacts } from '../components/artifacts.ts';
import { checkpointsTable } from '../components/checkpoints.ts';
import { Curves } from '../components/curves.ts';
import { downloadButton } from '../components/download-button.ts';
import { Evaluations } from '../components/evaluations.ts';
import { EventsLog } from '../components/events-log.ts';
import { LineChart } from '../components/line-chart.ts';
import { errorNotice, fill } from '../components/notice.ts';
import { statusBadge } from '../components/status-badge.ts';
import { h } from '../dom.ts';
import { dateTime } from '../format.ts';
import type { PageContext } from '../router.ts';

const RECONNECT_MS = 2000;

export function jobDetailPage({ params, signal }: PageContext): HTMLElement {
  const jobId = params.id;
  const path = `/v1/fine_tuning/jobs/${seg(jobId)}`;
  const curves = new Curves();
  const lossChart = new LineChart('loss', 'Loss', [{ label: 'training loss', color: '#1d4ed8' }, { label: 'validation loss', color: '#c2410c', dash: [6, 4] }], 'loss', signal);
  const rateChart = new LineChart('learning-rate', 'Learning rate', [{ label: 'learning rate', color: '#047857' }], 'rate', signal);
  const evaluations = new Evaluations();
  const log = new EventsLog();

  const heading = h('h1', { tabindex: -1, class: 'id-heading' }, jobId);
  const status = h('div', { class: 'job-status', 'aria-live': 'polite' });
  const controls = h('div', { class: 'actions job-controls' });
  const controlError = h('div', { role: 'alert' });
  const facts = h('dl', { class: 'facts' });
  const checkpoints = h('div');
  const files = h('div');
  const config = h('pre', { class: 'config' });

  let job: Job | undefined;
  let redrawQueued = false;
  const redraw = () => {
    if (redrawQueued) return;
    redrawQueued = true;
    // Many events can arrive in one read: draw once per frame.
    requestAnimationFrame(() => {
      redrawQueued = false;
      const a = curves.aligned();
      lossChart.setData(a.steps, [a.trainLoss, a.validationLoss]);
      rateChart.setData(a.steps, [a.learningRate]);
    });
  };

  const showJob = (next: Job) => {
    job = next;
    heading.textContent = next.suffix ? `${next.suffix} · ${next.id}` : next.id;
    status.replaceChildren(jobStatus(next));
    controls.replaceChildren(...controlButtons(next));
    facts.replaceChildren(...jobFacts(next));
    config.textContent = JSON.stringify({ hyperparameters: next.hyperparameters, tuning: next.tuning }, null, 2);
  };

  const control = async (action: 'pause' | 'resume' | 'cancel') => {
    controlError.replaceChildren();
    try {
      showJob(await api<Job>(`${path}/${action}`, { method: 'POST', signal }));
    } catch (err) {
      if (err instanceof ApiError) controlError.replaceChildren(errorNotice(err));
    }
  };
  const controlButtons = (j: Job): HTMLElement[] => {
    const button = (action: 'pause' | 'resume' | 'cancel', label: string, enabled: boolean, cls = '') =>
      h('button', { type: 'button', class: cls, disabled: !enabled, onclick: () => control(action) }, label);
    return [
      button('pause', 'Pause', j.status === 'queued' || j.status === 'running'),
      button('resume', 'Resume', j.status === 'paused'),
      button('cancel', 'Cancel job', !FINAL_STATUSES.includes(j.status), 'danger'),
    ];
  };

  const refreshJob = async () => showJob(await api<Job>(path, { signal }));
  const refreshOutputs = () => {
    void fill(checkpoints, 'checkpoints', () => checkpointsTable(jobId, signal));
    if (job) void fill(files, 'files', () => outputFiles(job!, signal));
  };
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** A message event means the job changed (state, checkpoint, model): reread it, once per burst. */
  const refreshSoon = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => void refreshJob().then(refreshOutputs, () => {}), 300);
  };
  signal.addEventListener('abort', () => clearTimeout(refreshTimer), { once: true });

  const onEvent = (event: JobEvent) => {
    if (!log.prepend(event)) return;
    if (event.type === 'metrics') {
      curves.addEventData(event.data);
      evaluations.addEventData(event.data);
      if (job && typeof event.data.step === 'number') {
        job.progress.step = Math.max(job.progress.step, event.data.step);
        if (typeof event.data.total_steps === 'number') job.progress.total_steps = event.data.total_steps;
        status.replaceChildren(jobStatus(job));
      }
      redraw();
    } else refreshSoon();
  };

  /** Follows the live event stream until the job ends (the stream says [DONE]) or the page is left. */
  const follow = async () => {
    while (!signal.aborted) {
      try {
        const response = await request(`${path}/events/stream`, { signal });
        for await (const data of readEvents(response)) onEvent(JSON.parse(data) as JobEvent);
        if (signal.aborted) return;
        await refreshJob();
        if (job && FINAL_STATUSES.includes(job.status)) return;
      } catch (err) {
        if (signal.aborted) return;
        controlError.replaceChildren(errorNotice(`Live updates interrupted (${(err as Error).message}); reconnecting…`));
      }
      await new Promise((r) => setTimeout(r, RECONNECT_MS));
      controlError.replaceChildren();
    }
  };

  const start = async () => {
    await refreshJob();
    const metrics = await api<Metrics>(`${path}/metrics`, { signal });
    for (const p of metrics.train) curves.addTrain(p);
    for (const p of metrics.validation) curves.addValidation(p);
    evaluations.addSeries(metrics);
    redraw();
    refreshOutputs();
    if (job && FINAL_STATUSES.includes(job.status)) {
      log.appendOlder((await api<List<JobEvent>>(`${path}/events?limit=200`, { signal })).data);
      return;
    }
    await follow();
    // The job has ended: its final evaluation, checkpoints and files.
    evaluations.addSeries(await api<Metrics>(`${path}/metrics`, { signal }));
    refreshOutputs();
  };
  const page = h(
    'div',
    { class: 'page job-page' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/jobs' }, '← Jobs')),
    heading,
    status,
    controls,
    controlError,
    h('div', { class: 'charts' }, lossChart.element, rateChart.element),
    section('Evaluation', evaluations.element),
    section('Details', facts),
    section('Checkpoints', checkpoints),
    section('Files', files),
    section('Configuration', config),
    section('Events', log.element),
  );
  start().catch((err) => {
    if (!signal.aborted) status.replaceChildren(errorNotice(err));
  });
  return page;
}

function section(title: string, content: HTMLElement): HTMLElement {
  const id = `section-${title.toLowerCase()}`;
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), content);
}

function jobStatus(job: Job): HTMLElement {
  const { step, total_steps: total } = job.progress;
  return h(
    'div',
    { class: 'status-line' },
    statusBadge(job.status),
    total ? h('progress', { max: total, value: step, 'aria-label': 'Training progress' }) : null,
    h('span', {}, total ? `step ${step} of ${total}` : step ? `step ${step}` : ''),
    job.error ? h('p', { class: 'notice notice-error' }, `${job.error.code}: ${job.error.message}`) : null,
  );
}

function jobFacts(job: Job): HTMLElement[] {
  const rows: [string, Node | string][] = [
    ['Model', job.model],
    ['Method', String(job.tuning.method?.type ?? '—')],
    ['Fine-tuned model', job.fine_tuned_model ? h('span', {}, h('code', {}, job.fine_tuned_model), ' ', h('a', { href: `#/playground?model=${seg(job.fine_tuned_model)}` }, 'Chat with it')) : '—'],
    ['Training file', h('a', { href: `#/files/${seg(job.training_file)}` }, job.training_file)],
    ['Validation file', job.validation_file ? h('a', { href: `#/files/${seg(job.validation_file)}` }, job.validation_file) : '—'],
    ['Epochs × batch', `${job.hyperparameters.n_epochs} × ${job.hyperparameters.batch_size}`],
    ['Learning rate', String(job.tuning.learning_rate ?? '—')],
    ['Trained tokens', job.trained_tokens?.toLocaleString() ?? '—'],
    ['Created', dateTime(job.created_at)],
    ['Finished', dateTime(job.finished_at)],
  ];
  return rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]);
}

/** The result file (step metrics CSV) and the trained model's files, each downloadable. */
async function outputFiles(job: Job, signal: AbortSignal): Promise<HTMLElement> {
  const parts: HTMLElement[] = [];
  for (const id of job.result_files) {
    const file = await api<FileObject>(`/v1/files/${seg(id)}`, { signal });
    parts.push(h('p', {}, downloadButton(`/v1/files/${seg(id)}/content`, file.filename, file.bytes, signal)));
  }
  if (job.fine_tuned_model) {
    try {
      parts.push(h('h3', {}, 'Model files'), await modelArtifacts(job.fine_tuned_model, signal));
    } catch (err) {
      parts.push(errorNotice(err));
    }
  }
  return parts.length ? h('div', {}, parts) : h('p', { class: 'hint' }, 'The result files and the trained model appear here when the job succeeds.');
}
