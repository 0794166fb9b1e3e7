// Training and decoding throughput on the bench config (bench/lib/bench-config.ts: 30.6 M parameters,
// batch 8 × seq 256), side by side with PyTorch running the same model (../shared/bench/torch_glm_bench.py,
// Debian's python3-torch, 2 threads) in the same invocation:
//   - training tokens/s through the real training loop (runTraining: clipping, schedule, AdamW with weight
//     decay 0.01 as the torch script's), full fine-tuning and LoRA r=8 on query_key_value, and the ratio
//     ours ÷ PyTorch's;
//   - greedy decode tokens/s (batch 1, KV cache, 16-token prompt, 128 new tokens) and its ratio;
//   - MFU: model FLOPs per second (bench/lib/flops.ts) ÷ the SGEMM rate of this run's OpenBLAS at this run's
//     thread count, for both sides.
// Steps are timed as the torch script times them: a step during which other processes used more than 5% of
// a core is "contended"; the figure is the median of ≥ --steps uncontended steps after --warmup (of all
// steps, if too few were uncontended within --max-steps). Every mode runs in its own child process, so that
// its peak RSS is its own; ours and PyTorch's alternate mode by mode.
//
// Usage: npx tsx bench/train.ts [--steps 5] [--warmup 2] [--max-steps 20] [--threads 2] [--micro-batch 8]
//          [--methods full,lora] [--no-torch] [--no-decode] [--json]
//   --threads: OpenBLAS threads for our side (PyTorch's side always uses 2, as the script sets).
//   --methods: also freeze, qlora, ptuning_v2 (ours only; the torch script has full and lora).
//   --json prints, as the last line: {"backend", "matmul", "blas", "sgemm_gflops", "config", "modes":
//     {method: {tokens_per_second, step_seconds, peak_rss_mib, model_gflops, mfu, ...}}, "decode", "torch"
//     (the torch script's RESULT objects by mode), "ratios" (ours ÷ torch by mode), "torch_mfu"}.
// OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE when it loads; both sides use the same OpenBLAS, so
// unset both in the command to measure its own kernel choice for both: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initCompute, type ComputeInfo } from '../src/compute/backend.ts';
import { loadNative } from '../src/compute/native.ts';
import { computeOptionsFromEnv } from '../src/compute/options.ts';
import { templateFor } from '../src/model/chat-templates/select.ts';
import { parameterCount, parseModelConfig } from '../src/model/config.ts';
import { GlmModel } from '../src/model/glm.ts';
import { ensureTinyModel, randomWeights } from '../src/model/tiny.ts';
import { loadTokenizer } from '../src/model/tokenizers/load.ts';
import { memoryWeights } from '../src/model/weights/checkpoint.ts';
import { createMethod } from '../src/methods/create.ts';
import type { MethodConfigInput } from '../src/methods/config.ts';
import { parseTrainingConfig } from '../src/trainer/config.ts';
import { runTraining } from '../src/trainer/loop.ts';
import { BENCH_BATCH, BENCH_CONFIG, BENCH_SEQ, randomTokens } from './lib/bench-config.ts';
import { cleanMedian, median, startMeasure, type Measured } from './lib/contention.ts';
import { measureDecode, type DecodeResult } from './lib/decode.ts';
import { sgemmRate, trainingFlopsPerToken } from './lib/flops.ts';
import { runTorch, type TorchDecodeResult, type TorchOptions, type TorchTrainResult } from './lib/torch.ts';

