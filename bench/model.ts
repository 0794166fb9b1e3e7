// Model runtime throughput: forward tokens/s (batch × seq), one loss + gradient pass, and greedy decode
// tokens/s with the KV cache (measured as the torch script measures it: bench/lib/decode.ts) and without it,
// for glm-tiny and the bench config (random weights). For the bench config the same invocation runs the decode
// mode of ../shared/bench/torch_glm_bench.py and prints the ratio of the two decode figures.
// Usage: npx tsx bench/model.ts [--repeats 5] [--threads 1] [--no-torch]
//   (forward and gradient timings are the best of --repeats; decode is the median of uncontended repetitions)
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initCompute } from '../src/compute/backend.ts';
import { computeOptionsFromEnv } from '../src/compute/options.ts';
import { parameterCount, parseModelConfig } from '../src/model/config.ts';
import { generate } from '../src/model/generate.ts';
import { GlmModel } from '../src/model/glm.ts';
import type { CausalLanguageModel } from '../src/model/language-model.ts';
import { loadModel } from '../src/model/load.ts';
import { ensureTinyModel, randomWeights } from '../src/model/tiny.ts';
import { memoryWeights } from '../src/model/weights/checkpoint.ts';
import { BENCH_BATCH, BENCH_CONFIG, BENCH_SEQ, randomTokens } from './lib/bench-config.ts';
import { measureDecode } from './lib/decode.ts';
import { runTorch } from './lib/torch.ts';

const { values: args } = parseArgs({
  options: {
    repeats: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1' },
    torch: { type: 'boolean', default: true },
    python: { type: 'string', default: '/usr/bin/python3' },
    'torch-script': { type: 'string', default: resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/bench/torch_glm_bench.py') },
  },
  allowNegative: true,
});
const repeats = Number(args.repeats);

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

/** Forward, loss + gradient of `batch` rows, decode with and without the cache; returns the cached decode tokens/s. */
async function benchModel(name: string, model: CausalLanguageModel, batch: number, seq: number): Promise<number> {
  const V = model.config.paddedVocabSize;
  const ids = randomTokens(batch, seq, V, 1);
  console.log(`\n${name}: ${(parameterCount(model.config) / 1e6).toFixed(2)} M parameters, batch ${batch} × seq ${seq}`);

  const forward = bestOf(() => {
    const { logits } = model.forward(ids);
    logits.dataSync(); // wait for the result
    logits.dispose();
  });
  console.log(`  forward               ${((batch * seq) / forward).toFixed(0).padStart(8)} tokens/s  (${(forward * 1000).toFixed(1)} ms)`);

  const vars = [...model.parameters.values()];
  for (const v of vars) v.trainable = true;
  const step = bestOf(() => {
    const { value, grads } = tf.variableGrads(() => model.loss(ids, ids), vars); // labels = inputs
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  });
  for (const v of vars) v.trainable = false;
  console.log(`  loss + gradient       ${((batch * seq) / step).toFixed(0).padStart(8)} tokens/s  (${(step * 1000).toFixed(1)} ms)`);

  const prompt = randomTokens(1, 16, V, 2)[0];
  const cached = await measureDecode(model, prompt, { newTokens: 128, reps: Math.min(repeats, 5), maxReps: 20 });
  console.log(`  decode, KV cache      ${cached.decode_tokens_per_second.toFixed(0).padStart(8)} tokens/s  (127 cached steps after a 16-token prompt; ${cached.clean_reps}/${cached.reps} uncontended)`);
  let recompute = Infinity;
  for (let i = 0; i < Math.min(repeats, 3); i++) {
    const start = performance.now();
    await generate(model, prompt, { maxNewTokens: 64, stopIds: [], useCache: false });
    recompute = Math.min(recompute, (performance.now() - start) / 1000);
  }
  console.log(`  decode, recompute     ${(64 / recompute).toFixed(0).padStart(8)} tokens/s  (64 new tokens after a 16-token prompt)`);
  return cached.decode_tokens_per_second;
}

const info = await initCompute('auto', { ...computeOptionsFromEnv(), blasThreads: Number(args.threads) });
console.log(info.message);

const dir = mkdtempSync(join(tmpdir(), 'glmtune-bench-'));
try {
  const tiny = loadModel(ensureTinyModel(join(dir, 'glm-tiny')));
  await benchModel('glm-tiny', tiny, 8, 128);
  tiny.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const benchConfig = parseModelConfig(BENCH_CONFIG, 'bench config');
const bench = GlmModel.fromWeights(benchConfig, memoryWeights('bench config', randomWeights(benchConfig, 1)));
const decode = await benchModel('bench config', bench, BENCH_BATCH, BENCH_SEQ);
bench.dispose();
if (args.torch) {
  const torch = runTorch('decode', { python: args.python!, script: args['torch-script']!, steps: 5, warmup: 1, maxSteps: 20 });
  console.log('result' in torch
    ? `\nPyTorch decode (bench config, 2 threads): ${torch.result.decode_tokens_per_s.toFixed(0)} tokens/s; ours ÷ PyTorch: ${(decode / torch.result.decode_tokens_per_s).toFixed(2)}`
    : `\nPyTorch decode not run: ${torch.error}`);
}
