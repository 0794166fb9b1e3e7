// The error a method raises for a config that does not fit the model or an artifact folder that does not
// fit the method (unknown target module, prefix of another model's shape, adapter of another rank). The
// API reports it as a 400 with its message, so every message names the setting, module or file at fault.
export class MethodConfigError extends Error {
  override readonly name = 'MethodConfigError';
}
