// One AdamW step on the ChatGLM-6B (v1) fixture (torch.optim.AdamW: lr 1e-2, betas 0.9/0.999, eps 1e-8,
// weight decay 0.01, no clipping) through the trainer's own step and optimizer, for LoRA, P-tuning v2 and
// full fine-tuning, against test/fixtures/glm1/reference.json (README: train_step). In the full step the
// tied embedding (also the output head) is one parameter, updated once.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import type { CausalLanguageModel } from '../../src/model/language-model.ts';
import { loadModel } from '../../src/model/load.ts';
import { createMethod } from '../../src/methods/create.ts';
import type { MethodConfigInput } from '../../src/methods/config.ts';
import type { TuningMethod } from '../../src/methods/types.ts';
import type { Batch } from '../../src/trainer/data/batches.ts';
import { AdamW } from '../../src/trainer/optim/adamw.ts';
import { globalNorm } from '../../src/trainer/optim/clip.ts';
import { accumulateGradients, causalLmObjective } from '../../src/trainer/step.ts';

await initCompute();

const FIXTURES = join('test', 'fixtures', 'glm1');
const MODEL = join(FIXTURES, 'tiny-chatglm6b');

interface TrainStep {
  loss_before: number;
  grad_global_l2_norm: number;
  grad_l2_norm_per_tensor: Record<string, number>;
  weights_after?: Record<string, number[] | number[][]>;
  weights_after_subset?: Record<string, number[]>;
  embedding_grad_rows?: { rows: number[]; grad: number[][] };
  loss_after: number;
}
const reference = JSON.parse(readFileSync(join(FIXTURES, 'reference.json'), 'utf8')) as {
  loss: { input_ids: number[][]; labels: number[][]; num_predicted_tokens: number };
  lora: { train_step: TrainStep };
  ptuning: { train_step: TrainStep };
  full_finetune: { train_step: TrainStep };
};

const batch: Batch = {
  inputIds: reference.loss.input_ids,
  labels: reference.loss.labels,
  tokens: reference.loss.input_ids.flat().length,
  targets: reference.loss.num_predicted_tokens,
};

function maxAbsDiff(actual: Float32Array, expected: number[]): number {
  assert.equal(actual.length, expected.length);
  return expected.reduce((m, x, i) => Math.max(m, Math.abs(actual[i] - x)), 0);
}

/** One step of the method on the fixture batch; checks loss, gradient norms and loss after; returns the gradients. */
function step(config: MethodConfigInput, initFrom: string | undefined, ref: TrainStep, check: (model: CausalLanguageModel, method: TuningMethod, grads: Map<string, Float32Array>) => void, lossAfterTolerance = 1e-5, decays?: (name: string) => boolean): void {
  const model = loadModel(MODEL);
  const method = createMethod(model, config, { seed: 0, initFrom });
  try {
    const params = method.trainable();
    const { grads, loss } = accumulateGradients(params, [batch], causalLmObjective(model, method, () => 0));
    assert.ok(Math.abs(loss - ref.loss_before) < 1e-5, `loss before ${loss} vs ${ref.loss_before}`);
    const norm = globalNorm(grads);
    assert.ok(Math.abs(norm - ref.grad_global_l2_norm) <= 1e-5 * ref.grad_global_l2_norm, `grad norm ${norm} vs ${ref.grad_global_l2_norm}`);
    for (const [name, expected] of Object.entries(ref.grad_l2_norm_per_tensor)) {
      const g = grads.get(name);
      assert.ok(g, `no gradient for ${name}`);
      const actual = globalNorm(new Map([[name, g]]));
      assert.ok(Math.abs(actual - expected) <= 1e-5 * Math.max(expected, 1e-2), `${name}: grad norm ${actual} vs ${expected}`);
    }
    const hostGrads = new Map([...grads].map(([n, g]) => [n, g.dataSync() as Float32Array]));
    const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }, decays ?? ((name) => method.decays(name)));
    optimizer.step(grads, 1e-2);
    tf.dispose([...grads.values()]);
    optimizer.dispose();
    const after = tf.tidy(() => model.loss(batch.inputIds, batch.labels, method.forwardOptions(false)).dataSync()[0]);
    assert.ok(Math.abs(after - ref.loss_after) < lossAfterTolerance, `loss after ${after} vs ${ref.loss_after}`);
    check(model, method, hostGrads);
  } finally {
    method.dispose();
    model.dispose();
  }
}

test('v1 LoRA (query_key_value, dense): one AdamW step gives the reference lora_A/lora_B within 1e-5', () => {
  const ref = reference.lora.train_step;
  step({ type: 'lora', r: 4, alpha: 8, dropout: 0, target_modules: ['query_key_value', 'dense'] }, join(FIXTURES, 'lora'), ref, (_model, method) => {
    assert.deepEqual([...method.trainable().keys()].sort(), Object.keys(ref.weights_after!).sort());
    for (const [name, expected] of Object.entries(ref.weights_after!)) {
      const diff = maxAbsDiff(method.trainable().get(name)!.dataSync() as Float32Array, (expected as number[][]).flat());
      assert.ok(diff < 1e-5, `${name}: max |Δ| ${diff}`);
    }
  });
});

test('v1 P-tuning v2: one AdamW step on the prefix encoder gives the reference embedding within 1e-5', () => {
  const ref = reference.ptuning.train_step;
  step({ type: 'ptuning_v2', pre_seq_len: 4, prefix_projection: false, prefix_dropout: 0 }, join(FIXTURES, 'ptuning'), ref, (_model, method) => {
    for (const [name, expected] of Object.entries(ref.weights_after!)) {
      const diff = maxAbsDiff(method.trainable().get(name)!.dataSync() as Float32Array, (expected as number[][]).flat());
      assert.ok(diff < 1e-5, `${name}: max |Δ| ${diff}`);
    }
  });
});

test('v1 full fine-tuning: the tied embedding gets both gradients and one update; norms and loss after match', () => {
  const ref = reference.full_finetune.train_step;
  step(
    { type: 'full' },
    undefined,
    ref,
    (_model, method, grads) => {
      assert.ok(![...method.trainable().keys()].includes('lm_head.weight'), 'the tied head is not a second parameter');
      const embedding = grads.get('transformer.word_embeddings.weight')!;
      const width = embedding.length / method.trainable().get('transformer.word_embeddings.weight')!.shape[0];
      ref.embedding_grad_rows!.rows.forEach((row, i) => {
        const diff = maxAbsDiff(embedding.slice(row * width, (row + 1) * width), ref.embedding_grad_rows!.grad[i]);
        assert.ok(diff < 1e-5, `embedding gradient row ${row}: max |Δ| ${diff}`);
      });
      for (const [name, expected] of Object.entries(ref.weights_after_subset!)) {
        const diff = maxAbsDiff(method.trainable().get(name)!.dataSync() as Float32Array, expected);
        assert.ok(diff < 1e-5, `${name}: max |Δ| ${diff}`);
      }
    },
    1e-4, // README: full FT loss_after 1e-4
    () => true, // the reference decays every parameter (one group)
  );
});
