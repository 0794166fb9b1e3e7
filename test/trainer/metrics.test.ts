// Evaluation metrics: BLEU-4 (NLTK, smoothing method 3, characters), ROUGE-1/2/L (rouge_chinese on
// jieba words), validation loss / perplexity / token accuracy, and the distillation loss.
// Reference BLEU values are NLTK 3.8's (Debian python3-nltk):
//   sentence_bleu([list(ref)], list(hyp), smoothing_function=SmoothingFunction().method3) * 100
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { loadModel } from '../../src/model/load.ts';
import { distillationLoss } from '../../src/trainer/distill.ts';
import { characterBleu4 } from '../../src/trainer/eval/bleu.ts';
import { promptAndReference } from '../../src/trainer/eval/generation.ts';
import { jiebaCut, jiebaRouge, rougeOfSpacedWords } from '../../src/trainer/eval/rouge.ts';
import { validationMetrics } from '../../src/trainer/eval/validation.ts';
import { TINY_CHATGLM3, reference } from './helpers.ts';

await initCompute();

const close = (actual: number, expected: number, tolerance = 1e-9) => assert.ok(Math.abs(actual - expected) < tolerance, `${actual} vs ${expected}`);

test('BLEU-4 with smoothing method 3 on characters equals NLTK', () => {
  // hyp "ab", ref "abc": p1 = 2/2, p2 = 1/1, p3 = 0/1 → 1/(2·1), p4 = 0/1 → 1/(4·1); BP = exp(1 − 3/2)
  close(characterBleu4('abc', 'ab'), 100 * Math.exp(-0.5) * (0.5 * 0.25) ** 0.25);
  close(characterBleu4('abc', 'ab'), 36.06452879987789);
  // 7 hypothesis characters against 4: p = 4/7, 3/6, 2/5, 1/4, BP = 1
  close(characterBleu4('我爱北京', '我爱北京天安门'), 41.113361690051974);
  close(characterBleu4('这件衣服面料舒适，颜色好看，版型也不错。', '这件衣服的面料很舒服，颜色也好看。'), 22.45171807771215);
  close(characterBleu4('the cat sat on the mat', 'the cat'), 11.731916609425078);
  close(characterBleu4('abcde', 'abcde'), 100);
  assert.equal(characterBleu4('abc', ''), 0, 'no unigram match: NLTK returns 0');
  assert.equal(characterBleu4('abc', 'xyz'), 0);
});

test('jieba segments as Python jieba 0.42 (accurate mode with HMM)', () => {
  assert.deepEqual(jiebaCut('我爱北京天安门'), ['我', '爱', '北京', '天安门']);
  assert.deepEqual(jiebaCut('这件衣服面料舒适，颜色好看，版型也不错。'), ['这件', '衣服', '面料', '舒适', '，', '颜色', '好看', '，', '版型', '也', '不错', '。']);
});

test('ROUGE-1/2/L F-scores as rouge_chinese: n-gram sets, LCS of the flattened words, F = 2PR/(P+R+1e-8)', () => {
  // hyp 这件 衣服 的 面料 很 舒服 ， 颜色 也 好看 。 (11 distinct words)
  // ref 这件 衣服 面料 舒适 ， 颜色 好看 ， 版型 也 不错 。 (12 words, 11 distinct)
  // unigrams in common: 这件 衣服 面料 ， 颜色 也 好看 。 = 8 → P = R = 8/11
  // bigrams: hyp 10 distinct, ref 11 distinct, common 这件衣服 ，颜色 = 2 → P = 2/10, R = 2/11
  // LCS: 这件 衣服 面料 ， 颜色 好看 。 = 7 → P = 7/11, R = 7/12
  const f = (p: number, r: number) => (2 * p * r) / (p + r + 1e-8);
  const scores = jiebaRouge('这件衣服的面料很舒服，颜色也好看。', '这件衣服面料舒适，颜色好看，版型也不错。');
  close(scores['rouge-1'], 100 * f(8 / 11, 8 / 11));
  close(scores['rouge-2'], 100 * f(2 / 10, 2 / 11));
  close(scores['rouge-l'], 100 * f(7 / 11, 7 / 12));
  // 我 爱 北京 天安门 vs 我 爱 北京: bigrams 2 of 3 → P = 2/3, R = 1
  close(jiebaRouge('我爱北京天安门', '我爱北京')['rouge-2'], 100 * f(2 / 3, 1));
  // repeated words count once in ROUGE-N (sets) but every time in the LCS
  const repeated = rougeOfSpacedWords('a a b', 'a b b');
  close(repeated['rouge-1'], f(1, 1));
  close(repeated['rouge-l'], f(2 / 3, 2 / 3));
  assert.deepEqual(jiebaRouge('', '我爱北京'), { 'rouge-1': 0, 'rouge-2': 0, 'rouge-l': 0 }, 'an empty generation scores 0 (LLaMA-Factory)');
});

