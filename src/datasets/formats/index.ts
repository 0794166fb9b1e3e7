// The dataset formats by name.
import { adgen } from './adgen.ts';
import { alpaca } from './alpaca.ts';
import { chatglm } from './chatglm.ts';
import { chatglm3 } from './chatglm3.ts';
import type { DatasetFormat, FormatReader } from './format.ts';
import { openaiChat } from './openai-chat.ts';
import { promptCompletion } from './prompt-completion.ts';
import { sharegpt } from './sharegpt.ts';

export const FORMATS: Readonly<Record<DatasetFormat, FormatReader>> = {
  'openai-chat': openaiChat,
  'prompt-completion': promptCompletion,
  alpaca,
  sharegpt,
  chatglm3,
  chatglm,
  adgen,
};

export { detectFormat } from './detect.ts';
export type { DatasetFormat, FormatReader } from './format.ts';
