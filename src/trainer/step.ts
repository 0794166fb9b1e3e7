// The gradient of one optimizer step, over its micro-batches. The loss of a step is the mean over
// every target token of all its micro-batches, so each micro-batch's mean loss is weighted by its
// share of the targets (targets_i / Σ targets) before its gradient is added: accumulating 4 batches
// of 2 gives the gradient of one batch of 8. One micro-batch's activations live at a time; its
// gradients are added into the running sums and disposed.
import * as tf from '@tensorflow/tfjs';
import type { CausalLanguageModel } from '../model/language-model.ts';
import type { TuningMethod } from '../methods/types.ts';
import type { Batch } from './data/batches.ts';

/** What a step minimises, per micro-batch. */
export interface Objective {
  /**
   * Computed before the batch's gradient pass, outside the tape, so that the tape keeps none of its
   * intermediates (distillation: the teacher's logits). Disposed after the pass.
   */
  prepare?(batch: Batch): tf.Tensor;
  /** The batch's mean loss over its targets, built inside the tape. */
  loss(batch: Batch, microBatch: number, prepared?: tf.Tensor): tf.Scalar;
}

export interface StepGradients {
  /** Summed gradients, keyed like the parameters. The caller disposes them. */
  grads: Map<string, tf.Tensor>;
  /** Token-weighted mean loss of the step. */
  loss: number;
  /** Real tokens and target tokens the step trained on. */
  tokens: number;
  targets: number;
}

export function accumulateGradients(params: ReadonlyMap<string, tf.Variable>, batches: readonly Batch[], objective: Objective): StepGradients {
  const targets = batches.reduce((n, b) => n + b.targets, 0);
  const tokens = batches.reduce((n, b) => n + b.tokens, 0);
  const nameOf = new Map([...params].map(([name, v]) => [v.name, name]));
  const variables = [...params.values()];
  const sums = new Map<string, tf.Tensor>();
  let loss = 0;
  batches.forEach((batch, i) => {
    if (batch.targets === 0) return; // nothing to learn from (all its targets were at position 0)
    const share = batch.targets / targets;
    const prepared = objective.prepare?.(batch);
    const { value, grads } = tf.variableGrads(() => tf.mul(objective.loss(batch, i, prepared), share) as tf.Scalar, variables);
    prepared?.dispose();
    loss += value.dataSync()[0];
    value.dispose();
    for (const [varName, g] of Object.entries(grads)) {
      const name = nameOf.get(varName)!;
      const previous = sums.get(name);
      if (previous) {
        sums.set(name, tf.add(previous, g));
        previous.dispose();
        g.dispose();
      } else {
        sums.set(name, g);
      }
    }
  });
  return { grads: sums, loss, tokens, targets };
}

/** The causal-LM objective: the model's token-weighted cross-entropy with the method applied in training mode. */
export function causalLmObjective(model: CausalLanguageModel, method: TuningMethod, dropoutSeed: (microBatch: number) => number): Objective {
  return { loss: (batch, microBatch) => model.loss(batch.inputIds, batch.labels, method.forwardOptions(true, dropoutSeed(microBatch))) };
}
