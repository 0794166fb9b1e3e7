// Matrix-multiply and dequantisation throughput of the CPU compute paths, inside TF.js's wasm backend:
//   stock        the wasm backend's own BatchMatMul (XNNPACK)
//   npm-only     the transposing/broadcasting wrapper around it (src/compute/transposing-matmul.ts)
//   openblas 1t  glmtune-native's SGEMM as the BatchMatMul kernel, 1 OpenBLAS thread (2t: two)
//   raw 1t       the same SGEMM called directly on typed arrays: what the TF.js kernel plumbing costs
// Shapes are those of ../shared/notes/tfjs-on-cpu.md (M×K×N; "tA"/"tB": that operand is stored transposed).
// Each figure is the best of --rounds interleaved rounds (default 3): the machine is shared.
//
// Usage: npx tsx bench/matmul.ts [--rounds N] [--json]
// OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE when it loads, so to measure its own kernel choice
// unset both in the command: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE npx tsx bench/matmul.ts
// (the script prints which core type OpenBLAS is using).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { dequantize, quantizeInt8Weight, quantizeNF4Weight, type QuantizedWeight } from '../src/compute/dequant.ts';
import { registerDequantKernels } from '../src/compute/dequant-kernels.ts';
import { registerJsKernels } from '../src/compute/js-kernels.ts';
import { loadNative } from '../src/compute/native.ts';
import { registerNativeMatMul } from '../src/compute/native-matmul.ts';
import { replaceKernel, stockKernel } from '../src/compute/registry.ts';
import { registerTransposingMatMul } from '../src/compute/transposing-matmul.ts';

const flag = (name: string): number => process.argv.indexOf(name);
const rounds = flag('--rounds') > 0 ? Number(process.argv[flag('--rounds') + 1]) : 3;
const json = flag('--json') > 0;

const load = loadNative();
if (!load.kernels) throw new Error(`bench/matmul.ts needs glmtune-native: ${load.reason}`);
const native = load.kernels;
await tf.setBackend('wasm');
registerJsKernels('wasm');

interface Shape { name: string; batch: number; m: number; k: number; n: number; ta: boolean; tb: boolean }
const SHAPES: Shape[] = [
  { name: '1024³', batch: 1, m: 1024, k: 1024, n: 1024, ta: false, tb: false },
  { name: '512×256×512 (QKV forward)', batch: 1, m: 512, k: 256, n: 512, ta: false, tb: false },
  { name: '512×256×1376 (MLP up)', batch: 1, m: 512, k: 256, n: 1376, ta: false, tb: false },
  { name: '256×512×1376 tA (dW)', batch: 1, m: 256, k: 512, n: 1376, ta: true, tb: false },
  { name: '512×256×4096 (LM head)', batch: 1, m: 512, k: 256, n: 4096, ta: false, tb: false },
  { name: '512×4096×256 tB (dX)', batch: 1, m: 512, k: 4096, n: 256, ta: false, tb: true },
  { name: '8× 256×64×128 tB (QKᵀ)', batch: 8, m: 256, k: 64, n: 128, ta: false, tb: true },
];

type Engine = 'stock' | 'npm-only' | 'openblas 1t' | 'openblas 2t' | 'raw 1t';
const ENGINES: Engine[] = ['stock', 'npm-only', 'openblas 1t', 'openblas 2t', 'raw 1t'];

function useEngine(engine: Engine): void {
  if (engine === 'stock') {
    replaceKernel(stockKernel('BatchMatMul', 'wasm'));
    replaceKernel(stockKernel('_FusedMatMul', 'wasm'));
  } else if (engine === 'npm-only') {
    registerTransposingMatMul();
  } else {
    registerNativeMatMul('wasm', native);
  }
  native.setThreads(engine === 'openblas 2t' ? 2 : 1);
}

/** Seconds per call: repeats fn until 0.3 s have passed (at least twice, after a warm-up call). */
function secondsPerCall(fn: () => void): number {
  fn();
  let calls = 0;
  const start = performance.now();
  do {
    fn();
    calls++;
  } while (calls < 2 || performance.now() - start < 300);
  return (performance.now() - start) / 1000 / calls;
}

/** Stored operand shapes; batched shapes (attention) have a batch on both sides. */
function operandShapes(s: Shape): [number[], number[]] {
  const a = s.ta ? [s.k, s.m] : [s.m, s.k], b = s.tb ? [s.n, s.k] : [s.k, s.n];
  return s.batch > 1 ? [[s.batch, ...a], [s.batch, ...b]] : [a, b];
}

