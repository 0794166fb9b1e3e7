// The failures of serving models, one factory each (as src/errors.ts has them for the whole API), so
// that codes stay stable and messages say which limit was hit.
import { ApiError } from '../errors.ts';

export const inferenceErrors = {
  modelNotFound: (id: string, param = 'model') =>
    new ApiError(404, 'invalid_request_error', 'model_not_found', `The model '${id}' does not exist or you do not have access to it.`, param),
  contextLengthExceeded: (limit: number, promptTokens: number, completionTokens: number, param: string) =>
    new ApiError(
      400,
      'invalid_request_error',
      'context_length_exceeded',
      `This model's maximum context length is ${limit} tokens. However, you requested ${promptTokens + completionTokens} tokens (${promptTokens} in the ${param}, ${completionTokens} in the completion). Please reduce the length of the ${param} or completion.`,
      param,
    ),
  promptTooLong: (characters: number, limit: number, contextLength: number, param: string) =>
    new ApiError(
      400,
      'invalid_request_error',
      'context_length_exceeded',
      `The ${param} has ${characters} characters; this model (context ${contextLength} tokens) accepts at most ${limit} characters before tokenization.`,
      param,
    ),
  timeout: (ms: number) =>
    new ApiError(504, 'server_error', 'timeout', `The generation did not finish within ${ms} ms (INFERENCE_TIMEOUT_MS) and was stopped.`),
  insufficientMemory: (message: string) => new ApiError(503, 'service_unavailable_error', 'insufficient_memory', `Cannot load the model now: ${message}.`),
  busy: (limit: number) =>
    new ApiError(503, 'service_unavailable_error', 'server_busy', `The server is generating for ${limit} requests already (INFERENCE_MAX_PENDING); try again shortly.`),
  generationFailed: (message: string) => new ApiError(500, 'server_error', 'generation_failed', `The generation failed: ${message}`),
};
