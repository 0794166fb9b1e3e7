// One training run from folders and files: the entry point of the CLI and the trainer pool. Loads the
// base model (or an earlier merged result) and its tokenizer and chat template, encodes the datasets,
// builds the method (optionally continuing an earlier adapter), runs the loop and writes the export.
import { basename } from 'node:path';
import { initCompute } from '../compute/backend.ts';
import { templateFor } from '../model/chat-templates/select.ts';
import type { CausalLanguageModel } from '../model/language-model.ts';
import { loadModel } from '../model/load.ts';
import { loadTokenizer } from '../model/tokenizers/load.ts';
import { createMethod } from '../methods/create.ts';
import { parseTrainingConfig, type TrainingConfig, type TrainingConfigInput } from './config.ts';
import { encodeDatasetFile, type EncodeStats } from './data/encode.ts';
import { splitValidation } from './data/order.ts';
import { checkSharedTokenizer } from './distill.ts';
import { TrainingSetupError } from './errors.ts';
import { runTraining, type LoopResult, type TrainCallbacks } from './loop.ts';

export interface TrainJob {
  /** HF-layout folder of the base model, or of an earlier merged / fully tuned result to continue. */
  modelDir: string;
  /** Validated dataset files (JSONL, any format the Files API accepts). */
  trainFile: string;
  validationFile?: string;
  /** Settings; parsed here (defaults filled in). */
  config: TrainingConfigInput | TrainingConfig;
  /** Where the method's export is written when the run completes (or stops early). */
  outputDir?: string;
  /** Where checkpoints go (save_steps, pause, end). */
  checkpointDir?: string;
  /** A checkpoint folder to continue from (after a pause or a crash). */
  resumeFrom?: string;
  /** An earlier adapter / prefix export of the same method to keep training (incremental training). */
  initFrom?: string;
  /** The teacher's model folder, for config.distillation. */
  teacherDir?: string;
  signal?: AbortSignal;
  callbacks?: TrainCallbacks;
  /** Lines for a log (what was read, truncated, dropped; the compute path). */
  log?: (message: string) => void;
}

export interface TrainResult extends LoopResult {
  data: { train: EncodeStats & { examples: number }; validation: EncodeStats & { examples: number } };
  /** Resident bytes of the frozen base (QLoRA: packed) and of the trainable tensors. */
  memory: { frozenBytes: number; trainableBytes: number };
  outputDir?: string;
}

export async function train(job: TrainJob): Promise<TrainResult> {
  const log = job.log ?? (() => {});
  const config = parseTrainingConfig(job.config);
  log((await initCompute()).message);
  const tokenizer = await loadTokenizer(job.modelDir);
  const template = await templateFor(job.modelDir, tokenizer);
  if (config.distillation && !job.teacherDir) throw new TrainingSetupError(`distillation from ${config.distillation.teacher} needs the teacher's model folder`);
  const teacherDir = config.distillation ? job.teacherDir : undefined;
  if (teacherDir) checkSharedTokenizer(tokenizer, await loadTokenizer(teacherDir));

  const model = loadModel(job.modelDir);
  let teacher: CausalLanguageModel | undefined;
  try {
    const maxSeqLen = Math.min(config.max_seq_len ?? model.config.seqLength, model.config.seqLength);
    const encode = { maxSeqLen, trainOnInputs: config.train_on_inputs };
    const trainFile = await encodeDatasetFile(job.trainFile, template, encode);
    const validationFile = job.validationFile ? await encodeDatasetFile(job.validationFile, template, encode) : undefined;
    const { train: trainExamples, validation } = validationFile
      ? { train: trainFile.examples, validation: validationFile.examples }
      : splitValidation(trainFile.examples, config.validation_split, config.seed);
    const validationStats = validationFile?.stats ?? { read: validation.length, truncated: 0, dropped: 0 };
    const data = { train: { ...trainFile.stats, examples: trainExamples.length }, validation: { ...validationStats, examples: validation.length } };
    log(`data: ${data.train.examples} training examples (${trainFile.stats.truncated} truncated to ${maxSeqLen} tokens, ${trainFile.stats.dropped} dropped with no target left), ${data.validation.examples} validation examples`);
    if (trainExamples.length === 0) throw new TrainingSetupError(`${basename(job.trainFile)}: no training example left after truncation to ${maxSeqLen} tokens`);

    const method = createMethod(model, config.method, { seed: config.seed, initFrom: job.initFrom });
    try {
      teacher = teacherDir ? loadModel(teacherDir) : undefined;
      const result = await runTraining({
        model, method, tokenizer, template, config, teacher,
        train: trainExamples, validation,
        checkpointDir: job.checkpointDir, baseDir: job.modelDir, resumeFrom: job.resumeFrom,
        signal: job.signal, callbacks: job.callbacks,
      });
      const finished = result.status === 'completed' || result.status === 'early_stopped';
      if (finished && job.outputDir) await method.export(job.outputDir, { merged: config.export_merged, baseDir: job.modelDir });
      return { ...result, data, memory: method.memory(), ...(finished && job.outputDir && { outputDir: job.outputDir }) };
    } finally {
      method.dispose();
    }
  } finally {
    teacher?.dispose();
    model.dispose();
  }
}
