// Model runtime throughput: forward tokens/s (batch × seq), one loss + gradient step, and decode
// tokens/s with and without the KV cache, for glm-tiny and the "bench" config (random weights).
// Usage: npx tsx bench/model.ts [--repeats N]   (timings are the best of N; the machine is shared)
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCompute } from '../src/compute/backend.ts';
import { parameterCount, parseModelConfig } from '../src/model/config.ts';
import { generate } from '../src/model/generate.ts';
import { GlmModel } from '../src/model/glm.ts';
import type { CausalLanguageModel } from '../src/model/language-model.ts';
import { loadModel } from '../src/model/load.ts';
import { GLM_TINY_CONFIG, ensureTinyModel, randomWeights } from '../src/model/tiny.ts';
import { memoryWeights } from '../src/model/weights/checkpoint.ts';

const repeatsFlag = process.argv.indexOf('--repeats');
const repeats = repeatsFlag > 0 ? Number(process.argv[repeatsFlag + 1]) : 5;

const BENCH_CONFIG = {
  ...GLM_TINY_CONFIG,
  num_layers: 8,
  hidden_size: 512,
  num_attention_heads: 8,
  kv_channels: 64,
  multi_query_group_num: 2,
  ffn_hidden_size: 1376,
  padded_vocab_size: 8192,
  seq_length: 256,
};

/** Best wall time of `repeats` runs of fn (after one warm-up run), in seconds. */
function bestOf(fn: () => void): number {
  fn();
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    fn();
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  return best;
}

async function bestOfAsync(fn: () => Promise<void>, runs: number): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  return best;
}

function tokenBatch(batch: number, seq: number, vocab: number): number[][] {
  return Array.from({ length: batch }, (_, b) => Array.from({ length: seq }, (_, t) => 3 + ((b * 131 + t * 17) % (vocab - 3))));
}

/**
 * `trainBatch` rows go through loss + gradient: TF.js keeps every intermediate of the forward and
 * backward passes until the gradients are done, and the wasm heap stops at 4 GiB (≈0.6 GiB per
 * 256-token row of the bench config), so larger batches are trained as accumulated micro-batches.
 */
async function benchModel(name: string, model: CausalLanguageModel, batch: number, seq: number, trainBatch: number): Promise<void> {
  const V = model.config.paddedVocabSize;
  const ids = tokenBatch(batch, seq, V);
  console.log(`\n${name}: ${(parameterCount(model.config) / 1e6).toFixed(2)} M parameters, batch ${batch} × seq ${seq}`);

  const forward = bestOf(() => {
    const { logits } = model.forward(ids);
    logits.dataSync(); // wait for the result
    logits.dispose();
  });
  console.log(`  forward               ${((batch * seq) / forward).toFixed(0).padStart(8)} tokens/s  (${(forward * 1000).toFixed(1)} ms)`);

  const trainIds = ids.slice(0, trainBatch);
  const labels = trainIds.map((row) => row.map((id, t) => (t < seq / 4 ? -100 : id))); // a prompt quarter is not predicted
  const vars = [...model.parameters.values()];
  for (const v of vars) v.trainable = true;
  const step = bestOf(() => {
    const { value, grads } = tf.variableGrads(() => model.loss(trainIds, labels), vars);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  });
  for (const v of vars) v.trainable = false;
  console.log(`  loss + gradient       ${((trainBatch * seq) / step).toFixed(0).padStart(8)} tokens/s  (${(step * 1000).toFixed(1)} ms for batch ${trainBatch} × ${seq})`);

  const prompt = tokenBatch(1, 16, V)[0];
  for (const [label, useCache, newTokens] of [['decode, KV cache', true, 128], ['decode, recompute', false, 64]] as const) {
    const seconds = await bestOfAsync(async () => {
      await generate(model, prompt, { maxNewTokens: newTokens, stopIds: [], useCache });
    }, Math.min(repeats, 3));
    console.log(`  ${label.padEnd(21)} ${(newTokens / seconds).toFixed(0).padStart(8)} tokens/s  (${newTokens} new tokens after a 16-token prompt)`);
  }
}

const info = await initCompute();
console.log(info.message);
console.log(`backend ${tf.getBackend()}, best of ${repeats}`);

const dir = mkdtempSync(join(tmpdir(), 'glmtune-bench-'));
try {
  const tiny = loadModel(ensureTinyModel(join(dir, 'glm-tiny')));
  await benchModel('glm-tiny', tiny, 8, 128, 8);
  tiny.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const benchConfig = parseModelConfig(BENCH_CONFIG, 'bench config');
const bench = GlmModel.fromWeights(benchConfig, memoryWeights('bench config', randomWeights(benchConfig, 1)));
await benchModel('bench config', bench, 8, 256, 2);
bench.dispose();
