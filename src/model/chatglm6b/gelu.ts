// THUDM's gelu_impl for ChatGLM-6B: the tanh approximation 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²)))
// (erf-GeLU moves the logits by 1.5e-3). One tf.customGrad node: the tape keeps x alone and the
// backward pass computes the derivative from it, instead of keeping the composite's five [tokens, inner]
// intermediates per layer (inner = 16384 in the real model).
import * as tf from '@tensorflow/tfjs';

const SQRT_2_OVER_PI = 0.7978845608028654;
const CUBIC = 0.044715;

/** tanh(√(2/π)·x·(1 + 0.044715·x²)) */
function tanhTerm(x: tf.Tensor): tf.Tensor {
  return tf.tanh(tf.mul(tf.mul(x, tf.add(tf.mul(tf.square(x), CUBIC), 1)), SQRT_2_OVER_PI));
}

export const gelu = tf.customGrad((...args) => {
  const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tanhTerm(x), 1))),
    // d/dx = 0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²), t = tanhTerm(x)
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [input] = saved;
        const t = tanhTerm(input);
        const inner = tf.mul(tf.add(tf.mul(tf.square(input), 3 * CUBIC), 1), SQRT_2_OVER_PI);
        const slope = tf.add(tf.add(t, 1), tf.mul(tf.mul(input, tf.sub(1, tf.square(t))), inner));
        return tf.mul(dy, tf.mul(slope, 0.5));
      }),
  };
}) as (x: tf.Tensor2D) => tf.Tensor2D;
