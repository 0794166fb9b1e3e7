// Errors a training run ends with, each naming what went wrong in words a job's `error` can show.

/** The loss or the gradients became NaN/Inf: the run stops before the update, weights untouched. */
export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
  constructor(readonly step: number, readonly loss: number, readonly gradNorm: number) {
    super(`training diverged at step ${step}: loss ${loss}, gradient norm ${gradNorm} (not finite); the weights were not updated. Lower the learning rate or set max_grad_norm.`);
  }
}

/** Settings or inputs that cannot train (no examples left, a teacher with another tokenizer, ...). */
export class TrainingSetupError extends Error {
  override name = 'TrainingSetupError';
}
