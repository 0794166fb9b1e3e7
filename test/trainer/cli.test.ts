// npm run train: a local run on glm-tiny (materialised under DATA_DIR) writes the export folder;
// without a terminal, progress is one plain line per step; bad settings exit 2 naming the field.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { QA_PAIRS, conversation, scratchDir, writeJsonl } from './helpers.ts';

function cli(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', join('src', 'cli', 'train.ts'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

test('training glm-tiny with LoRA from the command line writes the adapter, with plain progress lines', (t) => {
  const root = scratchDir(t, 'cli');
  const data = writeJsonl(join(root, 'train.jsonl'), QA_PAIRS.map(([q, a]) => conversation(q, a)));
  const output = join(root, 'out');
  const run = cli(['--model', 'glm-tiny', '--data', data, '--method', 'lora', '--output', output, '--max-steps', '3', '--batch-size', '2', '--lr', '1e-3', '--lora-r', '4', '--validation-split', '0.25'], { DATA_DIR: join(root, 'data') });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^compute: /m);
  assert.match(run.stdout, /data: 3 training examples .* 1 validation examples/);
  for (const step of [1, 2, 3]) assert.match(run.stdout, new RegExp(`^step ${step}/3 epoch [\\d.]+ loss \\d+\\.\\d+ lr `, 'm'));
  assert.match(run.stdout, /^eval at step 2: loss \d/m);
  assert.match(run.stdout, /^completed after 3 steps/m);
  assert.ok(existsSync(join(root, 'data', 'models', 'glm-tiny', 'config.json')), 'glm-tiny materialised under DATA_DIR');
  for (const file of ['adapter_config.json', 'adapter_model.safetensors']) assert.ok(existsSync(join(output, file)), file);
});

test('invalid settings exit 2 naming the field; missing flags print the usage', (t) => {
  const root = scratchDir(t, 'cli-bad');
  const data = writeJsonl(join(root, 'train.jsonl'), [conversation('Q?', 'A.')]);
  const bad = cli(['--model', 'glm-tiny', '--data', data, '--method', 'lora', '--output', join(root, 'out'), '--lr', 'fast'], { DATA_DIR: join(root, 'data') });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /invalid settings:\n\s+learning_rate: /);
  const missing = cli(['--data', data], { DATA_DIR: join(root, 'data') });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--model, --data, --method and --output are required[\s\S]*usage: npm run train/);
});