const METHODS: Record<string, MethodConfigInput> = {
  full: { type: 'full' },
  lora: { type: 'lora', r: 8, alpha: 16, dropout: 0, target_modules: ['query_key_value'] },
  freeze: { type: 'freeze', layers: 2 },
  qlora: { type: 'qlora', r: 8, alpha: 16, dropout: 0, target_modules: ['query_key_value'], quantization_bits: 4 },
  ptuning_v2: { type: 'ptuning_v2', pre_seq_len: 16, prefix_dropout: 0 },
};

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    'max-steps': { type: 'string', default: '20' },
    threads: { type: 'string', default: '2' },
    'micro-batch': { type: 'string', default: String(BENCH_BATCH) },
    methods: { type: 'string', default: 'full,lora' },
    torch: { type: 'boolean', default: true },
    decode: { type: 'boolean', default: true },
    json: { type: 'boolean', default: false },
    python: { type: 'string', default: '/usr/bin/python3' },
    'torch-script': { type: 'string', default: resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/bench/torch_glm_bench.py') },
    child: { type: 'string' },
  },
  allowNegative: true,
});
const steps = Number(args.steps), warmup = Number(args.warmup), maxSteps = Number(args['max-steps']);
const microBatch = Number(args['micro-batch']);

interface TrainResult {
  tokens_per_second: number;
  step_seconds: number;
  /** Median over every timed step, contended ones included. */
  step_seconds_all: number;
  clean_steps: number;
  timed_steps: number;
  peak_rss_mib: number;
  params: number;
  trainable: number;
  first_loss: number;
  last_loss: number;
}
type OurDecode = DecodeResult & { peak_rss_mib: number };

async function init(): Promise<ComputeInfo> {
  return initCompute('auto', { ...computeOptionsFromEnv(), blasThreads: Number(args.threads) });
}

function benchModel(): GlmModel {
  const config = parseModelConfig(BENCH_CONFIG, 'bench config');
  return GlmModel.fromWeights(config, memoryWeights('bench config', randomWeights(config, 1)));
}

