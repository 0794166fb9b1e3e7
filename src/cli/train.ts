// npm run train -- --model <id|dir> --data train.jsonl [--validation val.jsonl] --method lora --output <dir> ...
// Trains locally, without the service, and writes the method's export to --output. Progress is a bar
// with loss and ETA on a terminal, one plain line per step otherwise (logs, CI). Ctrl-C cancels, or
// pauses into --checkpoint-dir when one is given (continue with --resume <that checkpoint>).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { initCompute } from '../compute/backend.ts';
import { loadConfig } from '../config.ts';
import { ensureTinyModel, GLM_TINY_ID } from '../model/tiny.ts';
import type { TrainingConfigInput } from '../trainer/config.ts';
import { PAUSE, type ProgressEvent } from '../trainer/loop.ts';
import { train } from '../trainer/train.ts';

const USAGE = `usage: npm run train -- --model <id|dir> --data <train.jsonl> --method <full|freeze|lora|qlora|ptuning_v2> --output <dir> [options]
  --validation <file>        validation set (else --validation-split of the training set)
  --validation-split <f>     fraction held out when no validation file is given (default 0)
  --epochs <n>  --max-steps <n>  --batch-size <n>  --grad-accum <n>  --lr <x>  --seed <n>
  --scheduler <linear|cosine|constant>  --warmup-steps <n>  --warmup-ratio <f>
  --weight-decay <x>  --max-grad-norm <x>  --max-seq-len <n>  --train-on-inputs
  --eval-steps <n>  --eval-samples <n>  --eval-base-model  --save-steps <n>
  --early-stopping-patience <n>  --early-stopping-threshold <x>
  --lora-r <n>  --lora-alpha <x>  --lora-dropout <f>  --lora-targets <a,b,...>   (lora, qlora)
  --quantization-bits <4|8>  --double-quant                                        (qlora)
  --pre-seq-len <n>  --prefix-projection  --prefix-dropout <f>                     (ptuning_v2)
  --freeze-layers <n>  --freeze-output-layer                                       (freeze)
  --teacher <id|dir>  --temperature <x>  --alpha <f>                               (distillation)
  --merged                   LoRA/QLoRA: export the merged model instead of the adapter
  --checkpoint-dir <dir>  --resume <checkpoint>  --init-from <export of the same method>
Model ids: glm-tiny (built in), or a folder name under MODELS_DIR.`;

const OPTIONS = {
  model: { type: 'string' }, data: { type: 'string' }, validation: { type: 'string' }, method: { type: 'string' }, output: { type: 'string' },
  'validation-split': { type: 'string' }, epochs: { type: 'string' }, 'max-steps': { type: 'string' }, 'batch-size': { type: 'string' },
  'grad-accum': { type: 'string' }, lr: { type: 'string' }, seed: { type: 'string' }, scheduler: { type: 'string' },
  'warmup-steps': { type: 'string' }, 'warmup-ratio': { type: 'string' }, 'weight-decay': { type: 'string' },
  'max-grad-norm': { type: 'string' }, 'max-seq-len': { type: 'string' }, 'train-on-inputs': { type: 'boolean' },
  'eval-steps': { type: 'string' }, 'eval-samples': { type: 'string' }, 'eval-base-model': { type: 'boolean' }, 'save-steps': { type: 'string' },
  'early-stopping-patience': { type: 'string' }, 'early-stopping-threshold': { type: 'string' },
  'lora-r': { type: 'string' }, 'lora-alpha': { type: 'string' }, 'lora-dropout': { type: 'string' }, 'lora-targets': { type: 'string' },
  'quantization-bits': { type: 'string' }, 'double-quant': { type: 'boolean' },
  'pre-seq-len': { type: 'string' }, 'prefix-projection': { type: 'boolean' }, 'prefix-dropout': { type: 'string' },
  'freeze-layers': { type: 'string' }, 'freeze-output-layer': { type: 'boolean' },
  teacher: { type: 'string' }, temperature: { type: 'string' }, alpha: { type: 'string' }, merged: { type: 'boolean' },
  'checkpoint-dir': { type: 'string' }, resume: { type: 'string' }, 'init-from': { type: 'string' }, help: { type: 'boolean' },
} as const;

type Args = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

class UsageError extends Error {}

/** A model id or folder → its folder: glm-tiny is materialised under DATA_DIR on first use. */
function resolveModel(idOrDir: string, dirs: { dataDir: string; modelsDir: string }): string {
  if (idOrDir === GLM_TINY_ID) return ensureTinyModel(join(dirs.dataDir, 'models', GLM_TINY_ID));
  if (existsSync(join(idOrDir, 'config.json'))) return idOrDir;
  const named = join(dirs.modelsDir, idOrDir);
  if (existsSync(join(named, 'config.json'))) return named;
  throw new UsageError(`model "${idOrDir}" is neither ${GLM_TINY_ID}, a model folder, nor a folder under ${resolve(dirs.modelsDir)}`);
}

