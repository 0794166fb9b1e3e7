// Checks shared by the native and the npm-only matmul tests: whatever kernels are registered for a backend,
// BatchMatMul and _FusedMatMul must compute the float64 reference, and gradients must equal those of the
// stock `cpu` kernels (which are right wherever the batch dims are equal).
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { maxAbsDiff, randomValues, referenceBroadcast, referenceMatMul, transposeLast2 } from './reference.ts';

/** Logical (untransposed) operand shapes: a [...batchA, M, K], b [...batchB, K, N]. */
export const MATMUL_CASES: { name: string; a: number[]; b: number[] }[] = [
  { name: '2-D', a: [5, 7], b: [7, 3] },
  { name: 'equal batches', a: [4, 5, 7], b: [4, 7, 3] },
  { name: 'b shared by every batch (one folded GEMM)', a: [4, 5, 7], b: [7, 3] },
  { name: 'a shared by every batch', a: [5, 7], b: [4, 7, 3] },
  { name: 'size-1 batch of a against 4', a: [1, 5, 7], b: [4, 7, 3] },
  { name: 'leading dims broadcast', a: [2, 3, 5, 7], b: [3, 7, 3] },
  { name: 'inner dim broadcast', a: [2, 3, 5, 7], b: [2, 1, 7, 3] },
  { name: 'two-sided broadcast', a: [2, 1, 5, 7], b: [1, 3, 7, 3] },
  { name: 'two-sided broadcast, rank 5', a: [3, 1, 2, 4, 6], b: [1, 4, 1, 6, 2] },
  { name: 'larger than a BLAS block', a: [2, 67, 130], b: [130, 33] },
  { name: 'attention scores shape', a: [2, 2, 8, 16], b: [2, 2, 16, 8] },
  { name: 'one row against a wide shared weight (decoding)', a: [1, 7], b: [7, 40] },
  { name: 'a few batched rows against a wide shared weight', a: [2, 1, 7], b: [7, 40] },
];

export const TRANSPOSES: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

/** The operand as stored for a given transpose flag: the logical matrix with its last two dims swapped. */
function operand(values: Float32Array, shape: number[], transpose: boolean): tf.Tensor {
  const stored = transpose ? transposeLast2(values, shape) : { values, shape };
  return tf.tensor(stored.values, stored.shape);
}

const size = (shape: number[]): number => shape.reduce((p, q) => p * q, 1);

export function checkMatMulCases(): void {
  MATMUL_CASES.forEach(({ name, a: aShape, b: bShape }, i) => {
    const a = randomValues(size(aShape), 100 + i), b = randomValues(size(bShape), 200 + i);
    const expected = referenceMatMul(a, aShape, b, bShape);
    for (const [ta, tb] of TRANSPOSES) {
      tf.tidy(() => {
        const out = tf.matMul(operand(a, aShape, ta), operand(b, bShape, tb), ta, tb);
        assert.deepEqual(out.shape, expected.shape, `${name} ta=${ta} tb=${tb}: shape`);
        const err = maxAbsDiff(out.dataSync(), expected.values);
        assert.ok(err < 1e-4, `${name} ta=${ta} tb=${tb}: max |error| ${err}`);
      });
    }
  });
}

export function checkEmptyProducts(): void {
  tf.tidy(() => {
    // k = 0: an empty sum is 0 (BLAS cannot be asked for it)
    const zeros = tf.matMul(tf.zeros([2, 3, 0]), tf.zeros([2, 0, 4]));
    assert.deepEqual(zeros.shape, [2, 3, 4]);
    assert.deepEqual(Array.from(zeros.dataSync()), new Array(24).fill(0));
    assert.deepEqual(tf.matMul(tf.zeros([0, 5]), tf.ones([5, 2])).shape, [0, 2]);
  });
}

type Activation = 'linear' | 'relu' | 'relu6' | 'elu' | 'leakyrelu' | 'prelu' | 'sigmoid';

