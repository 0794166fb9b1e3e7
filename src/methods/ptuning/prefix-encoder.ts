// THUDM's PrefixEncoder: prefix_encoder(arange(P)) gives [P, kv], the past keys/values of every layer
// (kv = num_layers·2·multi_query_group_num·kv_channels in ChatGLM2/3, num_layers·2·hidden_size in
// ChatGLM-6B). Either the embedding itself, or with prefix_projection a two-layer MLP over it:
//   embedding [P, e] → trans.0: Linear(e, width) → tanh → trans.2: Linear(width, kv)
// where ChatGLM2/3 embed at e = kv and ChatGLM-6B at e = hidden_size; THUDM's width is hidden_size.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../model/config.ts';
import { ModelFormatError } from '../../model/errors.ts';
import type { WeightSource } from '../../model/weights/checkpoint.ts';
import { kaimingUniform, standardNormal, uniform } from '../init.ts';

const EMBEDDING = 'transformer.prefix_encoder.embedding.weight';
const TRANS_0 = 'transformer.prefix_encoder.trans.0';
const TRANS_2 = 'transformer.prefix_encoder.trans.2';

/** The prefix encoder's shape: P slots, and the MLP's width when it has one (null: embedding only). */
export interface PrefixShape {
  preSeqLen: number;
  projectionWidth: number | null;
}

/** Width of one prefix row: keys and values of every layer, as the model's ForwardOptions.prefix takes them. */
function prefixWidth(config: ModelConfig): number {
  const perLayer = config.architecture === 'chatglm2' ? config.multiQueryGroupNum * config.kvChannels : config.hiddenSize;
  return config.numLayers * 2 * perLayer;
}

/** Tensor names and shapes of an encoder of `shape` on a model of `config`, in THUDM's names. */
function tensorShapes(config: ModelConfig, shape: PrefixShape): Map<string, number[]> {
  const kv = prefixWidth(config);
  const width = shape.projectionWidth;
  if (width === null) return new Map([[EMBEDDING, [shape.preSeqLen, kv]]]);
  const embedded = config.architecture === 'chatglm2' ? kv : config.hiddenSize;
  return new Map([
    [EMBEDDING, [shape.preSeqLen, embedded]],
    [`${TRANS_0}.weight`, [width, embedded]],
    [`${TRANS_0}.bias`, [width]],
    [`${TRANS_2}.weight`, [kv, width]],
    [`${TRANS_2}.bias`, [kv]],
  ]);
}

export class PrefixEncoder {
  private constructor(readonly shape: PrefixShape, readonly parameters: ReadonlyMap<string, tf.Variable>) {}

  /**
   * A new encoder as torch initialises THUDM's: the embedding N(0, 1) (nn.Embedding), each Linear's
   * weight and bias U(−1/√in, 1/√in) (nn.Linear's kaiming-uniform with a = √5). Seeded per tensor name.
   */
  static init(config: ModelConfig, shape: PrefixShape, seed: number): PrefixEncoder {
    const shapes = tensorShapes(config, shape);
    const values = new Map<string, Float32Array>();
    for (const [name, dims] of shapes) {
      const size = dims.reduce((a, b) => a * b, 1);
      if (name === EMBEDDING) values.set(name, standardNormal(seed, name, size));
      else if (name.endsWith('.weight')) values.set(name, kaimingUniform(seed, name, dims as [number, number]));
      else {
        const fanIn = shapes.get(name.replace(/bias$/, 'weight'))![1]; // a bias takes its weight's bound
        values.set(name, uniform(seed, name, size, 1 / Math.sqrt(fanIn)));
      }
    }
    return PrefixEncoder.fromValues(config, shape, (name) => values.get(name)!);
  }

  /** The encoder saved in `source` (THUDM names); its shape is read from the tensors and checked against the model. */
  static read(config: ModelConfig, source: WeightSource): PrefixEncoder {
    const names = source.names();
    if (!names.includes(EMBEDDING)) throw new ModelFormatError(`${source.location}: missing tensor "${EMBEDDING}"`);
    const [preSeqLen] = source.shape(EMBEDDING);
    const projectionWidth = names.includes(`${TRANS_0}.weight`) ? source.shape(`${TRANS_0}.weight`)[0] : null;
    const expected = tensorShapes(config, { preSeqLen, projectionWidth });
    for (const name of names) if (!expected.has(name)) throw new ModelFormatError(`${source.location}: unexpected tensor "${name}"`);
    for (const [name, dims] of expected) {
      if (!names.includes(name)) throw new ModelFormatError(`${source.location}: missing tensor "${name}"`);
      const actual = source.shape(name);
      if (actual.length !== dims.length || actual.some((n, i) => n !== dims[i])) {
        throw new ModelFormatError(`${source.location}: tensor "${name}" has shape [${actual}], expected [${dims}] for this model`);
      }
    }
    return PrefixEncoder.fromValues(config, { preSeqLen, projectionWidth }, (name) => source.read(name));
  }

  private static fromValues(config: ModelConfig, shape: PrefixShape, values: (name: string) => Float32Array): PrefixEncoder {
    const parameters = new Map<string, tf.Variable>();
    for (const [name, dims] of tensorShapes(config, shape)) {
      const t = tf.tensor(values(name), dims);
      parameters.set(name, tf.variable(t, false));
      t.dispose();
    }
    return new PrefixEncoder(shape, parameters);
  }

  /** prefix_encoder(arange(P)): [P, kv], the model's ForwardOptions.prefix. */
  forward(): tf.Tensor2D {
    return tf.tidy(() => {
      const embedding = this.parameters.get(EMBEDDING)! as tf.Tensor2D; // arange(P) looks up every row in order
      if (this.shape.projectionWidth === null) return tf.clone(embedding); // a copy: the caller may dispose it
      const p = (name: string): tf.Tensor => this.parameters.get(name)!;
      const hidden = tf.tanh(tf.add(tf.matMul(embedding, p(`${TRANS_0}.weight`), false, true), p(`${TRANS_0}.bias`))); // [P, width]
      return tf.add(tf.matMul(hidden, p(`${TRANS_2}.weight`), false, true), p(`${TRANS_2}.bias`)) as tf.Tensor2D; // [P, kv]
    });
  }

  dispose(): void {
    tf.dispose([...this.parameters.values()]);
  }
}
