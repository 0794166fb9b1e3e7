// The workload that bench/train.ts and bench/model.ts measure and that ../shared/bench/torch_glm_bench.py
// runs in PyTorch: a ChatGLM2/3-architecture model of 30.6 M parameters, batch 8 × seq 256.
import { Rng } from '../../src/model/random.ts';
import { GLM_TINY_CONFIG } from '../../src/model/tiny.ts';

/** THUDM config.json keys; the torch script's BENCH dict holds the same values. */
export const BENCH_CONFIG = {
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
export const BENCH_BATCH = 8;
export const BENCH_SEQ = 256;

/** `count` rows of `length` seeded random token ids in [0, vocab). */
export function randomTokens(count: number, length: number, vocab: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Array.from({ length }, () => Math.floor(rng.next() * vocab)));
}
