// Resident bytes of float32 variables, for TuningMethod.memory().
import type * as tf from '@tensorflow/tfjs';

export function float32Bytes(variables: Iterable<tf.Variable>): number {
  let bytes = 0;
  for (const v of variables) bytes += v.size * 4;
  return bytes;
}
