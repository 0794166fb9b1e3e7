// Training throughput per method through the real training loop (runTraining: accumulation, clipping,
// schedule, AdamW): step time and training tokens/s (median of the steps after warm-up) and peak RSS,
// on the bench config (hidden 512, 8 layers, 8 heads, kv_channels 64, 2 KV groups, ffn 1376, vocab
// 8192; batch 8 × seq 256 as 4 accumulated micro-batches of 2 rows: the wasm heap stops at 4 GiB, about
// 0.6 GiB of activations per 256-token row) and on glm-tiny (batch 8 × seq 128 in one pass).
// Each (model, method) runs in a child process, so that its peak RSS is its own.
// Usage: npx tsx bench/train.ts [--steps N] [--warmup N] [--methods full,lora,...] [--json]
//   --json prints, as the last line: {"backend", "config", "modes": {method: {tokens_per_second,
//   step_seconds, peak_rss_mib}}, "glm_tiny": {"config", "modes"}}
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initCompute } from '../src/compute/backend.ts';
import { templateFor } from '../src/model/chat-templates/select.ts';
import { parameterCount, parseModelConfig } from '../src/model/config.ts';
import { GlmModel } from '../src/model/glm.ts';
import type { CausalLanguageModel } from '../src/model/language-model.ts';
import { loadModel } from '../src/model/load.ts';
import { GLM_TINY_CONFIG, ensureTinyModel, randomWeights } from '../src/model/tiny.ts';
import { loadTokenizer } from '../src/model/tokenizers/load.ts';
import { memoryWeights } from '../src/model/weights/checkpoint.ts';
import { createMethod } from '../src/methods/create.ts';
import type { MethodConfigInput } from '../src/methods/config.ts';
import { parseTrainingConfig } from '../src/trainer/config.ts';
import type { EncodedExample } from '../src/trainer/data/encode.ts';
import { runTraining } from '../src/trainer/loop.ts';

const BENCH_CONFIG = { ...GLM_TINY_CONFIG, num_layers: 8, hidden_size: 512, num_attention_heads: 8, kv_channels: 64, multi_query_group_num: 2, ffn_hidden_size: 1376, padded_vocab_size: 8192, seq_length: 256 };

const METHODS: Record<string, MethodConfigInput> = {
  full: { type: 'full' },
  lora: { type: 'lora', r: 8, alpha: 16, dropout: 0, target_modules: ['query_key_value'] },
  freeze: { type: 'freeze', layers: 2 },
  qlora: { type: 'qlora', r: 8, alpha: 16, dropout: 0, target_modules: ['query_key_value'], quantization_bits: 4 },
  ptuning_v2: { type: 'ptuning_v2', pre_seq_len: 16, prefix_dropout: 0 },
};

interface Workload {
  name: 'bench' | 'glm-tiny';
  batch: number;
  microBatch: number;
  seq: number;
}
const WORKLOADS: Record<Workload['name'], Workload> = {
  bench: { name: 'bench', batch: 8, microBatch: 2, seq: 256 },
  'glm-tiny': { name: 'glm-tiny', batch: 8, microBatch: 8, seq: 128 },
};

interface ModeResult {
  tokens_per_second: number;
  step_seconds: number;
  peak_rss_mib: number;
}

