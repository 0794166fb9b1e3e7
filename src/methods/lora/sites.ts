// Which linear sites a LoRA target_modules list selects. PEFT matches a target against module names by
// suffix (`name == target or name.endswith("." + target)`), so `dense` selects self_attention.dense
// only, never mlp.dense_h_to_4h.
import type { CausalLanguageModel } from '../../model/language-model.ts';
import { MethodConfigError } from '../errors.ts';

/** The model's sites selected by `targets`, in the model's order; a target that selects none is an error. */
export function targetSites(model: CausalLanguageModel, targets: readonly string[]): string[] {
  const sites = model.linearSites();
  const matches = (site: string, target: string): boolean => site === target || site.endsWith(`.${target}`);
  for (const target of targets) {
    if (!sites.some((site) => matches(site, target))) {
      const kinds = [...new Set(sites.map((s) => s.slice(s.lastIndexOf('.') + 1)))];
      throw new MethodConfigError(`LoRA target module "${target}" matches no linear layer of this model (its modules: ${kinds.join(', ')})`);
    }
  }
  return sites.filter((site) => targets.some((target) => matches(site, target)));
}
