// End to end, per method: train a small model on four question → answer pairs until the training loss
// is below a stated bound, check that greedy generation answers every question as trained, export the
// result, load the export back and get the trained model's logits. Steps and learning rates are the
// smallest found to converge reliably on these models (2 layers, hidden 64; P-tuning, which can only
// add keys and values to a frozen random base, needs glm-tiny's 4 layers, hidden 128; output layer
// init ×10, see helpers.ts); all share seed 3 and (but P-tuning) a linear decay to 0. At these learning rates a constant
// schedule keeps the loss jumping between 1e-3 and 0.8 to the last step, so whether the last loss was under
// the bound depended on rounding: float differences of 1e-6 (another matmul kernel, a fused op) decided it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { templateFor } from '../../src/model/chat-templates/select.ts';
import { generate } from '../../src/model/generate.ts';
import type { GlmModel } from '../../src/model/glm.ts';
import type { CausalLanguageModel } from '../../src/model/language-model.ts';
import { loadModel } from '../../src/model/load.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { createMethod } from '../../src/methods/create.ts';
import type { MethodConfigInput } from '../../src/methods/config.ts';
import type { TuningMethod } from '../../src/methods/types.ts';
import { parseTrainingConfig, type TrainingConfigInput } from '../../src/trainer/config.ts';
import { encodeConversation } from '../../src/trainer/data/encode.ts';
import { runTraining } from '../../src/trainer/loop.ts';
import { QA_PAIRS, conversation, scratchDir, writeTestModel } from './helpers.ts';

await initCompute();

const root = scratchDir({ after: (fn) => test.after(fn) }, 'acceptance');
const baseDir = writeTestModel(join(root, 'base'));
const tinyShapeDir = writeTestModel(join(root, 'base-glm-tiny-shape'), { glmTinyShape: true });
const tokenizer = await loadTokenizer(baseDir);
const template = await templateFor(baseDir, tokenizer);
// both bases share the byte tokenizer and the ChatGLM3 template, so the examples are the same
const examples = QA_PAIRS.map(([q, a], i) => ({ line: i + 1, messages: conversation(q, a), ...encodeConversation(template, conversation(q, a), { maxSeqLen: 256, trainOnInputs: false })!.example }));
const LORA_SITES = ['query_key_value' as const, 'dense' as const, 'dense_h_to_4h' as const, 'dense_4h_to_h' as const];

/** Greedy answers to every training question. */
async function answers(model: CausalLanguageModel, method?: TuningMethod): Promise<string[]> {
  const out: string[] = [];
  for (const [question] of QA_PAIRS) {
    const { adapters, prefix } = method ? method.forwardOptions(false) : {};
    const result = await generate(model as GlmModel, template.generationPrompt([{ role: 'user', content: question }]), {
      maxNewTokens: 16, stopIds: template.stopIds, vocabSize: tokenizer.vocabSize, decode: (ids) => tokenizer.decode(ids), adapters, prefix,
    });
    prefix?.dispose();
    out.push((result.text ?? '').trim());
  }
  return out;
}

function logitsOf(model: CausalLanguageModel, method?: TuningMethod): Float32Array {
  return tf.tidy(() => model.forward([examples[0].inputIds], method ? method.forwardOptions(false) : {}).logits.dataSync() as Float32Array);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
}

interface Case {
  name: string;
  method: MethodConfigInput;
  steps: number;
  lr: number;
  bound: number;
  /** Loads the export back: a model and (for adapters and prefixes) the method continuing from it. */
  reload: (dir: string) => { model: CausalLanguageModel; method?: TuningMethod };
  settings?: Partial<TrainingConfigInput>;
  teacherDir?: () => string;
  /** The base model folder (default: the 2-layer one). */
  base?: string;
}

const asModelFolder = (dir: string) => ({ model: loadModel(dir) });
const onBase = (config: MethodConfigInput, base = baseDir) => (dir: string) => {
  const model = loadModel(base);
  return { model, method: createMethod(model, config, { seed: 0, initFrom: dir }) };
};

const lora: MethodConfigInput = { type: 'lora', r: 8, alpha: 16, dropout: 0, target_modules: LORA_SITES };
const qlora: MethodConfigInput = { type: 'qlora', r: 8, alpha: 16, dropout: 0, target_modules: LORA_SITES, quantization_bits: 4 };
const ptuning: MethodConfigInput = { type: 'ptuning_v2', pre_seq_len: 8, prefix_dropout: 0 };
const outputs: Record<string, string> = {};

const cases: Case[] = [
  { name: 'full', method: { type: 'full' }, steps: 40, lr: 3e-3, bound: 0.05, reload: asModelFolder },
  { name: 'freeze', method: { type: 'freeze', layers: 1, also_output_layer: true }, steps: 40, lr: 3e-3, bound: 0.05, reload: asModelFolder },
  { name: 'lora', method: lora, steps: 60, lr: 1e-2, bound: 0.05, reload: onBase(lora) },
  { name: 'qlora', method: qlora, steps: 60, lr: 1e-2, bound: 0.05, reload: onBase(qlora) },
  // the prefix alone descends steadily at a constant rate, and a decay leaves it short of the bound
  { name: 'ptuning_v2', method: ptuning, steps: 80, lr: 1e-1, bound: 0.1, reload: onBase(ptuning, tinyShapeDir), base: tinyShapeDir, settings: { lr_scheduler_type: 'constant' } },
  {
    // a fresh student (LoRA) learns from the fully fine-tuned model above, half from its soft labels
    name: 'distillation', method: lora, steps: 40, lr: 1e-2, bound: 0.5, reload: onBase(lora),
    settings: { distillation: { teacher: 'full', temperature: 2, alpha: 0.5 } },
    teacherDir: () => outputs.full,
  },
];

for (const c of cases) {
  test(`${c.name}: training loss below ${c.bound} in ${c.steps} steps, greedy answers as trained, export reloads with identical logits`, async () => {
    const config = parseTrainingConfig({ method: c.method, seed: 3, batch_size: 4, max_steps: c.steps, learning_rate: c.lr, lr_scheduler_type: 'linear', ...c.settings });
    const model = loadModel(c.base ?? baseDir);
    const method = createMethod(model, config.method, { seed: config.seed });
    const teacher = c.teacherDir ? loadModel(c.teacherDir()) : undefined;
    const out = join(root, c.name);
    try {
      const result = await runTraining({ model, method, tokenizer, template, config, train: examples, validation: [], teacher });
      const loss = result.losses.at(-1)!;
      assert.ok(loss < c.bound, `final training loss ${loss}`);
      assert.deepEqual(await answers(model, method), QA_PAIRS.map(([, a]) => a));
      await method.export(out, { baseDir: c.base ?? baseDir });
      outputs[c.name] = out;
      const trained = logitsOf(model, method);
      const reloaded = c.reload(out);
      try {
        const diff = maxAbsDiff(logitsOf(reloaded.model, reloaded.method), trained);
        assert.ok(diff <= 1e-5, `max |Δlogit| after reloading the export: ${diff}`);
      } finally {
        reloaded.method?.dispose();
        reloaded.model.dispose();
      }
    } finally {
      teacher?.dispose();
      method.dispose();
      model.dispose();
    }
  });
}
