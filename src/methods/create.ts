// Builds a job's tuning method from its config: the one entry point the trainer and the CLI use.
import type { CausalLanguageModel } from '../model/language-model.ts';
import { BaseParametersMethod, freezeTrainableNames } from './base-parameters.ts';
import { methodConfigSchema, type MethodConfigInput } from './config.ts';
import { MethodConfigError } from './errors.ts';
import { LoraModel } from './lora/model.ts';
import { PtuningMethod } from './ptuning/method.ts';
import { createQlora } from './qlora/method.ts';
import type { CreateMethodOptions, TuningMethod } from './types.ts';

/**
 * Validates `config` (defaults filled in) against the schema and the model, then marks what trains.
 * Throws MethodConfigError naming the setting at fault. QLoRA quantizes the model's linear weights in place.
 */
export function createMethod(model: CausalLanguageModel, config: MethodConfigInput, options: CreateMethodOptions): TuningMethod {
  const parsed = methodConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new MethodConfigError(`invalid method config: ${issues.join('; ')}`);
  }
  const c = parsed.data;
  if (options.initFrom && (c.type === 'full' || c.type === 'freeze')) {
    throw new MethodConfigError(`${c.type} continues from a merged or fully tuned model: load that folder as the base model instead of initFrom`);
  }
  switch (c.type) {
    case 'full':
      return new BaseParametersMethod('full', model, [...model.parameters.keys()]);
    case 'freeze':
      return new BaseParametersMethod('freeze', model, freezeTrainableNames(model, c));
    case 'lora':
      return new LoraModel('lora', model, c, LoraModel.layersFor(model, c, options.seed, options.initFrom));
    case 'qlora':
      return createQlora(model, c, options.seed, options.initFrom);
    case 'ptuning_v2':
      return PtuningMethod.create(model, c, options.seed, options.initFrom);
  }
}
