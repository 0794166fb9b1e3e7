// Seeded initial values for the parameters methods add (LoRA's lora_A, the prefix encoder), as PyTorch's
// initialisers define them. Each tensor draws from its own generator seeded by (seed, name), so values do
// not depend on the order in which tensors are created.
import { Rng, hashString } from '../model/random.ts';

function rngFor(seed: number, name: string): Rng {
  return new Rng((seed ^ hashString(name)) >>> 0);
}

/** U(−bound, bound), `size` values. */
export function uniform(seed: number, name: string, size: number, bound: number): Float32Array {
  const rng = rngFor(seed, name);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = bound * (2 * rng.next() - 1);
  return values;
}

/**
 * torch.nn.init.kaiming_uniform_(w, a=√5) on w [out, in], the default of nn.Linear and PEFT's lora_A:
 * bound = gain·√(3/fan_in) with gain = √(2/(1+a²)) = √(1/3), i.e. U(−1/√in, 1/√in).
 */
export function kaimingUniform(seed: number, name: string, shape: readonly [number, number]): Float32Array {
  return uniform(seed, name, shape[0] * shape[1], 1 / Math.sqrt(shape[1]));
}

/** N(0, 1): torch.nn.Embedding's default. */
export function standardNormal(seed: number, name: string, size: number): Float32Array {
  const rng = rngFor(seed, name);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.normal();
  return values;
}
