// ROUGE-1/2/L F-scores on jieba words, as THUDM's ChatGLM ptuning/main.py and LLaMA-Factory compute
// them: rouge_chinese.Rouge().get_scores(' '.join(jieba.cut(pred)), ' '.join(jieba.cut(label))).
// rouge_chinese (a fork of pltrdy/rouge) does, per pair:
//   - cut each text into sentences after Chinese/ASCII end punctuation (cut_sent), normalise the
//     whitespace of each, split each on " " and flatten: the word lists;
//   - ROUGE-N: n-grams as SETS (exclusive=True): overlap = |hyp ∩ ref|, P = overlap/|hyp|,
//     R = overlap/|ref|, F = 2PR / (P + R + 1e-8);
//   - ROUGE-L: LCS of the two flattened word lists, P = lcs/|hyp words|, R = lcs/|ref words|, same F.
// As in LLaMA-Factory, an empty hypothesis or reference (no word) scores 0 instead of raising.
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';

export interface RougeScores {
  'rouge-1': number;
  'rouge-2': number;
  'rouge-l': number;
}

let jieba: Jieba | undefined;

/** jieba's default cut (accurate mode with HMM, as Python's jieba.cut). */
export function jiebaCut(text: string): string[] {
  jieba ??= Jieba.withDict(dict);
  return jieba.cut(text, true);
}

/** rouge_chinese's Rouge.cut_sent: sentence breaks after 。！？? (and ...... and ……), not before a closing quote. */
function cutSentences(paragraph: string): string[] {
  const text = paragraph
    .replace(/([。！？?])([^”’])/g, '$1\n$2')
    .replace(/(\.{6})([^”’])/g, '$1\n$2')
    .replace(/(…{2})([^”’])/g, '$1\n$2')
    .replace(/([。！？?][”’])([^，。！？?])/g, '$1\n$2')
    .trimEnd();
  return text.split('\n');
}

/** The flattened word list rouge_chinese scores: sentences with whitespace normalised, split on " ". */
function words(spaced: string): string[] {
  return cutSentences(spaced)
    .filter((s) => s.length > 0)
    .flatMap((s) => s.split(/\s+/).filter((w) => w.length > 0).join(' ').split(' '));
}

function ngramSet(tokens: readonly string[], n: number): Set<string> {
  const set = new Set<string>();
  for (let i = 0; i + n <= tokens.length; i++) set.add(tokens.slice(i, i + n).join('\u0000'));
  return set;
}

function f1(overlap: number, hypCount: number, refCount: number): number {
  const p = hypCount === 0 ? 0 : overlap / hypCount;
  const r = refCount === 0 ? 0 : overlap / refCount;
  return (2 * (p * r)) / (p + r + 1e-8);
}

function rougeN(hyp: readonly string[], ref: readonly string[], n: number): number {
  const h = ngramSet(hyp, n);
  const r = ngramSet(ref, n);
  let overlap = 0;
  for (const gram of h) if (r.has(gram)) overlap++;
  return f1(overlap, h.size, r.size);
}

function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const current = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) current[j] = a[i - 1] === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
    previous = current;
  }
  return previous[b.length];
}

/** F-scores of texts whose words are already separated by spaces. */
export function rougeOfSpacedWords(hypothesis: string, reference: string): RougeScores {
  if (hypothesis.split(/\s+/).every((w) => w === '') || reference.split(/\s+/).every((w) => w === '')) return { 'rouge-1': 0, 'rouge-2': 0, 'rouge-l': 0 };
  const hyp = words(hypothesis);
  const ref = words(reference);
  return { 'rouge-1': rougeN(hyp, ref, 1), 'rouge-2': rougeN(hyp, ref, 2), 'rouge-l': f1(lcsLength(ref, hyp), hyp.length, ref.length) };
}

/** ROUGE-1/2/L F × 100 of a generated text against its reference, on jieba words. */
export function jiebaRouge(hypothesis: string, reference: string): RougeScores {
  const scores = rougeOfSpacedWords(jiebaCut(hypothesis).join(' '), jiebaCut(reference).join(' '));
  return { 'rouge-1': 100 * scores['rouge-1'], 'rouge-2': 100 * scores['rouge-2'], 'rouge-l': 100 * scores['rouge-l'] };
}