/** A malformed number becomes NaN, which the schema rejects naming the field. */
function num(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

function methodConfig(a: Args): Record<string, unknown> {
  const type = a.method;
  const lora = { r: num(a['lora-r']), alpha: num(a['lora-alpha']), dropout: num(a['lora-dropout']), target_modules: a['lora-targets']?.split(',').map((s) => s.trim()) };
  switch (type) {
    case 'full':
      return { type };
    case 'freeze':
      return { type, layers: num(a['freeze-layers']), also_output_layer: a['freeze-output-layer'] };
    case 'lora':
      return { type, ...lora };
    case 'qlora':
      return { type, ...lora, quantization_bits: num(a['quantization-bits']), double_quant: a['double-quant'] };
    case 'ptuning_v2':
      return { type, pre_seq_len: num(a['pre-seq-len']), prefix_projection: a['prefix-projection'], prefix_dropout: num(a['prefix-dropout']) };
    default:
      throw new UsageError(`--method must be one of full, freeze, lora, qlora, ptuning_v2${type ? ` (got ${type})` : ''}`);
  }
}

function trainingConfig(a: Args): TrainingConfigInput {
  const config = {
    method: methodConfig(a),
    seed: num(a.seed), epochs: num(a.epochs), max_steps: num(a['max-steps']), batch_size: num(a['batch-size']),
    gradient_accumulation_steps: num(a['grad-accum']), learning_rate: num(a.lr), weight_decay: num(a['weight-decay']),
    max_grad_norm: num(a['max-grad-norm']), lr_scheduler_type: a.scheduler, warmup_steps: num(a['warmup-steps']), warmup_ratio: num(a['warmup-ratio']),
    max_seq_len: num(a['max-seq-len']), train_on_inputs: a['train-on-inputs'], validation_split: num(a['validation-split']),
    eval_steps: num(a['eval-steps']), eval_samples: num(a['eval-samples']), eval_base_model: a['eval-base-model'], save_steps: num(a['save-steps']),
    early_stopping_patience: num(a['early-stopping-patience']), early_stopping_threshold: num(a['early-stopping-threshold']),
    export_merged: a.merged,
    distillation: a.teacher ? { teacher: a.teacher, temperature: num(a.temperature), alpha: num(a.alpha) } : undefined,
  };
  // absent flags take the schema's defaults
  return JSON.parse(JSON.stringify(config)) as TrainingConfigInput;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function progressLine(p: ProgressEvent): string {
  return `step ${p.step}/${p.totalSteps} epoch ${p.epoch.toFixed(2)} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} grad_norm ${p.gradNorm.toFixed(3)} ${p.tokensPerSecond.toFixed(0)} tok/s eta ${clock(p.eta)}`;
}

function progressBar(p: ProgressEvent, width = 30): string {
  const done = Math.round((width * p.step) / p.totalSteps);
  return `\r[${'#'.repeat(done)}${' '.repeat(width - done)}] ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} eta ${clock(p.eta)}  `;
}

async function main(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS, strict: true });
  if (a.help) {
    console.log(USAGE);
    return 0;
  }
  if (!a.model || !a.data || !a.output || !a.method) throw new UsageError('--model, --data, --method and --output are required');
  const env = loadConfig();
  await initCompute(env.tfBackend); // train() logs the result
  const dirs = { dataDir: env.dataDir, modelsDir: env.modelsDir };
  const modelDir = resolveModel(a.model, dirs);
  const teacherDir = a.teacher ? resolveModel(a.teacher, dirs) : undefined;

  const tty = process.stdout.isTTY === true;
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(a['checkpoint-dir'] ? PAUSE : 'cancelled by Ctrl-C'));
  const result = await train({
    modelDir, trainFile: a.data, validationFile: a.validation, config: trainingConfig(a), outputDir: a.output,
    checkpointDir: a['checkpoint-dir'], resumeFrom: a.resume, initFrom: a['init-from'], teacherDir, signal: controller.signal,
    log: (line) => console.log(line),
    callbacks: {
      onProgress: (p) => (tty ? process.stdout.write(progressBar(p)) : console.log(progressLine(p))),
      onBaseEval: (m) => console.log(`${tty ? '\n' : ''}base model: ${JSON.stringify(m)}`),
      onEval: (e) => console.log(`${tty ? '\n' : ''}eval at step ${e.step}: loss ${e.validation.loss.toFixed(4)} perplexity ${e.validation.perplexity.toFixed(3)} token accuracy ${e.validation.tokenAccuracy.toFixed(4)}${e.generation ? ` ${JSON.stringify(e.generation)}` : ''}`),
      onCheckpoint: (c) => console.log(`${tty ? '\n' : ''}checkpoint (${c.reason}): ${c.dir}`),
    },
  });
  if (tty) process.stdout.write('\n');
  console.log(`${result.status} after ${result.step} steps, ${result.trainedTokens} tokens trained, final loss ${result.losses.at(-1)?.toFixed(4) ?? '-'}${result.bestStep !== undefined ? `, best weights from step ${result.bestStep}` : ''}`);
  if (result.outputDir) console.log(`export written to ${result.outputDir}`);
  if (result.status === 'paused') console.log(`paused: continue with --resume ${result.checkpoint}`);
  return result.status === 'completed' || result.status === 'early_stopped' ? 0 : 130;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ZodError) console.error(`invalid settings:\n${err.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
    else if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) console.error(`${(err as Error).message}\n\n${USAGE}`);
    else console.error((err as Error).message ?? err);
    process.exit(err instanceof ZodError || err instanceof UsageError ? 2 : 1);
  },
);
