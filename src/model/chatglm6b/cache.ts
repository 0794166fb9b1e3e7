// ChatGLM-6B's decoding cache: KvCache's keys, values and key mask, plus what the 2D positions of the
// tokens after the prompt need. Every such token has position id = the row's mask position (the index of
// its [gMASK], else [MASK]) and block position = one more than the token before it (THUDM's
// prepare_inputs_for_generation), so KvCache's `nextPositions` hold each row's next block position and
// this class adds the mask positions.
import { KvCache, type LayerKeyValues } from '../kv-cache.ts';

export class ChatGlm6bCache extends KvCache {
  private masks: number[] | null = null;

  /** [batch]: each row's mask position; null until the prompt has been through the model. */
  get maskPositions(): readonly number[] | null {
    return this.masks;
  }

  /** After a forward pass: its full keys/values (KvCache.update) and each row's 2D positions so far. */
  updateWithPositions(layers: LayerKeyValues[], keyMask: number[][], maskPositions: number[], nextBlockPositions: number[]): void {
    this.update(layers, keyMask, nextBlockPositions);
    this.masks = maskPositions;
  }

  /** Each row's mask position. */
  override rowExtras(): readonly number[] | null {
    return this.masks;
  }

  override restore(layers: LayerKeyValues[], keyMask: number[][], nextPositions: number[], maskPositions: number[] | null): void {
    if (!maskPositions) throw new Error('a ChatGLM-6B cache row has no mask position');
    this.updateWithPositions(layers, keyMask, maskPositions, nextPositions);
  }
}
