// A new fine-tuning job: the model, the datasets, OpenAI's hyperparameters and glmtune's `tuning`
// (the method and its settings). The API validates; its message appears beside the field it names.
import { api, ApiError } from '../api/client.ts';
import type { FileObject, Job, List, Model } from '../api/types.ts';
import { FormErrors } from '../components/form-errors.ts';
import { checkboxField, checkboxGroup, collect, numberField, selectField, textField } from '../components/form-fields.ts';
import { h } from '../dom.ts';
import { bytes } from '../format.ts';
import { navigate, type PageContext } from '../router.ts';

const METHODS = [
  { value: 'lora', label: 'LoRA' },
  { value: 'qlora', label: 'QLoRA (LoRA on a 4/8-bit base)' },
  { value: 'ptuning_v2', label: 'P-tuning v2 (learned prefix)' },
  { value: 'freeze', label: 'Freeze (train the last layers)' },
  { value: 'full', label: 'Full fine-tune' },
];
const LORA_TARGETS = ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h'];

export function jobCreatePage({ signal }: PageContext): HTMLElement {
  const modelList = h('datalist', { id: 'model-choices' });
  const trainingFile = selectField('training_file', 'Training file', [{ value: '', label: 'Loading datasets…' }]);
  const validationFile = selectField('validation_file', 'Validation file (optional)', [{ value: '', label: 'None' }]);

  // Method settings: one group per method, shown when that method is chosen (hidden ones are not sent).
  const loraSettings = h(
    'fieldset',
    { class: 'group', 'data-methods': 'lora qlora' },
    h('legend', {}, 'LoRA'),
    h('div', { class: 'grid' }, numberField('tuning.method.r', 'Rank r', { placeholder: '8' }), numberField('tuning.method.alpha', 'Alpha', { placeholder: '32', hint: 'Scaling is alpha / r.' }), numberField('tuning.method.dropout', 'Dropout', { placeholder: '0.1' })),
    checkboxGroup('tuning.method.target_modules', 'Target modules', LORA_TARGETS, ['query_key_value']),
  );
  const qloraSettings = h(
    'fieldset',
    { class: 'group', 'data-methods': 'qlora' },
    h('legend', {}, 'Quantization'),
    h('div', { class: 'grid' }, selectField('tuning.method.quantization_bits', 'Bits of the frozen base', [{ value: '4', label: '4 (NF4)' }, { value: '8', label: '8 (int8)' }], { kind: 'number' })),
    checkboxField('tuning.method.double_quant', 'Double quantization (NF4 only)'),
  );
  const ptuningSettings = h(
    'fieldset',
    { class: 'group', 'data-methods': 'ptuning_v2' },
    h('legend', {}, 'P-tuning v2'),
    h('div', { class: 'grid' }, numberField('tuning.method.pre_seq_len', 'Prefix length', { placeholder: '128' }), numberField('tuning.method.prefix_hidden_size', 'Prefix MLP width', { placeholder: 'hidden size' }), numberField('tuning.method.prefix_dropout', 'Prefix dropout', { placeholder: '0.1' })),
    checkboxField('tuning.method.prefix_projection', 'Encode the prefix with a two-layer MLP'),
  );
  const freezeSettings = h(
    'fieldset',
    { class: 'group', 'data-methods': 'freeze' },
    h('legend', {}, 'Freeze'),
    h('div', { class: 'grid' }, numberField('tuning.method.layers', 'Layers to train (from the top)', { placeholder: '2' })),
    checkboxField('tuning.method.also_output_layer', 'Also train the output layer'),
  );
  const methodGroups = [loraSettings, qloraSettings, ptuningSettings, freezeSettings];
  const method = selectField('tuning.method.type', 'Fine-tuning method', METHODS, { value: 'lora' });
  const methodSelect = method.querySelector('select')!;
  const showMethod = () => {
    for (const group of methodGroups) group.hidden = !group.dataset.methods!.split(' ').includes(methodSelect.value);
  };
  methodSelect.addEventListener('change', showMethod);
  showMethod();

  const estimateOut = h('div', { class: 'estimate', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create job');
  const estimate = h('button', { type: 'button' }, 'Estimate');
  const form = h(
    'form',
    { class: 'job-form', novalidate: true },
    h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, 'Model and data'),
      h('div', { class: 'grid' }, textField('model', 'Model', { list: 'model-choices', placeholder: 'glm-tiny', hint: 'A base model, or one of your fine-tuned models to continue training.' }), textField('suffix', 'Suffix', { placeholder: 'support-bot', hint: 'Part of the fine-tuned model’s name.' })),
      modelList,
      h('div', { class: 'grid' }, trainingFile, validationFile),
    ),
    h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, 'Hyperparameters'),
      h(
        'div',
        { class: 'grid' },
        numberField('hyperparameters.n_epochs', 'Epochs', { placeholder: 'auto' }),
        numberField('hyperparameters.batch_size', 'Batch size', { placeholder: 'auto' }),
        numberField('hyperparameters.learning_rate_multiplier', 'Learning-rate multiplier', { placeholder: 'auto' }),
        numberField('seed', 'Seed', { placeholder: 'random' }),
      ),
    ),
    h('fieldset', { class: 'group' }, h('legend', {}, 'Method'), method, ...methodGroups),
    h(
      'details',
      { class: 'group' },
      h('summary', {}, 'Training settings'),
      h(
        'div',
        { class: 'grid' },
        numberField('tuning.learning_rate', 'Learning rate', { placeholder: 'method default', hint: 'Replaces the method’s base rate × multiplier.' }),
        selectField('tuning.lr_scheduler_type', 'Schedule', [{ value: 'linear', label: 'linear' }, { value: 'cosine', label: 'cosine' }, { value: 'constant', label: 'constant' }]),
        numberField('tuning.warmup_ratio', 'Warm-up ratio', { placeholder: '0' }),
        numberField('tuning.weight_decay', 'Weight decay', { placeholder: '0' }),
        numberField('tuning.gradient_accumulation_steps', 'Gradient accumulation', { placeholder: '1' }),
        numberField('tuning.max_grad_norm', 'Max gradient norm', { placeholder: '1' }),
        numberField('tuning.max_seq_len', 'Max sequence length', { placeholder: 'model context' }),
        numberField('tuning.max_steps', 'Max steps', { placeholder: 'epochs decide', hint: 'Stops after this many steps; overrides epochs.' }),
      ),
      checkboxField('tuning.train_on_inputs', 'Train on the prompts too, not only the replies'),
    ),
    h(
      'details',
      { class: 'group' },
      h('summary', {}, 'Evaluation and checkpoints'),
      h(
        'div',
        { class: 'grid' },
        numberField('tuning.validation_split', 'Validation split', { placeholder: '0', hint: 'Fraction held out when no validation file is given.' }),
        numberField('tuning.eval_steps', 'Evaluate every (steps)', { placeholder: 'each epoch' }),
        numberField('tuning.eval_samples', 'Generation samples', { placeholder: '0', hint: 'Replies generated for ROUGE/BLEU.' }),
        numberField('tuning.save_steps', 'Checkpoint every (steps)', { placeholder: 'end only' }),
        numberField('tuning.early_stopping_patience', 'Early-stopping patience', { placeholder: 'off' }),
        numberField('tuning.early_stopping_threshold', 'Early-stopping threshold', { placeholder: '0' }),
      ),
      checkboxField('tuning.eval_base_model', 'Also score the base model on the samples'),
    ),
    h(
      'details',
      { class: 'group' },
      h('summary', {}, 'Distillation'),
      h(
        'div',
        { class: 'grid' },
        textField('tuning.distillation.teacher', 'Teacher model', { list: 'model-choices' }),
        numberField('tuning.distillation.temperature', 'Temperature', { placeholder: '2' }),
        numberField('tuning.distillation.alpha', 'Alpha (KL weight)', { placeholder: '0.5' }),
      ),
    ),
  );
  const errors = new FormErrors(form);
  form.append(errors.summary, h('div', { class: 'actions' }, submit, estimate), estimateOut);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errors.clear();
    submit.disabled = true;
    try {
      const job = await api<Job>('/v1/fine_tuning/jobs', { method: 'POST', body: collect(form), signal });
      navigate(`/jobs/${encodeURIComponent(job.id)}`);
    } catch (err) {
      // Anything else is the page being left (an abort).
      if (err instanceof ApiError) errors.show(err);
    } finally {
      submit.disabled = false;
    }
  });

  estimate.addEventListener('click', async () => {
    errors.clear();
    estimateOut.replaceChildren(h('p', { class: 'notice' }, 'Estimating…'));
    try {
      const est = await api<Estimate>('/v1/fine_tuning/estimate', { method: 'POST', body: collect(form), signal });
      estimateOut.replaceChildren(estimateSummary(est));
    } catch (err) {
      estimateOut.replaceChildren();
      if (err instanceof ApiError) errors.show(err);
    }
  });

  void loadChoices(form, modelList, signal);
  return h('div', { class: 'page' }, h('p', { class: 'crumbs' }, h('a', { href: '#/jobs' }, '← Jobs')), h('h1', { tabindex: -1 }, 'New fine-tuning job'), form);
}

