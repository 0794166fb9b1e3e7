import test from 'node:test';
import assert from 'node:assert/strict';
import { planFusedMatMul, planMatMul } from '../../src/compute/matmul-shapes.ts';

test('planMatMul reads sizes through the transposes and broadcasts batch dims numpy-style', () => {
  const p = planMatMul([2, 1, 7, 5], [3, 4, 7], true, true);
  assert.deepEqual([p.m, p.n, p.k], [5, 4, 7]);
  assert.deepEqual([p.batchA, p.batchB, p.batchOut], [[2, 1], [1, 3], [2, 3]]);
  assert.deepEqual(p.outShape, [2, 3, 5, 4]);
  assert.deepEqual(planMatMul([5, 7], [7, 3], false, false).outShape, [5, 3]);
});

test('planMatMul refuses mismatched inner sizes and batch dims that do not broadcast', () => {
  assert.throws(() => planMatMul([5, 7], [6, 3], false, false), /inner sizes 7 and 6/);
  assert.throws(() => planMatMul([2, 5, 7], [3, 7, 3], false, false), /do not broadcast/);
  assert.throws(() => planMatMul([7], [7, 3], false, false), /rank >= 2/);
});

test('planFusedMatMul reads folded batch counts 6 and 3 as [2,3] against [1,3]', () => {
  const p = planFusedMatMul([6, 5, 7], [3, 7, 4], false, false);
  assert.deepEqual([p.batchA, p.batchB, p.batchOut, p.outShape], [[2, 3], [1, 3], [2, 3], [6, 5, 4]]);
  assert.deepEqual(planFusedMatMul([1, 5, 7], [3, 7, 4], false, false).outShape, [3, 5, 4]);
  assert.throws(() => planFusedMatMul([4, 5, 7], [3, 7, 4], false, false), /batch sizes 4 and 3/);
});
