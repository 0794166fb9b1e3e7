// P-tuning v2 as a tuning method: only the prefix encoder trains, the whole base is frozen (THUDM's
// ChatGLMModel sets requires_grad False on every base parameter when pre_seq_len is set).
import * as tf from '@tensorflow/tfjs';
import type { CausalLanguageModel } from '../../model/language-model.ts';
import { decaysByDefault } from '../decay.ts';
import { MethodConfigError } from '../errors.ts';
import { float32Bytes } from '../memory.ts';
import type { MethodForwardOptions, TuningMethod } from '../types.ts';
import type { PtuningConfig } from './config.ts';
import { readPrefixFolder, writePrefixFolder } from './format.ts';
import { PrefixEncoder, type PrefixShape } from './prefix-encoder.ts';

export class PtuningMethod implements TuningMethod {
  readonly name = 'ptuning_v2';

  private constructor(private readonly model: CausalLanguageModel, private readonly encoder: PrefixEncoder, private readonly prefixDropout: number) {
    for (const v of encoder.parameters.values()) v.trainable = true;
  }

  /** A new prefix encoder from `seed`, or with `initFrom` the one saved there (same pre_seq_len and projection). */
  static create(model: CausalLanguageModel, config: PtuningConfig, seed: number, initFrom?: string): PtuningMethod {
    const shape: PrefixShape = {
      preSeqLen: config.pre_seq_len,
      projectionWidth: config.prefix_projection ? (config.prefix_hidden_size ?? model.config.hiddenSize) : null,
    };
    if (!initFrom) return new PtuningMethod(model, PrefixEncoder.init(model.config, shape, seed), config.prefix_dropout);
    const saved = readPrefixFolder(model, initFrom);
    if (saved.shape.preSeqLen !== shape.preSeqLen || saved.shape.projectionWidth !== shape.projectionWidth) {
      saved.dispose();
      const describe = (s: PrefixShape): string => `pre_seq_len ${s.preSeqLen}, ${s.projectionWidth === null ? 'no projection' : `projection width ${s.projectionWidth}`}`;
      throw new MethodConfigError(`the prefix encoder in ${initFrom} (${describe(saved.shape)}) does not match the config (${describe(shape)})`);
    }
    return new PtuningMethod(model, saved, config.prefix_dropout);
  }

  trainable(): ReadonlyMap<string, tf.Variable> {
    return this.encoder.parameters;
  }

  decays(name: string): boolean {
    return decaysByDefault(name);
  }

  /**
   * The prefix with dropout in training. THUDM drops out the prefix after expanding it over the batch
   * (a mask per row); here one mask is shared by the batch's rows, as the model tiles one prefix.
   */
  forwardOptions(training: boolean, dropoutSeed?: number): MethodForwardOptions {
    const prefix = this.encoder.forward();
    if (!training || this.prefixDropout === 0) return { prefix, training, dropoutSeed };
    const seed = dropoutSeed === undefined ? undefined : `${dropoutSeed}:prefix`;
    return { prefix: tf.dropout(prefix, this.prefixDropout, undefined, seed), training, dropoutSeed };
  }

  async export(dir: string): Promise<void> {
    writePrefixFolder(dir, this.encoder, this.model.config);
  }

  memory(): { frozenBytes: number; trainableBytes: number } {
    return { frozenBytes: float32Bytes(this.model.parameters.values()), trainableBytes: float32Bytes(this.encoder.parameters.values()) };
  }

  dispose(): void {
    this.encoder.dispose();
  }
}
