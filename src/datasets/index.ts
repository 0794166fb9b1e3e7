// Training datasets: streaming validation at upload and example reading for the trainer.
//
// A dataset file is JSON Lines, UTF-8:
// - lines end with \n or \r\n; a UTF-8 BOM is skipped at the start of the file (only there);
// - blank lines (empty or only whitespace) are skipped but counted, so line numbers match an editor's;
// - each other line is one JSON object (no NUL bytes, at most maxLineBytes, nested at most maxDepth)
//   in one of the formats in formats/ (openai-chat, prompt-completion, alpaca, sharegpt, chatglm3,
//   chatglm, adgen), told apart by its keys; every line of a file is in the same format;
// - each line becomes a ChatMessage[] conversation; the rules on turns are in formats/turn-order.ts;
// - a file with no bytes, or with no examples, is invalid.
export { createDatasetValidator, validateDataset } from './validator.ts';
export type { DatasetIssue, DatasetReport, DatasetValidator, ValidatorOptions } from './validator.ts';
export { InvalidDatasetError, readExamples } from './read-examples.ts';
export type { Example } from './read-examples.ts';
export type { DatasetLimits } from './example-parser.ts';
export type { DatasetFormat } from './formats/index.ts';