const { values: args } = parseArgs({
  options: { steps: { type: 'string', default: '5' }, warmup: { type: 'string', default: '2' }, methods: { type: 'string' }, json: { type: 'boolean' }, child: { type: 'string' } },
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Synthetic examples: `seq` ids each, the last three quarters as targets (as bench/model.ts). */
function examples(count: number, seq: number, vocab: number): EncodedExample[] {
  return Array.from({ length: count }, (_, b) => {
    const inputIds = Array.from({ length: seq }, (_, t) => 3 + ((b * 131 + t * 17) % (vocab - 3)));
    return { line: b + 1, messages: [], inputIds, labels: inputIds.map((id, t) => (t < seq / 4 ? -100 : id)) };
  });
}

/** One (workload, method) in this process: times the steps of a real training run. */
async function child(workloadName: Workload['name'], methodName: string): Promise<ModeResult & { params: number }> {
  await initCompute();
  const w = WORKLOADS[workloadName];
  const dir = mkdtempSync(join(tmpdir(), 'glmtune-bench-train-'));
  try {
    const tinyDir = ensureTinyModel(join(dir, 'glm-tiny'));
    const tokenizer = await loadTokenizer(tinyDir);
    const template = await templateFor(tinyDir, tokenizer);
    let model: CausalLanguageModel;
    if (w.name === 'bench') {
      const config = parseModelConfig(BENCH_CONFIG, 'bench config');
      model = GlmModel.fromWeights(config, memoryWeights('bench config', randomWeights(config, 1)));
    } else {
      model = loadModel(tinyDir);
    }
    const warmup = Number(args.warmup);
    const steps = Number(args.steps);
    const config = parseTrainingConfig({
      method: METHODS[methodName], seed: 1, batch_size: w.microBatch, gradient_accumulation_steps: w.batch / w.microBatch,
      max_steps: warmup + steps, learning_rate: 1e-4, lr_scheduler_type: 'constant',
    });
    const method = createMethod(model, config.method, { seed: 1 });
    const times: number[] = [];
    let last = performance.now();
    await runTraining({
      model, method, tokenizer, template, config, train: examples(w.batch, w.seq, model.config.paddedVocabSize), validation: [],
      callbacks: {
        onProgress: (p) => {
          const now = performance.now();
          if (p.step > warmup) times.push((now - last) / 1000);
          last = now;
        },
      },
    });
    method.dispose();
    const params = parameterCount(model.config);
    model.dispose();
    const step = median(times);
    return { tokens_per_second: (w.batch * w.seq) / step, step_seconds: step, peak_rss_mib: process.resourceUsage().maxRSS / 1024, params };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args.child) {
  const [workload, method] = args.child.split(':');
  console.log(JSON.stringify(await child(workload as Workload['name'], method)));
} else {
  const info = await initCompute();
  console.log(info.message);
  const methods = args.methods?.split(',') ?? Object.keys(METHODS);
  const report: Record<string, { config: Record<string, unknown>; modes: Record<string, ModeResult> }> = {};
  for (const w of [WORKLOADS.bench, WORKLOADS['glm-tiny']]) {
    const c = w.name === 'bench' ? BENCH_CONFIG : GLM_TINY_CONFIG;
    const config = {
      hidden_size: c.hidden_size, num_layers: c.num_layers, num_attention_heads: c.num_attention_heads, kv_channels: c.kv_channels,
      multi_query_group_num: c.multi_query_group_num, ffn_hidden_size: c.ffn_hidden_size, padded_vocab_size: c.padded_vocab_size,
      batch: w.batch, micro_batch: w.microBatch, seq: w.seq,
    };
    report[w.name] = { config, modes: {} };
    console.log(`\n${w.name}: batch ${w.batch} × seq ${w.seq} (micro-batches of ${w.microBatch}), median of ${args.steps} steps after ${args.warmup} warm-up`);
    for (const m of methods) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/train.ts', '--child', `${w.name}:${m}`, '--steps', args.steps!, '--warmup', args.warmup!], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (run.status !== 0) throw new Error(`${w.name} ${m} failed:\n${run.stderr}`);
      const { params, ...result } = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as ModeResult & { params: number };
      report[w.name].modes[m] = result;
      console.log(`  ${m.padEnd(11)} ${result.tokens_per_second.toFixed(0).padStart(7)} tokens/s  ${result.step_seconds.toFixed(3).padStart(7)} s/step  peak RSS ${result.peak_rss_mib.toFixed(0).padStart(5)} MiB  (${(params / 1e6).toFixed(2)} M parameters)`);
    }
  }
  if (args.json) console.log(JSON.stringify({ backend: info.backend, matmul: info.matmul, config: report.bench.config, modes: report.bench.modes, glm_tiny: report['glm-tiny'] }));
}