/** Fills the dataset selects and the model suggestions. */
async function loadChoices(form: HTMLFormElement, modelList: HTMLDataListElement, signal: AbortSignal): Promise<void> {
  const training = form.querySelector<HTMLSelectElement>('select[data-param="training_file"]')!;
  const validation = form.querySelector<HTMLSelectElement>('select[data-param="validation_file"]')!;
  try {
    const files = (await api<List<FileObject>>('/v1/files?purpose=fine-tune', { signal })).data.filter((f) => f.status === 'processed');
    const options = files.map((f) => ({ value: f.id, label: `${f.filename} — ${f.examples} examples, ${bytes(f.bytes)} (${f.id})` }));
    training.replaceChildren(
      h('option', { value: '' }, files.length ? 'Choose a dataset' : 'No valid dataset: upload one on the Files page'),
      ...options.map((o) => h('option', { value: o.value }, o.label)),
    );
    validation.replaceChildren(h('option', { value: '' }, 'None'), ...options.map((o) => h('option', { value: o.value }, o.label)));
  } catch (err) {
    if ((err as Error).name !== 'AbortError') training.replaceChildren(h('option', { value: '' }, `Could not list files: ${(err as Error).message}`));
  }
  try {
    const models = (await api<List<Model>>('/v1/models', { signal })).data;
    modelList.replaceChildren(...models.map((m) => h('option', { value: m.id }, m.base_model ? `fine-tuned from ${m.base_model}` : 'base model')));
  } catch {
    // Suggestions only: the field takes any model id.
  }
}

interface Estimate {
  method: string;
  examples: number;
  total_steps: number;
  trained_tokens: number;
  estimated_seconds: number;
  throughput_source: 'measured' | 'assumed';
  memory: { total_bytes: number; available_bytes: number; fits: boolean };
}

function estimateSummary(est: Estimate): HTMLElement {
  const minutes = est.estimated_seconds >= 120 ? `${Math.round(est.estimated_seconds / 60)} min` : `${est.estimated_seconds} s`;
  return h(
    'p',
    { class: `notice ${est.memory.fits ? 'notice-ok' : 'notice-error'}` },
    `${est.method}: ${est.examples} examples, ${est.total_steps} steps, ${est.trained_tokens.toLocaleString()} tokens, about ${minutes} on this server (${est.throughput_source} speed). `,
    `Memory ${bytes(est.memory.total_bytes)} of ${bytes(est.memory.available_bytes)}: ${est.memory.fits ? 'fits' : 'does not fit'}.`,
  );
}
