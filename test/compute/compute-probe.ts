// Run by compute-paths.test.ts in a child process (the compute path is chosen once per process): initialises
// compute the way the service does, checks every matmul pattern and dequantisation against references, trains
// a toy model and glm-tiny (full and LoRA) five steps each, and prints what it found as one JSON line.
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { dequantize, quantizeNF4Weight } from '../../src/compute/dequant.ts';
import { decodeNF4, quantizeNF4 } from '../../src/compute/quant/nf4.ts';
import { packNibbles } from '../../src/compute/quant/planes.ts';
import { glmTrainingLosses } from './glm-training.ts';
import { checkFusedCases, checkMatMulCases, trainingLosses } from './matmul-checks.ts';
import { randomValues } from './reference.ts';

const info = await initCompute('auto');
checkMatMulCases(); // throws on any mismatch
checkFusedCases();
const values = randomValues(64 * 10 + 3, 1);
const expected = new Float32Array(values.length);
const { codes, absmax } = quantizeNF4(values);
decodeNF4(packNibbles(codes), absmax, expected, 64);
const w = quantizeNF4Weight(values, [values.length]);
const dequantExact = tf.tidy(() => dequantize(w).dataSync().every((v, i) => v === expected[i]));
console.log(JSON.stringify({ info, losses: trainingLosses(), glmLosses: await glmTrainingLosses(), dequantExact }));
