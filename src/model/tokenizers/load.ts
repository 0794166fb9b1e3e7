// Finds and loads a model folder's tokenizer the way THUDM's Hugging Face repos declare it:
//   tokenizer_config.json tokenizer_class   file              tokenizer
//   ChatGLMTokenizer                       tokenizer.model   SentencePiece (ChatGLM2, ChatGLM3)
//   ChatGLMTokenizer                       ice_text.model    ChatGLM-6B v1 (num_image_tokens from the config)
//   ChatGLM4Tokenizer                      tokenizer.model   tiktoken (GLM-4)
//   GlmTuneByteTokenizer                   –                 glm-tiny's byte tokenizer
//   anything else, or no config            tokenizer.json    Hugging Face fast tokenizer
// Tokenizers are cached by folder path (per thread), so a folder's file is loaded once.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Tokenizer } from './types.ts';
import { BYTE_TOKENIZER_CLASS, byteTokenizer } from './byte.ts';
import {
  CHATGLM2_SPECIAL_TOKENS,
  CHATGLM3_SPECIAL_TOKENS,
  loadChatGlmSentencePiece,
} from './chatglm-sentencepiece.ts';
import { loadChatGlm6bIceText, type IceTextConfig } from './chatglm6b-icetext.ts';
import { loadGlm4Tiktoken } from './glm4-tiktoken.ts';
import { createHfTokenizer, type HfTokenizerConfig } from './hf-tokenizer-json.ts';

/** tokenizer_config.json, as far as tokenizers and chat templates read it. */
export interface TokenizerConfigJson extends HfTokenizerConfig, IceTextConfig {
  tokenizer_class?: string;
  chat_template?: string | Array<{ name: string; template: string }>;
  added_tokens_decoder?: Record<string, { content: string }>;
}

const cache = new Map<string, Promise<Tokenizer>>();

/** The tokenizer of the model folder `dir`; errors name the folder and what is missing. */
export function loadTokenizer(dir: string): Promise<Tokenizer> {
  const path = resolve(dir);
  let tokenizer = cache.get(path);
  if (tokenizer === undefined) {
    tokenizer = load(path).catch((error: unknown) => {
      cache.delete(path); // a folder that is fixed later can be loaded then
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`tokenizer of ${path}: ${reason}`, { cause: error });
    });
    cache.set(path, tokenizer);
  }
  return tokenizer;
}

/** The folder's tokenizer_config.json, or undefined when it has none. */
export async function readTokenizerConfig(dir: string): Promise<TokenizerConfigJson | undefined> {
  const text = await readOptional(join(dir, 'tokenizer_config.json'));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as TokenizerConfigJson;
  } catch (error) {
    throw new Error(`tokenizer_config.json is not valid JSON: ${(error as Error).message}`);
  }
}

async function load(dir: string): Promise<Tokenizer> {
  if (!(await isDirectory(dir))) throw new Error('no such folder');
  const config = await readTokenizerConfig(dir);
  const declared = config ?? {};
  const tokenizerClass = declared.tokenizer_class;
  const has = (file: string) => exists(join(dir, file));

  if (tokenizerClass === BYTE_TOKENIZER_CLASS) return byteTokenizer;
  if (tokenizerClass === 'ChatGLMTokenizer') {
    if (await has('tokenizer.model')) {
      const tokens = (await hasChatGlm3RoleTokens(dir, declared)) ? CHATGLM3_SPECIAL_TOKENS : CHATGLM2_SPECIAL_TOKENS;
      return loadChatGlmSentencePiece(join(dir, 'tokenizer.model'), tokens, declaredIds(declared));
    }
    if (await has('ice_text.model')) {
      return loadChatGlm6bIceText(join(dir, 'ice_text.model'), declared);
    }
    throw new Error('tokenizer_class is ChatGLMTokenizer but tokenizer.model is missing');
  }
  if (tokenizerClass === 'ChatGLM4Tokenizer') {
    if (await has('tokenizer.model')) return loadGlm4Tiktoken(join(dir, 'tokenizer.model'), declaredIds(declared));
    throw new Error('tokenizer_class is ChatGLM4Tokenizer but tokenizer.model is missing');
  }
  const tokenizerJson = await readOptional(join(dir, 'tokenizer.json'));
  if (tokenizerJson !== undefined) {
    if (config === undefined) throw new Error('tokenizer.json needs a tokenizer_config.json beside it (for its eos_token)');
    return createHfTokenizer(JSON.parse(tokenizerJson) as Record<string, unknown>, config);
  }
  if (config === undefined) {
    throw new Error(
      (await has('tokenizer.model'))
        ? 'tokenizer.model but no tokenizer_config.json to say whose it is (tokenizer_class ChatGLMTokenizer or ChatGLM4Tokenizer)'
        : 'no tokenizer files (tokenizer_config.json with tokenizer.model, or tokenizer.json)',
    );
  }
  throw new Error(`tokenizer_class ${JSON.stringify(tokenizerClass)} is not supported and there is no tokenizer.json`);
}

/**
 * ChatGLM2 and ChatGLM3 share tokenizer.model and tokenizer_class; only ChatGLM3's tokenizer has the
 * role tokens <|system|> … <|observation|>. THUDM's later revisions list them in tokenizer_config.json's
 * added_tokens_decoder; every revision ships its tokenizer as remote code (auto_map →
 * tokenization_chatglm.py), and ChatGLM3's code names <|observation|> where ChatGLM2's does not.
 * A folder with neither is taken as ChatGLM3, the current release.
 */
async function hasChatGlm3RoleTokens(dir: string, config: TokenizerConfigJson): Promise<boolean> {
  const declared = Object.values(config.added_tokens_decoder ?? {}).map((token) => token.content);
  if (declared.includes('<|user|>')) return true;
  if (declared.includes('[gMASK]')) return false;
  const code = await readOptional(join(dir, 'tokenization_chatglm.py'));
  if (code !== undefined) return code.includes('<|observation|>');
  return true;
}

/** Special token ids that tokenizer_config.json declares (added_tokens_decoder: {"64790": {"content": "[gMASK]"}}). */
function declaredIds(config: TokenizerConfigJson): Record<string, number> {
  const ids: Record<string, number> = {};
  for (const [id, token] of Object.entries(config.added_tokens_decoder ?? {})) ids[token.content] = Number(id);
  return ids;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
