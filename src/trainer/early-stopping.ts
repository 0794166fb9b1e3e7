// Early stopping on the validation loss, as HF's EarlyStoppingCallback: an evaluation improves when
// its loss is below the best so far by more than `threshold`; after `patience` evaluations in a row
// without improvement the run stops. The best loss (any decrease) and its step are tracked separately:
// with load_best_at_end, the weights of that evaluation are the result.
export interface EarlyStoppingState {
  bestLoss: number | null;
  bestStep: number | null;
  /** Evaluations since the last improvement. */
  strikes: number;
}

export class EarlyStopping {
  private state: EarlyStoppingState = { bestLoss: null, bestStep: null, strikes: 0 };

  /** patience undefined: never stops, only tracks the best. */
  constructor(private readonly patience: number | undefined, private readonly threshold: number) {}

  /** Records an evaluation; returns whether it is the best so far and whether the run should stop. */
  observe(step: number, loss: number): { best: boolean; stop: boolean } {
    const previous = this.state.bestLoss;
    const best = previous === null || loss < previous;
    const improved = previous === null || previous - loss > this.threshold;
    this.state = {
      bestLoss: best ? loss : previous,
      bestStep: best ? step : this.state.bestStep,
      strikes: improved ? 0 : this.state.strikes + 1,
    };
    return { best, stop: this.patience !== undefined && this.state.strikes >= this.patience };
  }

  get snapshot(): EarlyStoppingState {
    return { ...this.state };
  }

  restore(state: EarlyStoppingState): void {
    this.state = { ...state };
  }
}
