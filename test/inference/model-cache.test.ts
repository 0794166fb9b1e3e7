// The model cache's decisions, with loads that take time like real ones: single-flight loading, LRU
// eviction of unpinned entries under the budget, adapters evicted with their model, refusals.
import assert from 'node:assert/strict';
import test from 'node:test';
import { type CacheEntry, InsufficientMemoryError, type LoadPlan, ModelCache } from '../../src/inference/model-cache.ts';

function setup(budget: number, threads = 1) {
  const unloaded: string[] = [];
  const loads: string[] = [];
  const cache = new ModelCache(budget, threads, (entry) => unloaded.push(entry.key));
  const plan = (key: string, bytes: number, base?: string, fail = false): LoadPlan => ({
    key,
    kind: base ? 'adapter' : 'model',
    base,
    estimatedBytes: bytes,
    load: async () => {
      loads.push(key);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (fail) throw new Error(`cannot load ${key}`);
      return bytes;
    },
  });
  return { cache, plan, unloaded, loads };
}

test('ten concurrent acquires of a cold model load it once; all get the same entry', async () => {
  const { cache, plan, loads } = setup(100);
  const entries = await Promise.all(Array.from({ length: 10 }, () => cache.acquire(plan('a', 10))));
  assert.deepEqual(loads, ['a']);
  assert.ok(entries.every((e) => e === entries[0]));
  assert.equal(entries[0].pins, 10);
  assert.deepEqual(cache.stats().loads, { model: 1, adapter: 0 });
});

test('least recently used unpinned entries are evicted to make room; pinned ones never', async () => {
  const { cache, plan, unloaded } = setup(30);
  const a = await cache.acquire(plan('a', 10));
  const b = await cache.acquire(plan('b', 10));
  const c = await cache.acquire(plan('c', 10));
  cache.release(a);
  cache.release(c);
  cache.release(b); // b used last; a is the least recently used
  await cache.acquire(plan('d', 10));
  assert.deepEqual(unloaded, ['a']);
  const pinned = await cache.acquire(plan('b', 10));
  cache.release((await cache.acquire(plan('c', 10))) as CacheEntry);
  await cache.acquire(plan('e', 10)); // b is pinned, d is pinned: c goes
  assert.deepEqual(unloaded, ['a', 'c']);
  await assert.rejects(cache.acquire(plan('f', 10)), InsufficientMemoryError, 'everything left is in use');
  assert.equal(cache.stats().usedBytes, 30);
  cache.release(pinned);
});

test('an adapter lives in its model’s thread and is evicted with it; a model with a pinned adapter stays', async () => {
  const { cache, plan, unloaded } = setup(40, 2);
  const base = await cache.acquire(plan('base', 20));
  const adapter = await cache.acquire(plan('lora', 5, 'base'));
  assert.equal(adapter.thread, base.thread);
  const other = await cache.acquire(plan('other', 10));
  assert.notEqual(other.thread, base.thread, 'a new model goes to the emptier thread');
  cache.release(base);
  cache.release(other);
  await assert.rejects(cache.acquire(plan('big', 30)), InsufficientMemoryError); // base held through its adapter; other is too small alone
  assert.deepEqual(unloaded, [], 'a refusal evicts nothing');
  cache.release(adapter);
  await cache.acquire(plan('big', 30));
  assert.deepEqual(unloaded, ['base'], 'the least recently used model goes, its adapter with it (the thread frees both)');
  assert.deepEqual(cache.stats().entries.map((e) => e.key).sort(), ['big', 'other']);
});

test('a failed load is reported to every waiter and tried again by the next request; a model larger than the budget is refused', async () => {
  const { cache, plan, loads } = setup(100);
  const results = await Promise.allSettled([cache.acquire(plan('x', 10, undefined, true)), cache.acquire(plan('x', 10, undefined, true))]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  assert.equal(cache.stats().entries.length, 0);
  await cache.acquire(plan('x', 10));
  assert.deepEqual(loads, ['x', 'x']);
  await assert.rejects(cache.acquire(plan('huge', 101)), /more than the whole inference memory budget/);
});

test('a dead thread’s entries are forgotten, so the next request loads them again', async () => {
  const { cache, plan, loads } = setup(100);
  const a = await cache.acquire(plan('a', 10));
  cache.forgetThread(a.thread);
  await cache.acquire(plan('a', 10));
  assert.deepEqual(loads, ['a', 'a']);
});
