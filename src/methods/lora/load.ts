// A PEFT adapter folder loaded onto a base model: for serving (several adapters on one base, chosen per
// request) and as the starting point of further training of the same adapter.
import * as tf from '@tensorflow/tfjs';
import { expectedTensorShapes } from '../../model/config.ts';
import { ModelFormatError } from '../../model/errors.ts';
import type { AdapterSet } from '../../model/extensions.ts';
import type { CausalLanguageModel } from '../../model/language-model.ts';
import type { LoraShape } from './config.ts';
import { LoraLayer } from './layer.ts';
import { peftKey, readAdapter } from './peft-format.ts';
import { targetSites } from './sites.ts';

/**
 * The adapter's layers (variables, not trainable) on the sites its target_modules select, every tensor
 * checked against the model's shapes; a key the model has no place for is an error.
 */
export function readLoraLayers(model: CausalLanguageModel, dir: string): { settings: LoraShape; layers: LoraLayer[] } {
  const { settings, weights } = readAdapter(dir);
  const sites = targetSites(model, settings.target_modules);
  const shapes = expectedTensorShapes(model.config);
  const expected = new Map<string, number[]>();
  for (const site of sites) {
    const [out, inFeatures] = shapes.get(`${site}.weight`)!;
    expected.set(peftKey(site, 'lora_A'), [settings.r, inFeatures]);
    expected.set(peftKey(site, 'lora_B'), [out, settings.r]);
  }
  const present = new Set(weights.names());
  for (const name of present) if (!expected.has(name)) throw new ModelFormatError(`${weights.location}: unexpected tensor "${name}" for target_modules [${settings.target_modules}]`);
  for (const [name, shape] of expected) {
    if (!present.has(name)) throw new ModelFormatError(`${weights.location}: missing tensor "${name}"`);
    const actual = weights.shape(name);
    if (actual.length !== 2 || actual[0] !== shape[0] || actual[1] !== shape[1]) {
      throw new ModelFormatError(`${weights.location}: tensor "${name}" has shape [${actual}], expected [${shape}] (r ${settings.r})`);
    }
  }
  const variable = (name: string): tf.Variable<tf.Rank.R2> => {
    const values = tf.tensor2d(weights.read(name), expected.get(name) as [number, number]);
    const v = tf.variable(values, false);
    values.dispose();
    return v;
  };
  const layers = sites.map((site) => new LoraLayer(site, variable(peftKey(site, 'lora_A')), variable(peftKey(site, 'lora_B')), settings.alpha / settings.r, settings.dropout));
  return { settings, layers };
}

export interface LoadedLora {
  readonly settings: LoraShape;
  /** Pass as ForwardOptions.adapters (inference: no dropout). */
  readonly adapters: AdapterSet;
  dispose(): void;
}

/** Loads a PEFT LoRA adapter folder for serving on `model`, unmerged. */
export function loadLora(model: CausalLanguageModel, dir: string): LoadedLora {
  const { settings, layers } = readLoraLayers(model, dir);
  return {
    settings,
    adapters: new Map(layers.map((layer) => [layer.site, layer.adapter()])),
    dispose: () => layers.forEach((layer) => layer.dispose()),
  };
}