/** One method in this process: times the steps of a real training run, stopping once enough are clean. */
async function trainChild(methodName: string): Promise<TrainResult> {
  await init();
  const dir = mkdtempSync(join(tmpdir(), 'glmtune-bench-train-'));
  try {
    const tinyDir = ensureTinyModel(join(dir, 'glm-tiny')); // its tokenizer and template drive the loop
    const tokenizer = await loadTokenizer(tinyDir);
    const template = await templateFor(tinyDir, tokenizer);
    const model = benchModel();
    const config = parseTrainingConfig({
      method: METHODS[methodName], seed: 1, batch_size: microBatch, gradient_accumulation_steps: BENCH_BATCH / microBatch,
      max_steps: warmup + maxSteps, learning_rate: 1e-4, weight_decay: 0.01, lr_scheduler_type: 'constant',
    });
    const method = createMethod(model, config.method, { seed: 1 });
    const trainable = [...method.trainable().values()].reduce((n, v) => n + v.size, 0);
    // labels = inputs, every next token predicted, as the torch script trains
    const train = randomTokens(BENCH_BATCH, BENCH_SEQ, model.config.paddedVocabSize, 1)
      .map((inputIds, b) => ({ line: b + 1, messages: [], inputIds, labels: inputIds }));
    const timed: Measured[] = [];
    const abort = new AbortController();
    let stop = startMeasure();
    const result = await runTraining({
      model, method, tokenizer, template, config, train, validation: [], signal: abort.signal,
      callbacks: {
        onProgress: (p) => {
          const m = stop();
          if (p.step > warmup) timed.push(m);
          if (timed.filter((t) => t.clean).length >= steps) abort.abort();
          stop = startMeasure();
        },
      },
    });
    method.dispose();
    const params = parameterCount(model.config);
    model.dispose();
    const step = cleanMedian(timed);
    return {
      tokens_per_second: (BENCH_BATCH * BENCH_SEQ) / step, step_seconds: step, step_seconds_all: median(timed.map((t) => t.seconds)),
      clean_steps: timed.filter((t) => t.clean).length, timed_steps: timed.length, peak_rss_mib: process.resourceUsage().maxRSS / 1024,
      params, trainable, first_loss: result.losses[0], last_loss: result.losses.at(-1)!,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function decodeChild(): Promise<OurDecode> {
  await init();
  const model = benchModel();
  const prompt = randomTokens(1, 16, model.config.paddedVocabSize, 2)[0];
  const result = await measureDecode(model, prompt, { newTokens: 128, reps: steps, maxReps: maxSteps });
  model.dispose();
  return { ...result, peak_rss_mib: process.resourceUsage().maxRSS / 1024 };
}

function runChild<T>(what: string): T {
  const forwarded = ['--steps', args.steps!, '--warmup', args.warmup!, '--max-steps', args['max-steps']!, '--threads', args.threads!, '--micro-batch', args['micro-batch']!];
  const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', what, ...forwarded], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`${what} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as T;
}

const fmt = (x: number | undefined, digits = 0): string => (x === undefined ? '–' : x.toFixed(digits));

if (args.child) {
  const [kind, method] = args.child.split(':');
  console.log(JSON.stringify(kind === 'decode' ? await decodeChild() : await trainChild(method)));
} else {
  const info = await init();
  console.log(info.message);
  const native = loadNative().kernels;
  // The machine's SGEMM rate on the product that dominates a step, [batch·seq, hidden]·[hidden, 2·ffn]
  // (dense_h_to_4h), at this run's thread count: the best of 10 runs before the modes and again after them,
  // as other work on a shared machine only ever lowers it.
  const measureSgemm = (): number | undefined =>
    native && sgemmRate(native, BENCH_BATCH * BENCH_SEQ, BENCH_CONFIG.hidden_size, 2 * BENCH_CONFIG.ffn_hidden_size, 10);
  let sgemm = measureSgemm();
  if (!native) console.log('no native SGEMM: MFU not computed');
  const torchOptions: TorchOptions = { python: args.python!, script: args['torch-script']!, steps, warmup, maxSteps };
  const shape = { layers: BENCH_CONFIG.num_layers, seq: BENCH_SEQ, attentionWidth: BENCH_CONFIG.num_attention_heads * BENCH_CONFIG.kv_channels };
  // The input embedding (a lookup) does no multiply-adds; it trains only in full fine-tuning.
  const embedding = BENCH_CONFIG.padded_vocab_size * BENCH_CONFIG.hidden_size;
  const flops = (tokensPerSecond: number, params: number, trainable: number): number =>
    tokensPerSecond * trainingFlopsPerToken(params - embedding, trainable === params ? trainable - embedding : trainable, shape);

  console.log(`\nbench config: batch ${BENCH_BATCH} × seq ${BENCH_SEQ} (micro-batches of ${microBatch}); median of ${steps} uncontended steps after ${warmup} warm-up (at most ${maxSteps} timed)`);
  console.log(`${'mode'.padEnd(11)} ${'ours tok/s'.padStart(10)} ${'s/step'.padStart(7)} ${'all'.padStart(6)} ${'clean'.padStart(5)} ${'RSS MiB'.padStart(7)} ${'GFLOPS'.padStart(6)} | ${'torch tok/s'.padStart(11)} ${'s/step'.padStart(7)} ${'clean'.padStart(5)} ${'GFLOPS'.padStart(6)} | ratio`);
  const modes: Record<string, TrainResult & { model_gflops: number; mfu?: number }> = {};
  const torch: Record<string, TorchTrainResult | TorchDecodeResult | { error: string }> = {};
  const ratios: Record<string, number> = {};
  const torchFlops: Record<string, number> = {};
  for (const m of args.methods!.split(',')) {
    if (!METHODS[m]) throw new Error(`unknown method ${m}`);
    const ours = runChild<TrainResult>(`train:${m}`);
    modes[m] = { ...ours, model_gflops: flops(ours.tokens_per_second, ours.params, ours.trainable) / 1e9 };
    let theirs: TorchTrainResult | undefined;
    if (args.torch && (m === 'full' || m === 'lora')) {
      const t = runTorch(m, torchOptions);
      torch[m] = 'result' in t ? t.result : t;
      if ('result' in t) {
        theirs = t.result;
        ratios[m] = ours.tokens_per_second / theirs.tokens_per_s;
        torchFlops[m] = flops(theirs.tokens_per_s, theirs.params_total, theirs.params_trainable);
      } else {
        console.log(`  torch ${m}: not run (${t.error})`);
      }
    }
    console.log(`${m.padEnd(11)} ${fmt(ours.tokens_per_second).padStart(10)} ${fmt(ours.step_seconds, 3).padStart(7)} ${fmt(ours.step_seconds_all, 2).padStart(6)} ${`${ours.clean_steps}/${ours.timed_steps}`.padStart(5)} ${fmt(ours.peak_rss_mib).padStart(7)} ${fmt(modes[m].model_gflops).padStart(6)} | ` +
      `${fmt(theirs?.tokens_per_s).padStart(11)} ${fmt(theirs?.median_step_s, 3).padStart(7)} ${(theirs ? `${theirs.clean_steps}` : '–').padStart(5)} ${fmt(torchFlops[m] && torchFlops[m] / 1e9).padStart(6)} | ${ratios[m] ? ratios[m].toFixed(2) : '–'}`);
  }

  let decode: OurDecode | undefined;
  if (args.decode) {
    decode = runChild<OurDecode>('decode');
    let line = `decode (batch 1, KV cache, 128 new tokens): ours ${fmt(decode.decode_tokens_per_second)} tokens/s (${decode.clean_reps}/${decode.reps} clean, prefill ${fmt(decode.prefill_seconds * 1000, 1)} ms)`;
    if (args.torch) {
      const t = runTorch('decode', torchOptions);
      torch.decode = 'result' in t ? t.result : t;
      if ('result' in t) {
        ratios.decode = decode.decode_tokens_per_second / t.result.decode_tokens_per_s;
        line += `, torch ${fmt(t.result.decode_tokens_per_s)} tokens/s (${t.result.clean_reps} clean): ratio ${ratios.decode.toFixed(2)}`;
      } else {
        line += `, torch not run (${t.error})`;
      }
    }
    console.log(line);
  }

  const after = measureSgemm();
  if (sgemm !== undefined && after !== undefined) sgemm = Math.max(sgemm, after);
  const torchMfu: Record<string, number> = {};
  if (sgemm !== undefined) {
    console.log(`\nOpenBLAS SGEMM ${BENCH_BATCH * BENCH_SEQ}×${BENCH_CONFIG.hidden_size}×${2 * BENCH_CONFIG.ffn_hidden_size}, ${info.blas?.threads} thread(s), ${info.blas?.coreType} kernels: ${sgemm.toFixed(0)} GFLOPS (best of 20, this run)`);
    const line: string[] = [];
    for (const [m, r] of Object.entries(modes)) {
      r.mfu = r.model_gflops / sgemm;
      line.push(`${m} ours ${(100 * r.mfu).toFixed(0)}%`);
      if (torchFlops[m]) {
        torchMfu[m] = torchFlops[m] / 1e9 / sgemm;
        line.push(`torch ${(100 * torchMfu[m]).toFixed(0)}%`);
      }
    }
    console.log(`MFU (model FLOPs/s ÷ that rate; per token 6·P + attention for full, 4·P + 2·trainable + attention for LoRA, P = parameters but the input embedding): ${line.join(', ')}`);
  }

  if (args.json) {
    const config = {
      hidden_size: BENCH_CONFIG.hidden_size, num_layers: BENCH_CONFIG.num_layers, num_attention_heads: BENCH_CONFIG.num_attention_heads,
      kv_channels: BENCH_CONFIG.kv_channels, multi_query_group_num: BENCH_CONFIG.multi_query_group_num, ffn_hidden_size: BENCH_CONFIG.ffn_hidden_size,
      padded_vocab_size: BENCH_CONFIG.padded_vocab_size, batch: BENCH_BATCH, micro_batch: microBatch, seq: BENCH_SEQ,
    };
    console.log(JSON.stringify({
      backend: info.backend, matmul: info.matmul, blas: info.blas, sgemm_gflops: sgemm, config, modes, decode, torch, ratios,
      torch_mfu: torchMfu,
    }));
  }
}
