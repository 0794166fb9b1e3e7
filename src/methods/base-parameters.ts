// full and freeze: the base model's own parameters train (all of them, or the last N layers'), so the
// result is a whole model, exported as an HF-layout folder.
import type * as tf from '@tensorflow/tfjs';
import type { CausalLanguageModel } from '../model/language-model.ts';
import type { FreezeConfig } from './config.ts';
import { decaysByDefault } from './decay.ts';
import { MethodConfigError } from './errors.ts';
import { writeHfFolder } from './hf-folder.ts';
import { float32Bytes } from './memory.ts';
import type { ExportOptions, MethodForwardOptions, TuningMethod } from './types.ts';

// `transformer.encoder.layers.N.` (ChatGLM2/3) or `transformer.layers.N.` (ChatGLM-6B)
const LAYER_INDEX = /^transformer\.(?:encoder\.)?layers\.(\d+)\./;
// The output layer (ChatGLM-6B ties it to the word embeddings, which freeze leaves frozen) and the final norm.
const OUTPUT_PARAMETER = /^transformer\.(output_layer\.weight|(encoder\.)?final_layernorm\.(weight|bias))$/;

/** Names of the parameters freeze tuning trains: every tensor of the last `layers` layers (+ output layer, final norm). */
export function freezeTrainableNames(model: CausalLanguageModel, config: FreezeConfig): string[] {
  const total = model.config.numLayers;
  if (config.layers > total) throw new MethodConfigError(`freeze: layers ${config.layers} exceeds the model's ${total} layers`);
  const first = total - config.layers;
  return [...model.parameters.keys()].filter((name) => {
    const layer = LAYER_INDEX.exec(name);
    if (layer) return Number(layer[1]) >= first;
    return config.also_output_layer && OUTPUT_PARAMETER.test(name);
  });
}

export class BaseParametersMethod implements TuningMethod {
  private readonly selected: Map<string, tf.Variable>;

  constructor(readonly name: 'full' | 'freeze', private readonly model: CausalLanguageModel, names: readonly string[]) {
    this.selected = new Map(names.map((n) => [n, model.parameters.get(n)!]));
    for (const v of this.selected.values()) v.trainable = true;
  }

  trainable(): ReadonlyMap<string, tf.Variable> {
    return this.selected;
  }

  decays(name: string): boolean {
    return decaysByDefault(name);
  }

  forwardOptions(training: boolean, dropoutSeed?: number): MethodForwardOptions {
    return { training, dropoutSeed };
  }

  async export(dir: string, options: ExportOptions = {}): Promise<void> {
    writeHfFolder(dir, this.model.weightsToWrite(), this.model.config.raw, options.baseDir);
  }

  memory(): { frozenBytes: number; trainableBytes: number } {
    const frozen = [...this.model.parameters].filter(([name]) => !this.selected.has(name)).map(([, v]) => v);
    return { frozenBytes: float32Bytes(frozen), trainableBytes: float32Bytes(this.selected.values()) };
  }

  dispose(): void {
    for (const v of this.selected.values()) v.trainable = false;
  }
}
