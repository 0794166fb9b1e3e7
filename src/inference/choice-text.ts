// The text of one generated sequence, built token by token on the main thread: incremental
// detokenization (a token's text is shown once it decodes to whole characters, as Hugging Face TGI
// and vLLM do it), stop strings (the text ends before the first one completed; a possible match's
// beginning is held back until it is decided), and the reply format. Streamed pieces concatenate to the final
// text exactly: both come from this one object.
import type { ReplyFormat } from './reply-format.ts';

export class ChoiceText {
  private readonly ids: number[] = [];
  /** Tokens before prefixOffset are settled text; [prefixOffset, readOffset) is decoded again as context. */
  private prefixOffset = 0;
  private readOffset = 0;
  private raw = '';
  /** Positions up to this one were checked for stop strings. */
  private searchedTo = 0;
  private shown = '';
  private readonly longestStop: number;
  /** The stop string that ended the text, once one did. */
  stoppedBy?: string;

  constructor(
    private readonly decode: (ids: readonly number[]) => string,
    private readonly stops: readonly string[],
    private readonly format: ReplyFormat,
  ) {
    this.longestStop = Math.max(0, ...stops.map((s) => s.length));
  }

  /** Everything shown so far. */
  get text(): string {
    return this.shown;
  }

  /** Adds a generated token; returns the new text that can be shown (often ''). */
  push(id: number): string {
    if (this.stoppedBy !== undefined) return '';
    this.ids.push(id);
    const before = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const after = this.decode(this.ids.slice(this.prefixOffset));
    // U+FFFD at the end: the token ends inside a character; wait for the rest of its bytes.
    if (after.length > before.length && !after.endsWith('\uFFFD')) {
      this.raw += after.slice(before.length);
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      if (this.findStop()) return this.show(true);
    }
    return this.show(false);
  }

  /** Generation ended: the rest of the text. */
  end(): string {
    if (this.stoppedBy === undefined) {
      const before = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
      const after = this.decode(this.ids.slice(this.prefixOffset));
      if (after.length > before.length) this.raw += after.slice(before.length);
      this.findStop();
    }
    return this.show(true);
  }

  /**
   * The text ends before the first stop string to be completed, character by character (so the
   * result does not depend on how tokens split the text); of two completed by the same character,
   * the longer.
   */
  private findStop(): boolean {
    for (let end = this.searchedTo + 1; end <= this.raw.length; end++) {
      let stop: string | undefined;
      for (const s of this.stops) if (s.length <= end && this.raw.startsWith(s, end - s.length) && s.length > (stop?.length ?? 0)) stop = s;
      if (stop !== undefined) {
        this.raw = this.raw.slice(0, end - stop.length);
        this.stoppedBy = stop;
        return true;
      }
    }
    this.searchedTo = this.raw.length;
    return false;
  }

  private show(final: boolean): string {
    const settled = final ? this.raw : this.raw.slice(0, Math.max(0, this.raw.length - Math.max(0, this.longestStop - 1)));
    const visible = final ? this.format.final(settled) : this.format.partial(settled);
    if (!visible.startsWith(this.shown)) return ''; // cannot take back what was shown
    const delta = visible.slice(this.shown.length);
    this.shown = visible;
    return delta;
  }
}
