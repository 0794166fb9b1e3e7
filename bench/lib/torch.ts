// Runs one mode of ../shared/bench/torch_glm_bench.py (Debian's python3-torch) and returns its RESULT line.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface TorchTrainResult {
  mode: 'full' | 'lora';
  params_total: number;
  params_trainable: number;
  median_step_s: number;
  tokens_per_s: number;
  median_step_all_s: number;
  clean_steps: number;
  peak_rss_mib: number;
  threads: number;
}
export interface TorchDecodeResult {
  mode: 'decode';
  decode_tokens_per_s: number;
  end_to_end_new_tokens_per_s: number;
  prefill_s: number;
  clean_reps: number;
  peak_rss_mib: number;
  threads: number;
}

export interface TorchOptions {
  python: string;
  script: string;
  steps: number;
  warmup: number;
  maxSteps: number;
}

/** The mode's result, or why it could not run (no torch, no script, a failure). */
export function runTorch<M extends 'full' | 'lora' | 'decode'>(mode: M, o: TorchOptions):
  { result: M extends 'decode' ? TorchDecodeResult : TorchTrainResult } | { error: string } {
  if (!existsSync(o.script)) return { error: `${o.script} not found` };
  const run = spawnSync(o.python, [o.script, '--mode', mode, '--steps', String(o.steps), '--warmup', String(o.warmup), '--max-steps', String(o.maxSteps)],
    { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.error) return { error: `${o.python}: ${run.error.message}` };
  const line = run.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
  if (run.status !== 0 || !line) return { error: `exit ${run.status}: ${(run.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
  return { result: JSON.parse(line.slice('RESULT '.length)) };
}
