// Training datasets: streaming validation at upload and example reading for the trainer.
export { createDatasetValidator, validateDataset } from './validator.ts';
export type { DatasetIssue, DatasetReport, DatasetValidator, ValidatorOptions } from './validator.ts';
export { InvalidDatasetError, readExamples } from './read-examples.ts';
export type { Example } from './read-examples.ts';
export type { DatasetLimits } from './example-parser.ts';
export type { DatasetFormat } from './formats/index.ts';
