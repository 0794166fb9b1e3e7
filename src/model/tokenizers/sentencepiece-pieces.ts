// The piece texts of a SentencePiece model file (a ModelProto protobuf), in id order. The SentencePiece
// package can encode and decode but cannot look a piece up by its text, which is how THUDM's
// tokenizers find their special ids (sp.PieceToId).

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Piece texts of `model` (ModelProto field 1, each a SentencePiece whose field 1 is the text). */
export function readSentencePieces(model: Uint8Array): string[] {
  const pieces: string[] = [];
  forEachLengthDelimited(model, 0, model.length, 1, (start, end) => {
    let piece: string | undefined;
    forEachLengthDelimited(model, start, end, 1, (textStart, textEnd) => {
      piece = utf8.decode(model.subarray(textStart, textEnd));
    });
    if (piece === undefined) throw new Error(`not a SentencePiece model: a piece without text at byte ${start}`);
    pieces.push(piece);
  });
  if (pieces.length === 0) throw new Error('not a SentencePiece model: no pieces');
  return pieces;
}

/** Calls `visit(start, end)` for each length-delimited field number `field` of the message in model[start, end). */
function forEachLengthDelimited(
  model: Uint8Array,
  start: number,
  end: number,
  field: number,
  visit: (start: number, end: number) => void,
): void {
  let offset = start;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (offset >= end) throw new Error('not a SentencePiece model: truncated protobuf varint');
      const byte = model[offset++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  };
  while (offset < end) {
    const key = varint();
    const wireType = key % 8;
    if (wireType === 0) varint();
    else if (wireType === 1) offset += 8;
    else if (wireType === 2) {
      const length = varint();
      if (offset + length > end) throw new Error('not a SentencePiece model: truncated protobuf field');
      if (Math.floor(key / 8) === field) visit(offset, offset + length);
      offset += length;
    } else if (wireType === 5) offset += 4;
    else throw new Error(`not a SentencePiece model: protobuf wire type ${wireType} at byte ${offset}`);
    if (offset > end) throw new Error('not a SentencePiece model: truncated protobuf field');
  }
}
