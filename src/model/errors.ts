// The one error the model runtime raises for a model it cannot use: an unsupported config, a weights
// file that is malformed, a tensor that is missing or unexpected. Callers (registry, API) report its
// message as is, so every message names the file, key or tensor at fault.
export class ModelFormatError extends Error {
  override readonly name = 'ModelFormatError';
}
