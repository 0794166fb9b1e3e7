// bench/inference.ts — serving speed over HTTP: time to first token, decode tokens/s per stream, and
// total throughput with 1, 4 and 16 concurrent clients, for glm-tiny and the bench config (hidden 512,
// 8 layers, 8 heads, kv_channels 64, 2 kv groups, ffn 1376, vocab 8192; random weights written to a
// temporary MODELS_DIR). The service runs as its own process on embedded defaults, as `npm start` runs it.
// Each client sends streamed completions one after another (ignore_eos, a fixed number of new tokens;
// logprobs: 0 so that every token is its own event, whatever its text).
// Usage: npx tsx bench/inference.ts [--tokens 64] [--requests 3] [--clients 1,4,16] [--models glm-tiny,bench]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parameterCount, parseModelConfig } from '../src/model/config.ts';
import { randomWeights } from '../src/model/tiny.ts';
import { BYTE_TOKENIZER_CLASS } from '../src/model/tokenizers/byte.ts';
import { writeWeights } from '../src/model/weights/checkpoint.ts';
import { startServiceProcess } from '../test/helpers/process.ts';
import { BENCH_CONFIG } from './lib/bench-config.ts';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '64' },
    requests: { type: 'string', default: '3' },
    clients: { type: 'string', default: '1,4,16' },
    models: { type: 'string', default: 'glm-tiny,bench' },
  },
});
const NEW_TOKENS = Number(values.tokens);
const REQUESTS = Number(values.requests);
const CLIENTS = values.clients.split(',').map(Number);
const API_KEY = 'sk-glm-bench-key-0000000000000000000000';


const dataDir = mkdtempSync(join(tmpdir(), 'glmtune-bench-inference-'));
const modelsDir = join(dataDir, 'models-dir');
const benchDir = join(modelsDir, 'bench');
mkdirSync(benchDir, { recursive: true });
const benchConfig = parseModelConfig(BENCH_CONFIG, 'bench config');
writeWeights(benchDir, randomWeights(benchConfig, 1));
writeFileSync(join(benchDir, 'config.json'), JSON.stringify(BENCH_CONFIG, null, 2));
writeFileSync(join(benchDir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: BYTE_TOKENIZER_CLASS }));

interface Timing {
  /** ms from sending the request to its first token. */
  ttft: number;
  /** ms from the first token to the last. */
  decode: number;
  tokens: number;
}

/** One streamed completion; the time of each token event. */
async function complete(url: string, model: string, prompt: string): Promise<Timing> {
  const start = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt, max_tokens: NEW_TOKENS, ignore_eos: true, temperature: 1, logprobs: 0, stream: true }),
  });
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  const times: number[] = [];
  let buffered = '';
  for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    const events = buffered.split('\n\n');
    buffered = events.pop()!;
    for (const event of events) {
      const data = event.replace(/^data: /, '');
      if (data === '[DONE]') continue;
      const tokens = (JSON.parse(data) as { choices: { logprobs: { tokens: string[] } | null }[] }).choices[0]?.logprobs?.tokens.length ?? 0;
      for (let i = 0; i < tokens; i++) times.push(performance.now());
    }
  }
  if (times.length !== NEW_TOKENS) throw new Error(`expected ${NEW_TOKENS} tokens, got ${times.length}`);
  return { ttft: times[0] - start, decode: times.at(-1)! - times[0], tokens: times.length };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(url: string, model: string, clients: number): Promise<void> {
  const prompt = 'The quick brown fox jumps over the lazy dog. '.slice(0, 32); // ~34 tokens with [gMASK] sop
  const start = performance.now();
  const timings = (
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const out: Timing[] = [];
        for (let r = 0; r < REQUESTS; r++) out.push(await complete(url, model, `${c}:${r} ${prompt}`));
        return out;
      }),
    )
  ).flat();
  const seconds = (performance.now() - start) / 1000;
  const tokens = timings.reduce((sum, t) => sum + t.tokens, 0);
  const perStream = timings.map((t) => ((t.tokens - 1) / t.decode) * 1000);
  console.log(
    `  ${String(clients).padStart(2)} client${clients === 1 ? ' ' : 's'}   TTFT p50 ${median(timings.map((t) => t.ttft)).toFixed(0).padStart(5)} ms  max ${Math.max(...timings.map((t) => t.ttft)).toFixed(0).padStart(5)} ms   ` +
      `decode ${median(perStream).toFixed(0).padStart(5)} tokens/s per stream   throughput ${(tokens / seconds).toFixed(0).padStart(5)} tokens/s`,
  );
}

const service = await startServiceProcess({
  DATA_DIR: dataDir,
  MODELS_DIR: modelsDir,
  GLMTUNE_API_KEY: API_KEY,
  LOG_LEVEL: 'warn',
  RATE_LIMIT_PER_MINUTE: '100000000',
  ROLE: 'api',
});
try {
  const models = values.models.split(',');
  const listed = (await (await fetch(`${service.url}/v1/models`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as { data: { id: string; parameters: number }[] };
  console.log(`glmtune inference bench: ${NEW_TOKENS} new tokens per request (ignore_eos), ${REQUESTS} requests per client, node ${process.version}`);
  console.log(`(one inference thread, continuous batching up to INFERENCE_MAX_BATCH=16 sequences; bench config ${(parameterCount(benchConfig) / 1e6).toFixed(1)} M parameters)`);
  for (const model of models) {
    const info = listed.data.find((m) => m.id === model);
    if (!info) throw new Error(`no model ${model}`);
    console.log(`\n${model} (${(info.parameters / 1e6).toFixed(2)} M parameters)`);
    await complete(service.url, model, 'warm up'); // loads the model and the compute path
    for (const clients of CLIENTS) await measure(service.url, model, clients);
  }
} finally {
  await service.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
