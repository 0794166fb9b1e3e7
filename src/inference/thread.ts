// An inference thread: holds loaded models (each with its LoRA adapters and P-tuning prefixes) and
// runs a continuous batch per model, off the main thread. It reads local folders only; the main
// thread decides what is loaded where (its model cache) and stages the files.
import * as tf from '@tensorflow/tfjs';
import { parentPort } from 'node:worker_threads';
import { initCompute } from '../compute/backend.ts';
import type { CausalLanguageModel } from '../model/language-model.ts';
import { loadModel } from '../model/load.ts';
import { loadLora, readLoraLayers, type LoadedLora } from '../methods/lora/load.ts';
import { LoraModel } from '../methods/lora/model.ts';
import { loadPrefix } from '../methods/ptuning/format.ts';
import { BatchEngine, type EngineEvents } from './batch-engine.ts';
import { type FromThread, fromThreadSchema, type GenerateRequest, type LoadSource, toThreadSchema } from './protocol.ts';

if (!parentPort) throw new Error('inference/thread.ts runs as a worker thread');
const port = parentPort;

function send(message: FromThread): void {
  port.postMessage(fromThreadSchema.parse(message));
}

interface LoadedModel {
  model: CausalLanguageModel;
  engine: BatchEngine;
}

interface LoadedAdapter {
  base: string;
  lora?: LoadedLora;
  prefix?: tf.Tensor2D;
}

const models = new Map<string, LoadedModel>();
const adapters = new Map<string, LoadedAdapter>();
/** Which engine runs each request, for cancel messages. */
const requests = new Map<string, BatchEngine>();
let maxBatch = 16;

const events: EngineEvents = {
  prompt: (id, tokens) => send({ type: 'prompt', id, tokens }),
  tokens: (id, tokens) => send({ type: 'tokens', id, tokens }),
  finished: (id, index, reason) => send({ type: 'finished', id, index, reason }),
  failed: (id, message) => {
    requests.delete(id);
    send({ type: 'failed', id, message });
  },
};

function load(key: string, source: LoadSource): void {
  const before = tf.memory().numBytes;
  if (source.kind === 'model') {
    const model = loadModel(source.dir);
    models.set(key, { model, engine: new BatchEngine(model, maxBatch, events) });
  } else {
    const base = models.get(source.base);
    if (!base) throw new Error(`the base model ${source.base} is not loaded`);
    adapters.set(key, source.kind === 'lora' ? { base: source.base, lora: loadLora(base.model, source.dir) } : { base: source.base, prefix: loadPrefix(base.model, source.dir) });
  }
  send({ type: 'loaded', key, bytes: tf.memory().numBytes - before });
}

function unloadAdapter(key: string): void {
  const adapter = adapters.get(key);
  adapter?.lora?.dispose();
  adapter?.prefix?.dispose();
  adapters.delete(key);
}

function unload(key: string): void {
  const loaded = models.get(key);
  if (loaded) {
    for (const [adapterKey, adapter] of adapters) if (adapter.base === key) unloadAdapter(adapterKey);
    loaded.engine.dispose();
    loaded.model.dispose();
    models.delete(key);
  } else {
    unloadAdapter(key);
  }
}

function generate(message: GenerateRequest): void {
  const loaded = models.get(message.model);
  const adapter = message.adapter === undefined ? undefined : adapters.get(message.adapter);
  if (!loaded || (message.adapter !== undefined && adapter?.base !== message.model)) {
    send({ type: 'failed', id: message.id, message: `model ${message.adapter ?? message.model} is not loaded in this thread` });
    return;
  }
  requests.set(message.id, loaded.engine);
  loaded.engine.submit({ ...message, stopIds: new Set(message.stopIds), adapters: adapter?.lora?.adapters, prefix: adapter?.prefix });
  schedule();
}

async function merge(id: string, key: string, adapterDir: string, baseDir: string, outDir: string): Promise<void> {
  const loaded = models.get(key);
  if (!loaded) throw new Error(`the base model ${key} is not loaded`);
  const { settings, layers } = readLoraLayers(loaded.model, adapterDir);
  // A LoraModel over the shared base only to export: its merged export adds B·A to copies of the
  // weights, tensor by tensor, and never changes the base that other requests use.
  const lora = new LoraModel('lora', loaded.model, settings, layers);
  try {
    await lora.export(outDir, { merged: true, baseDir });
  } finally {
    lora.dispose();
  }
  send({ type: 'merged', id });
}

// The decoding loop: one tick per busy model per round, yielding to the message queue in between so
// that new requests and cancellations are seen at the next token.
let looping = false;
function schedule(): void {
  if (looping) return;
  looping = true;
  setImmediate(loop);
}

function loop(): void {
  let busy = false;
  for (const { engine } of models.values()) {
    if (!engine.busy) continue;
    engine.tick();
    busy ||= engine.busy;
  }
  for (const [id, engine] of requests) if (!engine.busy) requests.delete(id);
  if (busy) setImmediate(loop);
  else looping = false;
}

port.on('message', (raw: unknown) => {
  const message = toThreadSchema.parse(raw);
  switch (message.type) {
    case 'init':
      maxBatch = message.maxBatch;
      initCompute(message.compute.backend, { native: message.compute.native, blasThreads: message.compute.blasThreads }).then(
        (info) => send({ type: 'ready', compute: { ...info } }),
        (err: unknown) => send({ type: 'failed', id: 'init', message: (err as Error).message }),
      );
      break;
    case 'load':
      try {
        load(message.key, message.source);
      } catch (err) {
        send({ type: 'load-failed', key: message.key, message: (err as Error).message });
      }
      break;
    case 'unload':
      unload(message.key);
      break;
    case 'generate':
      generate(message);
      break;
    case 'memory':
      send({ type: 'memory', id: message.id, tensorBytes: tf.memory().numBytes });
      break;
    case 'cancel':
      requests.get(message.id)?.cancel(message.id, message.index);
      break;
    case 'merge':
      merge(message.id, message.model, message.adapterDir, message.baseDir, message.outDir).catch((err: unknown) =>
        send({ type: 'failed', id: message.id, message: (err as Error).message }),
      );
      break;
  }
});
