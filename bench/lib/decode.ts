// Greedy decoding throughput as the torch script measures it: batch 1, KV cache, a 16-token prompt and 128
// new tokens; decode tokens/s = the 127 cached single-token steps ÷ their time (the first new token comes
// from the prompt's pass, the prefill). One warm-up repetition, then repetitions until `reps` clean ones.
import { generate } from '../../src/model/generate.ts';
import type { CausalLanguageModel } from '../../src/model/language-model.ts';
import { cleanMedian, startMeasure, type Measured } from './contention.ts';

export interface DecodeResult {
  decode_tokens_per_second: number;
  end_to_end_tokens_per_second: number;
  prefill_seconds: number;
  reps: number;
  clean_reps: number;
}

export async function measureDecode(model: CausalLanguageModel, prompt: readonly number[], o: { newTokens: number; reps: number; maxReps: number }): Promise<DecodeResult> {
  const decodes: Measured[] = [];
  const prefills: Measured[] = [];
  for (let r = 0; r <= o.maxReps && decodes.filter((d) => d.clean).length < o.reps; r++) {
    const stop = startMeasure();
    const started = performance.now();
    let first = 0;
    await generate(model, prompt, { maxNewTokens: o.newTokens, stopIds: [], onToken: () => { first ||= performance.now(); } });
    const rep = stop();
    if (r === 0) continue; // warm-up
    const prefill = (first - started) / 1000;
    prefills.push({ ...rep, seconds: prefill });
    decodes.push({ ...rep, seconds: rep.seconds - prefill });
  }
  const decode = cleanMedian(decodes), prefill = cleanMedian(prefills);
  return {
    decode_tokens_per_second: (o.newTokens - 1) / decode,
    end_to_end_tokens_per_second: o.newTokens / (prefill + decode),
    prefill_seconds: prefill,
    reps: decodes.length,
    clean_reps: decodes.filter((d) => d.clean).length,
  };
}
