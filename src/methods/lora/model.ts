// LoRA as a tuning method (PEFT's LoraModel): adapters on the target sites of a frozen base, trained in
// float32, merged into the base weights and unmerged on demand. QLoRA is this same class over a base
// whose linear weights were replaced by quantized ones (../qlora/method.ts).
import * as tf from '@tensorflow/tfjs';
import { basename } from 'node:path';
import { expectedTensorShapes } from '../../model/config.ts';
import type { CausalLanguageModel } from '../../model/language-model.ts';
import type { TensorToWrite } from '../../model/weights/safetensors.ts';
import { decaysByDefault } from '../decay.ts';
import { MethodConfigError } from '../errors.ts';
import { writeHfFolder } from '../hf-folder.ts';
import { float32Bytes } from '../memory.ts';
import type { ExportOptions, MethodForwardOptions, TuningMethod } from '../types.ts';
import type { LoraShape } from './config.ts';
import { LoraLayer } from './layer.ts';
import { readLoraLayers } from './load.ts';
import { peftKey, writeAdapter } from './peft-format.ts';
import { targetSites } from './sites.ts';

/** Something frozen the method keeps resident besides the model's float parameters (QLoRA's packed weights). */
export interface ResidentState {
  residentBytes(): number;
}

export class LoraModel implements TuningMethod {
  private readonly layers: Map<string, LoraLayer>;
  private readonly variables: Map<string, tf.Variable>;
  private merged = false;

  constructor(
    readonly name: 'lora' | 'qlora',
    private readonly model: CausalLanguageModel,
    readonly settings: LoraShape,
    layers: readonly LoraLayer[],
    private readonly frozenState: readonly ResidentState[] = [],
  ) {
    this.layers = new Map(layers.map((l) => [l.site, l]));
    this.variables = new Map(layers.flatMap((l) => [[peftKey(l.site, 'lora_A'), l.lora_A], [peftKey(l.site, 'lora_B'), l.lora_B]]));
    for (const v of this.variables.values()) v.trainable = true;
  }

  /**
   * New adapters on the sites `settings.target_modules` select, initialised from `seed`; or, with
   * `initFrom`, the adapter saved there (its r, alpha and target_modules must equal `settings`).
   */
  static layersFor(model: CausalLanguageModel, settings: LoraShape, seed: number, initFrom?: string): LoraLayer[] {
    if (initFrom) {
      const saved = readLoraLayers(model, initFrom);
      const differs: string[] = [];
      if (saved.settings.r !== settings.r) differs.push(`r ${saved.settings.r} vs ${settings.r}`);
      if (saved.settings.alpha !== settings.alpha) differs.push(`alpha ${saved.settings.alpha} vs ${settings.alpha}`);
      const modules = (m: readonly string[]): string => [...m].sort().join(', ');
      if (modules(saved.settings.target_modules) !== modules(settings.target_modules)) {
        differs.push(`target_modules [${modules(saved.settings.target_modules)}] vs [${modules(settings.target_modules)}]`);
      }
      if (differs.length > 0) {
        saved.layers.forEach((l) => l.dispose());
        throw new MethodConfigError(`the adapter in ${initFrom} does not match the config: ${differs.join('; ')}`);
      }
      // dropout is a training setting, not part of the adapter: the new config's applies
      return saved.layers.map((l) => new LoraLayer(l.site, l.lora_A, l.lora_B, l.scaling, settings.dropout));
    }
    const shapes = expectedTensorShapes(model.config);
    return targetSites(model, settings.target_modules).map((site) => {
      const [out, inFeatures] = shapes.get(`${site}.weight`)!;
      return LoraLayer.init(site, [out, inFeatures], settings, seed, peftKey(site, 'lora_A'));
    });
  }

  trainable(): ReadonlyMap<string, tf.Variable> {
    return this.variables;
  }

  decays(name: string): boolean {
    return decaysByDefault(name);
  }

  forwardOptions(training: boolean, dropoutSeed?: number): MethodForwardOptions {
    if (this.merged) {
      if (training) throw new MethodConfigError('the LoRA adapter is merged into the base: unmerge it before training');
      return { training, dropoutSeed };
    }
    const adapters = new Map([...this.layers].map(([site, layer]) => [site, layer.adapter(dropoutSeed === undefined ? undefined : `${dropoutSeed}:${site}`)]));
    return { adapters, training, dropoutSeed };
  }

  /** W ← W + scaling·B·A on every adapted site; forward passes then need no adapters. Float bases only. */
  merge(): void {
    if (this.merged) return;
    this.addToBase(1);
    this.merged = true;
  }

  /** W ← W − scaling·B·A: the base weights as they were (to float32 rounding). */
  unmerge(): void {
    if (!this.merged) return;
    this.addToBase(-1);
    this.merged = false;
  }

  async export(dir: string, options: ExportOptions = {}): Promise<void> {
    if (options.merged) {
      writeHfFolder(dir, this.mergedWeights(), this.model.config.raw, options.baseDir);
      return;
    }
    const baseModel = options.baseModel ?? (options.baseDir ? basename(options.baseDir) : null);
    writeAdapter(dir, [...this.layers.values()], this.settings, baseModel);
  }

  memory(): { frozenBytes: number; trainableBytes: number } {
    const packed = this.frozenState.reduce((sum, s) => sum + s.residentBytes(), 0);
    return { frozenBytes: float32Bytes(this.model.parameters.values()) + packed, trainableBytes: float32Bytes(this.variables.values()) };
  }

  dispose(): void {
    this.unmerge(); // never leave the shared base changed
    for (const layer of this.layers.values()) layer.dispose();
  }

  private addToBase(sign: 1 | -1): void {
    const targets = [...this.layers].map(([site, layer]) => ({ site, layer, w: this.model.parameters.get(`${site}.weight`) }));
    const quantized = targets.find((t) => !t.w);
    if (quantized) {
      throw new MethodConfigError(`${quantized.site}: its base weight is quantized and cannot take the adapter; export with merged: true writes the dequantized base with the adapter merged`);
    }
    for (const { layer, w } of targets) tf.tidy(() => w!.assign(sign > 0 ? tf.add(w!, layer.deltaWeight()) : tf.sub(w!, layer.deltaWeight())));
  }

  /** The model's tensors with scaling·B·A added to each adapted weight (as written, unless already merged). */
  private mergedWeights(): TensorToWrite[] {
    return this.model.weightsToWrite().map((t) => {
      const layer = this.merged ? undefined : this.layers.get(t.name.replace(/\.weight$/, ''));
      if (!layer) return t;
      return {
        ...t,
        data: () => tf.tidy(() => tf.add(tf.tensor(t.data(), t.shape), layer.deltaWeight()).dataSync() as Float32Array),
      };
    });
  }
}
