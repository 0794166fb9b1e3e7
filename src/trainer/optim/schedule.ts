// Learning-rate schedules as Hugging Face's get_scheduler builds them (a LambdaLR over the base rate):
// a linear warm-up from 0, then linear decay to 0, half a cosine to 0, or constant. The factor for the
// optimizer step that follows `completed` earlier steps is factor(completed): the first step of a run
// with warm-up has rate 0, as in transformers.
export type ScheduleType = 'linear' | 'cosine' | 'constant';

export interface Schedule {
  type: ScheduleType;
  warmupSteps: number;
  totalSteps: number;
}

/** HF's TrainingArguments.get_warmup_steps: explicit steps win, else ceil(ratio × total). */
export function warmupSteps(steps: number, ratio: number, totalSteps: number): number {
  return steps > 0 ? steps : Math.ceil(totalSteps * ratio);
}

/** The multiplier of the base learning rate after `completed` optimizer steps. */
export function scheduleFactor(schedule: Schedule, completed: number): number {
  const { type, warmupSteps: warmup, totalSteps: total } = schedule;
  if (completed < warmup) return completed / Math.max(1, warmup);
  if (type === 'constant') return 1;
  if (type === 'linear') return Math.max(0, (total - completed) / Math.max(1, total - warmup));
  const progress = (completed - warmup) / Math.max(1, total - warmup);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress))); // num_cycles 0.5
}
