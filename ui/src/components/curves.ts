// A job's curves by step, merged from /metrics and from live metrics events: the same step arriving
// twice (a replayed stream, a refetch) is kept once, so any order of sources draws the same chart.
import type { TrainPoint, ValidationPoint } from '../api/types.ts';

export interface AlignedCurves {
  steps: number[];
  trainLoss: (number | null)[];
  validationLoss: (number | null)[];
  learningRate: (number | null)[];
}

export class Curves {
  private readonly train = new Map<number, Pick<TrainPoint, 'loss' | 'learning_rate'>>();
  private readonly validation = new Map<number, number>();

  addTrain(point: Pick<TrainPoint, 'step' | 'loss' | 'learning_rate'>): void {
    this.train.set(point.step, { loss: point.loss, learning_rate: point.learning_rate });
  }

  addValidation(point: Pick<ValidationPoint, 'step' | 'loss'>): void {
    this.validation.set(point.step, point.loss);
  }

  /** Reads a metrics event's data (train_loss / valid_loss keyed by step). */
  addEventData(data: Record<string, unknown>): void {
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    const step = n(data.step);
    if (step === null) return;
    const trainLoss = n(data.train_loss);
    if (trainLoss !== null) this.addTrain({ step, loss: trainLoss, learning_rate: n(data.learning_rate) });
    const validLoss = n(data.valid_loss);
    if (validLoss !== null) this.addValidation({ step, loss: validLoss });
  }

  /** One x array (steps) with a y per series, null where a series has no point: uPlot's data layout. */
  aligned(): AlignedCurves {
    const steps = [...new Set([...this.train.keys(), ...this.validation.keys()])].sort((a, b) => a - b);
    return {
      steps,
      trainLoss: steps.map((s) => this.train.get(s)?.loss ?? null),
      validationLoss: steps.map((s) => this.validation.get(s) ?? null),
      learningRate: steps.map((s) => this.train.get(s)?.learning_rate ?? null),
    };
  }
}