const ACTIVATIONS: Record<Activation, (x: number, w: number) => number> = {
  linear: (x) => x,
  relu: (x) => Math.max(x, 0),
  relu6: (x) => Math.min(Math.max(x, 0), 6),
  elu: (x) => (x >= 0 ? x : Math.exp(x) - 1),
  leakyrelu: (x, alpha) => (x < 0 ? alpha * x : x),
  prelu: (x, w) => (x < 0 ? w * x : x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};

export const FUSED_CASES: { name: string; a: number[]; b: number[]; bias?: number[]; activation: Activation; prelu?: number[] }[] = [
  { name: 'row bias, relu', a: [5, 7], b: [7, 3], bias: [3], activation: 'relu' },
  { name: 'batched with row bias (stock wasm adds it to batch 0 only)', a: [2, 5, 7], b: [2, 7, 3], bias: [3], activation: 'linear' },
  { name: 'matrix bias, sigmoid', a: [2, 5, 7], b: [7, 3], bias: [5, 3], activation: 'sigmoid' },
  { name: 'column bias [5,1], elu', a: [2, 5, 7], b: [2, 7, 3], bias: [5, 1], activation: 'elu' },
  { name: 'leading-dim broadcast, bias [1,3], relu6', a: [2, 3, 5, 7], b: [3, 7, 3], bias: [1, 3], activation: 'relu6' },
  { name: 'full-shape bias, leakyrelu', a: [2, 3, 5, 7], b: [3, 7, 3], bias: [2, 3, 5, 3], activation: 'leakyrelu' },
  { name: 'no bias, prelu', a: [2, 5, 7], b: [7, 3], activation: 'prelu', prelu: [3] },
  { name: 'one row against a wide weight, row bias, relu', a: [1, 7], b: [7, 40], bias: [40], activation: 'relu' },
];

export function checkFusedCases(): void {
  FUSED_CASES.forEach(({ name, a: aShape, b: bShape, bias: biasShape, activation, prelu: preluShape }, i) => {
    const a = randomValues(size(aShape), 300 + i), b = randomValues(size(bShape), 400 + i);
    const product = referenceMatMul(a, aShape, b, bShape);
    const bias = biasShape && randomValues(size(biasShape), 500 + i);
    const withBias = bias ? referenceBroadcast(product.values, product.shape, bias, biasShape!, (x, y) => x + y) : product.values;
    const preluWeights = preluShape ? randomValues(size(preluShape), 600 + i).map(Math.abs) : undefined;
    const alpha = 0.15;
    const expected = preluWeights
      ? referenceBroadcast(withBias, product.shape, preluWeights, preluShape!, ACTIVATIONS.prelu)
      : withBias.map((x) => ACTIVATIONS[activation](x, alpha));
    for (const [ta, tb] of TRANSPOSES) {
      tf.tidy(() => {
        const out = tf.fused.matMul({
          a: operand(a, aShape, ta), b: operand(b, bShape, tb), transposeA: ta, transposeB: tb,
          bias: bias && tf.tensor(bias, biasShape), activation, leakyreluAlpha: alpha,
          preluActivationWeights: preluWeights && tf.tensor(preluWeights, preluShape),
        });
        assert.deepEqual(out.shape, product.shape, `${name} ta=${ta} tb=${tb}: shape`);
        const err = maxAbsDiff(out.dataSync(), expected);
        assert.ok(err < 1e-4, `${name} ta=${ta} tb=${tb}: max |error| ${err}`);
      });
    }
  });
}

/** Gradients of a scalar through matMul / fused matMul, on the active backend and on stock `cpu`. */
export async function checkGradientsAgainstStockCpu(backend: string): Promise<void> {
  const cases: { a: number[]; b: number[]; fused: boolean }[] = [
    { a: [6, 9], b: [9, 4], fused: false },
    { a: [3, 6, 9], b: [3, 9, 4], fused: false },
    { a: [3, 6, 9], b: [3, 9, 4], fused: true },
  ];
  const grads = (aShape: number[], bShape: number[], fused: boolean, ta: boolean, tb: boolean, seed: number): Float32Array[] =>
    tf.tidy(() => {
      const a = operand(randomValues(size(aShape), seed), aShape, ta);
      const b = operand(randomValues(size(bShape), seed + 1), bShape, tb);
      const outShape = [...aShape.slice(0, -1), bShape[bShape.length - 1]];
      const w = tf.tensor(randomValues(size(outShape), seed + 2), outShape);
      const bias = tf.tensor(randomValues(outShape[outShape.length - 1], seed + 3));
      const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor): tf.Scalar => {
        // linear: under a gradient tape tf.fused.matMul fuses nothing else into the kernel
        const out = fused
          ? tf.fused.matMul({ a: x, b: y, transposeA: ta, transposeB: tb, bias: z })
          : tf.matMul(x, y, ta, tb).add(z);
        return tf.sum(tf.mul(out, w));
      };
      return tf.grads(f)([a, b, bias]).map((g) => g.dataSync() as Float32Array);
    });
  let seed = 700;
  for (const { a, b, fused } of cases) {
    for (const [ta, tb] of TRANSPOSES) {
      seed += 10;
      await tf.setBackend(backend);
      const ours = grads(a, b, fused, ta, tb, seed);
      await tf.setBackend('cpu');
      const stock = grads(a, b, fused, ta, tb, seed);
      await tf.setBackend(backend);
      ours.forEach((g, i) => {
        const err = maxAbsDiff(g, stock[i]);
        assert.ok(err < 1e-4, `a [${a}] b [${b}] fused=${fused} ta=${ta} tb=${tb}: gradient ${i} differs by ${err}`);
      });
    }
  }
}

/**
 * Five Adam steps of a tiny attention model (embedding, batched QKᵀ with a transposed operand, softmax,
 * projection, cross-entropy): every matmul kind and the embedding gradient. Returns the losses.
 */
export function trainingLosses(): number[] {
  const vocab = 16, dim = 8, batch = 2, seq = 5;
  const ids = tf.tensor1d([1, 4, 9, 3, 2, 7, 7, 0, 15, 8], 'int32');
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([4, 9, 3, 2, 1, 7, 0, 15, 8, 8], 'int32'), vocab));
  const init = (n: number, shape: number[], seed: number, scale: number): tf.Variable =>
    tf.tidy(() => tf.variable(tf.tensor(randomValues(n, seed), shape).mul(scale)));
  const weights = {
    embedding: init(vocab * dim, [vocab, dim], 1, 0.5),
    qkv: init(dim * 3 * dim, [dim, 3 * dim], 2, 0.3),
    out: init(dim * vocab, [dim, vocab], 3, 0.3),
  };
  const optimizer = tf.train.adam(0.05);
  const losses: number[] = [];
  for (let step = 0; step < 5; step++) {
    const loss = optimizer.minimize(() => {
      const x = tf.gather(weights.embedding, ids); // [B·T, D]
      const [q, k, v] = tf.split(tf.matMul(x, weights.qkv).reshape([batch, seq, 3 * dim]), 3, 2);
      const scores = tf.matMul(q, k, false, true).div(Math.sqrt(dim)); // [B, T, T]
      const attended = tf.matMul(tf.softmax(scores), v).reshape([batch * seq, dim]);
      const logits = tf.matMul(attended.add(x), weights.out);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    }, true)!;
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  }
  optimizer.dispose();
  tf.dispose([ids, labels, ...Object.values(weights)]);
  return losses;
}