function timeMatMul(s: Shape, engine: Engine): number {
  const [aShape, bShape] = operandShapes(s);
  const a = tf.randomNormal(aShape), b = tf.randomNormal(bShape);
  let seconds: number;
  if (engine === 'raw 1t') {
    const av = a.dataSync() as Float32Array, bv = b.dataSync() as Float32Array, c = new Float32Array(s.batch * s.m * s.n);
    seconds = secondsPerCall(() => native.sgemm(av, bv, c, [s.batch], [s.batch], s.m, s.n, s.k, s.ta, s.tb, null));
  } else {
    seconds = secondsPerCall(() => tf.matMul(a, b, s.ta, s.tb).dispose());
  }
  tf.dispose([a, b]);
  return (2 * s.batch * s.m * s.k * s.n) / seconds / 1e9;
}

const gflops = new Map<string, number>();
for (let round = 0; round < rounds; round++) {
  for (const engine of ENGINES) {
    useEngine(engine);
    for (const s of SHAPES) {
      const key = `${s.name}|${engine}`;
      gflops.set(key, Math.max(gflops.get(key) ?? 0, timeMatMul(s, engine)));
    }
  }
}
native.setThreads(1);

// Dequantisation of a 1024×1024 weight, through the TF.js kernels, and the matmul that consumes it.
const n = 1024 * 1024, values = tf.randomNormal([n]).dataSync() as Float32Array;
const weights: [string, QuantizedWeight][] = [
  ['NF4', quantizeNF4Weight(values, [1024, 1024])],
  ['NF4 + double quant', quantizeNF4Weight(values, [1024, 1024], { doubleQuant: true })],
  ['int8 rows', quantizeInt8Weight(values, [1024, 1024])],
];
const dequantMs = new Map<string, number>();
for (let round = 0; round < rounds; round++) {
  for (const kind of ['native', 'js'] as const) {
    registerDequantKernels('wasm', kind === 'native' ? native : undefined);
    for (const [name, w] of weights) {
      const key = `${name}|${kind}`;
      const ms = secondsPerCall(() => dequantize(w).dispose()) * 1000;
      dequantMs.set(key, Math.min(dequantMs.get(key) ?? Infinity, ms));
    }
  }
}
registerNativeMatMul('wasm', native);
const x = tf.randomNormal([512, 1024]), w = tf.randomNormal([1024, 1024]);
const consumerMs = secondsPerCall(() => tf.matMul(x, w).dispose()) * 1000;

const { blas, coreType } = native.config();
const env = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'].map((v) => `${v}=${process.env[v] ?? '(unset)'}`).join(' ');
console.log(`OpenBLAS: ${blas.trim()}; kernels in use: ${coreType}; ${env}`);
console.log(`GFLOPS, best of ${rounds} interleaved rounds, inside TF.js wasm (raw: SGEMM on typed arrays)\n`);
const pad = (s: string, w: number): string => s.padEnd(w);
console.log(pad('shape', 28) + ENGINES.map((e) => pad(e, 13)).join(''));
for (const s of SHAPES) {
  console.log(pad(s.name, 28) + ENGINES.map((e) => pad(gflops.get(`${s.name}|${e}`)!.toFixed(1), 13)).join(''));
}
console.log('\nDequantisation of 1024×1024 weights through the TF.js kernels (ms, best; Gweights/s)');
for (const [name] of weights) {
  const [nat, js] = ['native', 'js'].map((k) => dequantMs.get(`${name}|${k}`)!);
  console.log(`${pad(name, 22)} native ${nat.toFixed(2)} ms (${(n / nat / 1e6).toFixed(2)})   js ${js.toFixed(2)} ms (${(n / js / 1e6).toFixed(2)})`);
}
console.log(`for scale, the matmul that consumes it, [512×1024]·[1024×1024] on OpenBLAS 1t: ${consumerMs.toFixed(2)} ms`);
if (json) {
  console.log(JSON.stringify({
    blas: { config: blas.trim(), coreType, env: Object.fromEntries(['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'].map((v) => [v, process.env[v] ?? null])) },
    gflops: Object.fromEntries(SHAPES.map((s) => [s.name, Object.fromEntries(ENGINES.map((e) => [e, gflops.get(`${s.name}|${e}`)]))])),
    dequant_ms: Object.fromEntries(dequantMs),
    consumer_matmul_ms: consumerMs,
  }));
}
