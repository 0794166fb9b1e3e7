// Helpers for fine-tuning tests: a small dataset glm-tiny can learn in seconds, and waiting on a job.
import { call } from './http.ts';

/** Four question → answer pairs; glm-tiny learns them in under a hundred steps. */
export const QA_PAIRS: [string, string][] = [
  ['What is the capital of France?', 'Paris.'],
  ['Who wrote Hamlet?', 'Shakespeare.'],
  ['What is 2+2?', 'Four.'],
  ['你好', '你好！'],
];

export function qaDataset(pairs: [string, string][] = QA_PAIRS): string {
  return pairs.map(([q, a]) => JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] })).join('\n') + '\n';
}

/** LoRA on every linear site: what glm-tiny needs to fit QA_PAIRS quickly. */
export const TINY_LORA = { type: 'lora', r: 8, alpha: 16, dropout: 0, target_modules: ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h'] };

/** Polls a job until its status is one of `statuses` (or it ended otherwise); returns the job. */
export async function waitForJob(url: string, key: string, id: string, statuses: string[], timeoutMs = 120_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(`${url}/v1/fine_tuning/jobs/${id}`, { key });
    if (res.status !== 200) throw new Error(`GET job ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    const job = res.body;
    if (statuses.includes(job.status)) return job;
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) {
      throw new Error(`job ${id} ended ${job.status} while waiting for ${statuses.join('/')}: ${JSON.stringify(job.error)}`);
    }
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
