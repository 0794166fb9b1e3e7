// THUDM's gelu_impl for ChatGLM-6B: the tanh approximation 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²)))
// (erf-GeLU moves the logits by 1.5e-3), computed as the identical x·sigmoid(2u), u = √(2/π)·x·(1 +
// 0.044715·x²), because 0.5·(1 + tanh(u)) = sigmoid(2u) and the wasm Sigmoid kernel is several times
// faster than its Tanh. One tf.customGrad node: the tape keeps x alone and the backward pass computes the
// derivative from it, instead of keeping the composite's [tokens, inner] intermediates per layer
// (inner = 16384 in the real model).
import * as tf from '@tensorflow/tfjs';

const SQRT_2_OVER_PI = 0.7978845608028654;
const CUBIC = 0.044715;

/** sigmoid(2u) = 0.5·(1 + tanh(u)), u = √(2/π)·x·(1 + 0.044715·x²) */
function gate(x: tf.Tensor): tf.Tensor {
  return tf.sigmoid(tf.mul(tf.mul(x, tf.add(tf.mul(tf.square(x), CUBIC), 1)), 2 * SQRT_2_OVER_PI));
}

export const gelu = tf.customGrad((...args) => {
  const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.tidy(() => tf.mul(x, gate(x))),
    // d/dx x·s = s + x·s·(1 − s)·2u', s = sigmoid(2u), u' = √(2/π)·(1 + 3·0.044715·x²)
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [input] = saved;
        const s = gate(input);
        const du = tf.mul(tf.add(tf.mul(tf.square(input), 3 * CUBIC), 1), 2 * SQRT_2_OVER_PI);
        return tf.mul(dy, tf.add(s, tf.mul(tf.mul(input, tf.mul(s, tf.sub(1, s))), du)));
      }),
  };
}) as (x: tf.Tensor2D) => tf.Tensor2D;
