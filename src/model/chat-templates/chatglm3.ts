// ChatGLM3's chat format (also glm-tiny's). Training examples as THUDM's finetune_demo/finetune_hf.py
// builds them: observation turns are targets like assistant turns, and the example ends with </s>.
import type { Tokenizer } from '../tokenizers/types.ts';
import type { ChatTemplate } from './types.ts';
import { roleTurnTemplate } from './role-turns.ts';

export function chatglm3Template(tokenizer: Tokenizer): ChatTemplate {
  return roleTurnTemplate(tokenizer, {
    name: 'chatglm3',
    prefix: ['[gMASK]', 'sop'],
    skipEmptyMessages: false,
    targetRoles: ['assistant', 'observation'],
    trainingEndId: (t) => t.eosId,
  });
}
