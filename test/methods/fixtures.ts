// The parts of the GLM reference (test/fixtures/glm/reference.json, computed in PyTorch) the method tests
// read beyond what the model tests type, and helpers shared by the method tests.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { CausalLanguageModel } from '../../src/model/language-model.ts';
import type { TuningMethod } from '../../src/methods/types.ts';
import { reference } from '../model/fixtures.ts';

type Logits = number[][][];
interface TrainStep {
  loss_before: number;
  grad_global_l2_norm: number;
  grad_l2_norm_per_tensor: Record<string, number>;
}
export interface MethodReference {
  lora: { train_step: TrainStep & { grads: Record<string, number[][]>; loss_after: number } };
  ptuning: { loss: number; train_step: TrainStep };
  full_finetune: { train_step: TrainStep & { grads_subset: Record<string, number[]> } };
  qlora: {
    quantized_weights: string[];
    blocksize: number;
    example_codes: { tensor: string; first_128_codes: number[]; absmax: number[] };
    forward: { name: string; input_ids: number[][]; logits: Logits }[];
    train_step: { loss_before: number; grad_global_l2_norm: number };
  };
}

export const methodReference = reference as unknown as MethodReference;
export const lossBatch = reference.loss;

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/**
 * The loss on the reference batch and its gradients, as the training loop takes them: tf.variableGrads
 * with no variable list, i.e. over every trainable variable there is. Returns gradient norms by the
 * method's checkpoint names; a gradient for any variable outside the method fails the test's check.
 */
export function lossAndGradients(model: CausalLanguageModel, method: TuningMethod, training = false, dropoutSeed?: number): {
  loss: number;
  norms: Map<string, number>;
  grads: Map<string, tf.Tensor>;
  strays: string[];
} {
  const { value, grads } = tf.variableGrads(() => model.loss(lossBatch.input_ids, lossBatch.labels, method.forwardOptions(training, dropoutSeed)));
  const byVariable = new Map([...method.trainable()].map(([name, v]) => [v.name, name]));
  const named = new Map<string, tf.Tensor>();
  const strays: string[] = [];
  for (const [id, g] of Object.entries(grads)) {
    const name = byVariable.get(id);
    if (name) named.set(name, g);
    else {
      strays.push(id);
      g.dispose();
    }
  }
  const norms = new Map([...named].map(([name, g]) => [name, tf.tidy(() => tf.norm(g).arraySync() as number)]));
  const loss = value.arraySync() as number;
  value.dispose();
  return { loss, norms, grads: named, strays };
}

/** √(Σ n²) of per-tensor norms. */
export function globalNorm(norms: Iterable<number>): number {
  let sum = 0;
  for (const n of norms) sum += n * n;
  return Math.sqrt(sum);
}
