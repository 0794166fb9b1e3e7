// AdamW with torch.optim.AdamW's semantics (amsgrad off): decoupled weight decay p ← p·(1 − lr·wd)
// before the Adam update, bias-corrected moments, eps added after the bias-corrected square root:
//   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps)
// Decay applies only where `decays(name)` says (no decay on norms and biases, as HF's Trainer).
// The step count is shared by all parameters (torch keeps one per parameter; they differ only for a
// parameter that once had no gradient).
import * as tf from '@tensorflow/tfjs';
import { adamwUpdate } from '../../compute/ops/adamw-update.ts';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

interface Moments {
  m: tf.Variable;
  v: tf.Variable;
}

export class AdamW {
  private readonly moments = new Map<string, Moments>();
  private steps = 0;

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    private readonly settings: AdamWSettings,
    private readonly decays: (name: string) => boolean,
  ) {
    // in a scope, so that the zero tensors are released once the variables hold their data
    for (const [name, p] of params) this.moments.set(name, tf.tidy(() => ({ m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) })));
  }

  /** Optimizer steps taken (torch's state['step']). */
  get stepCount(): number {
    return this.steps;
  }

  /** One update of every parameter from its gradient (keyed like the parameters) at learning rate lr. */
  step(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.settings;
    this.steps++;
    const stepSize = lr / (1 - beta1 ** this.steps);
    const correction2Sqrt = Math.sqrt(1 - beta2 ** this.steps);
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (!g) continue; // torch skips a parameter whose grad is None (it did not affect the loss)
      const { m, v } = this.moments.get(name)!;
      tf.tidy(() => {
        const decay = this.decays(name) && weightDecay > 0 ? 1 - lr * weightDecay : 1;
        const [p1, m1, v1] = adamwUpdate(p, m, v, g, { beta1, beta2, eps, stepSize, correction2Sqrt, decay });
        p.assign(p1);
        m.assign(m1);
        v.assign(v1);
      });
    }
  }

  /** The moments under `<name>.exp_avg` / `<name>.exp_avg_sq` (torch's state names), for a checkpoint. */
  stateTensors(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [name, { m, v }] of this.moments) {
      out.set(`${name}.exp_avg`, m);
      out.set(`${name}.exp_avg_sq`, v);
    }
    return out;
  }

  /** Restores the state saved by stateTensors (values by name) and the step count. */
  load(steps: number, values: (name: string) => Float32Array): void {
    for (const [name, { m, v }] of this.moments) {
      tf.tidy(() => {
        m.assign(tf.tensor(values(`${name}.exp_avg`), m.shape));
        v.assign(tf.tensor(values(`${name}.exp_avg_sq`), v.shape));
      });
    }
    this.steps = steps;
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
  }
}
