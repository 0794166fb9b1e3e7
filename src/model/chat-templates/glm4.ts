// GLM-4's chat format. Training examples as THUDM's GLM-4 finetune/finetune.py builds them: only
// assistant turns are targets, messages with empty content are left out, and the example ends with
// <|user|> ("EOS for chat") rather than <|endoftext|>.
import type { Tokenizer } from '../tokenizers/types.ts';
import type { ChatTemplate } from './types.ts';
import { roleTurnTemplate } from './role-turns.ts';

export function glm4Template(tokenizer: Tokenizer): ChatTemplate {
  return roleTurnTemplate(tokenizer, {
    name: 'glm4',
    prefix: ['[gMASK]', '<sop>'],
    skipEmptyMessages: true,
    targetRoles: ['assistant'],
    trainingEndId: (t) => t.specialTokens['<|user|>'],
  });
}
