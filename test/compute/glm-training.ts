// Five optimizer steps of glm-tiny through the real training loop (runTraining: micro-batches of uneven,
// right-padded rows, gradient accumulation, clipping, AdamW with weight decay), for full fine-tuning and for
// LoRA: every model op (fused or plain), every matmul kind, the embedding gradient and the optimizer. Run by
// compute-probe.ts on each compute path, whose losses must agree.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { templateFor } from '../../src/model/chat-templates/select.ts';
import { loadModel } from '../../src/model/load.ts';
import { Rng } from '../../src/model/random.ts';
import { ensureTinyModel } from '../../src/model/tiny.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { createMethod } from '../../src/methods/create.ts';
import type { MethodConfigInput } from '../../src/methods/config.ts';
import { parseTrainingConfig } from '../../src/trainer/config.ts';
import { runTraining } from '../../src/trainer/loop.ts';

const METHODS: Record<string, MethodConfigInput> = {
  full: { type: 'full' },
  lora: { type: 'lora', r: 4, alpha: 8, dropout: 0, target_modules: ['query_key_value', 'dense_4h_to_h'] },
};

export async function glmTrainingLosses(): Promise<Record<string, number[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'glmtune-compute-probe-'));
  try {
    const tinyDir = ensureTinyModel(join(dir, 'glm-tiny'));
    const tokenizer = await loadTokenizer(tinyDir);
    const template = await templateFor(tinyDir, tokenizer);
    const rng = new Rng(11);
    const train = Array.from({ length: 6 }, (_, i) => {
      const inputIds = Array.from({ length: 20 + 5 * i }, () => 3 + Math.floor(rng.next() * 250));
      return { line: i + 1, messages: [], inputIds, labels: inputIds.map((id, t) => (t < 5 ? -100 : id)) };
    });
    const losses: Record<string, number[]> = {};
    for (const [name, method] of Object.entries(METHODS)) {
      const config = parseTrainingConfig({ method, seed: 5, batch_size: 3, gradient_accumulation_steps: 2, max_steps: 5, learning_rate: 3e-3, weight_decay: 0.01, lr_scheduler_type: 'constant' });
      const model = loadModel(tinyDir);
      const m = createMethod(model, config.method, { seed: 5 });
      losses[name] = (await runTraining({ model, method: m, tokenizer, template, config, train, validation: [] })).losses;
      m.dispose();
      model.dispose();
    }
    return losses;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