test('generation samples: the prompt is everything before the final assistant turn', () => {
  const messages = [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: 'Hi' },
    { role: 'assistant' as const, content: 'Hello' },
    { role: 'user' as const, content: 'Bye' },
    { role: 'assistant' as const, content: 'Goodbye' },
  ];
  assert.deepEqual(promptAndReference(messages), { prompt: messages.slice(0, 4), reference: 'Goodbye' });
  assert.equal(promptAndReference(messages.slice(0, 2)), null);
});

test('validation loss is the reference token-weighted loss; perplexity its exp; accuracy the argmax hit rate', (t) => {
  const model = loadModel(TINY_CHATGLM3);
  t.after(() => model.dispose());
  const { input_ids: inputIds, labels } = reference.loss;
  const metrics = validationMetrics(model, [{ inputIds, labels, tokens: 0, targets: reference.loss.num_predicted_tokens }], () => ({}));
  close(metrics.loss, reference.loss.loss, 1e-5);
  close(metrics.perplexity, Math.exp(metrics.loss), 1e-9);
  assert.equal(metrics.tokens, reference.loss.num_predicted_tokens);
  // accuracy recounted from the logits on the host
  const logits = model.forward(inputIds).logits;
  const rows = logits.arraySync() as number[][][];
  logits.dispose();
  let hits = 0;
  labels.forEach((row, b) => row.forEach((label, t1) => {
    if (t1 === 0 || label === -100) return;
    const scores = rows[b][t1 - 1];
    if (scores.indexOf(Math.max(...scores)) === label) hits++;
  }));
  close(metrics.tokenAccuracy, hits / reference.loss.num_predicted_tokens, 1e-12);
});

test('distillation loss = alpha·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − alpha)·CE, averaged over target tokens', () => {
  const s = [[0, 1, 2], [1, 0, 0]];
  const teacher = [[2, 1, 0], [0, 0, 1]];
  const targets = [2, 0];
  const T = 2;
  const alpha = 0.3;
  // by hand, in float64
  const softmax = (row: number[]) => {
    const e = row.map((x) => Math.exp(x));
    const z = e.reduce((a, b) => a + b);
    return e.map((x) => x / z);
  };
  let kl = 0;
  let ce = 0;
  s.forEach((row, i) => {
    const ps = softmax(row.map((x) => x / T));
    const pt = softmax(teacher[i].map((x) => x / T));
    kl += pt.reduce((sum, p, v) => sum + p * Math.log(p / ps[v]), 0);
    ce += -Math.log(softmax(row)[targets[i]]);
  });
  const expected = alpha * T * T * (kl / 2) + (1 - alpha) * (ce / 2);
  const loss = distillationLoss(tf.tensor2d(s), tf.tensor2d(teacher), targets, { temperature: T, alpha });
  close(loss.dataSync()[0], expected, 1e-6);
  loss.dispose();
  // a student equal to its teacher has no KL term left
  const same = distillationLoss(tf.tensor2d(teacher), tf.tensor2d(teacher), targets, { temperature: T, alpha: 1 });
  close(same.dataSync()[0], 0, 1e-6);
  same.dispose();
});
