// PyTorch .bin checkpoints: the fixture's torch.save shards against the same tensors in safetensors,
// strided and offset views, zip64, and the errors of hostile, truncated and unsupported files. Hostile
// and unusual files are assembled here, byte by byte, as torch.save and pickle.dumps lay them out.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ModelFormatError } from '../../src/model/errors.ts';
import { f16ToF32, f32ToBf16, f32ToF16, bf16ToF32 } from '../../src/model/weights/dtypes.ts';
import { SafetensorsFile } from '../../src/model/weights/safetensors.ts';
import { openTorchWeights, TorchBinFile, TORCH_INDEX_FILE, TORCH_SINGLE_FILE } from '../../src/model/weights/torch-pickle.ts';
import { PickleGlobal, unpickle, UnpicklingError } from '../../src/model/weights/torch-unpickler.ts';

const GLM1_DIR = join('test', 'fixtures', 'glm1', 'tiny-chatglm6b');
const SHARDS = ['pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin'];

mkdirSync(join('test', 'artifacts'), { recursive: true });
const scratch = mkdtempSync(join('test', 'artifacts', 'torch-pickle-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let fileCount = 0;
const scratchFile = (bytes: Uint8Array): string => {
  const path = join(scratch, `file-${fileCount++}.bin`);
  writeFileSync(path, bytes);
  return path;
};

// ---- a pickle assembler (protocol 2 opcodes, as torch.save writes them) ----

const ascii = (text: string) => Buffer.from(text, 'latin1');
const op = (code: string) => ascii(code);
const unicode = (text: string) => {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(bytes.length);
  return Buffer.concat([op('X'), length, bytes]);
};
const int = (n: number) => {
  if (n < 256) return Buffer.from([0x4b, n]); // BININT1
  const b = Buffer.alloc(5);
  b[0] = 0x4a; // BININT
  b.writeInt32LE(n, 1);
  return b;
};
const global = (module: string, name: string) => ascii(`c${module}\n${name}\n`);
const tuple = (...items: Buffer[]) => Buffer.concat([op('('), ...items, op('t')]);
const PROTO_2 = Buffer.from([0x80, 0x02]);
/** Protocol 4: PROTO 4, then one FRAME holding `body`. */
const framed = (body: Buffer) => {
  const frame = Buffer.alloc(9);
  frame[0] = 0x95;
  frame.writeBigUInt64LE(BigInt(body.length), 1);
  return Buffer.concat([Buffer.from([0x80, 0x04]), frame, body]);
};
const REDUCE = op('R');
const STOP = op('.');

interface TensorSpec {
  name: string;
  storageClass: string;
  key: string;
  numel: number;
  offset: number;
  shape: number[];
  stride: number[];
}

/** The state dict pickle torch.save writes: {name: _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())}. */
function stateDictPickle(tensors: TensorSpec[], extra: Buffer = Buffer.alloc(0)): Buffer {
  const items = tensors.map((t) =>
    Buffer.concat([
      unicode(t.name),
      global('torch._utils', '_rebuild_tensor_v2'),
      tuple(
        tuple(unicode('storage'), global('torch', t.storageClass), unicode(t.key), unicode('cpu'), int(t.numel)),
        op('Q'), // BINPERSID
        int(t.offset),
        tuple(...t.shape.map(int)),
        tuple(...t.stride.map(int)),
        Buffer.from([0x89]), // NEWFALSE: requires_grad
        global('collections', 'OrderedDict'),
        op(')'),
        REDUCE,
      ),
      REDUCE,
    ]),
  );
  return Buffer.concat([PROTO_2, op('}'), op('('), ...items, extra, op('u'), STOP]);
}

// ---- a zip writer with torch.save's layout: <archive>/data.pkl, <archive>/data/<key>, stored entries ----

interface ZipOptions {
  zip64?: boolean;
  method?: number;
}

function zip(entries: Array<[string, Uint8Array]>, options: ZipOptions = {}): Buffer {
  const method = options.method ?? 0;
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(45, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(method, 10);
    header.writeUInt32LE(crc32(data), 16);
    header.writeUInt32LE(data.length, 20);
    header.writeUInt32LE(data.length, 24);
    header.writeUInt16LE(nameBytes.length, 28);
    let zip64Extra = Buffer.alloc(0);
    if (options.zip64) {
      // The local header offset moves into a zip64 extra field, as it does past 4 GiB.
      zip64Extra = Buffer.alloc(12);
      zip64Extra.writeUInt16LE(0x0001, 0);
      zip64Extra.writeUInt16LE(8, 2);
      zip64Extra.writeBigUInt64LE(BigInt(offset), 4);
      header.writeUInt32LE(0xffffffff, 42);
    } else {
      header.writeUInt32LE(offset, 42);
    }
    header.writeUInt16LE(zip64Extra.length, 30);
    parts.push(local, nameBytes, Buffer.from(data));
    central.push(header, nameBytes, zip64Extra);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  if (!options.zip64) {
    eocd.writeUInt16LE(entries.length, 8);
    eocd.writeUInt16LE(entries.length, 10);
    eocd.writeUInt32LE(directory.length, 12);
    eocd.writeUInt32LE(offset, 16);
    return Buffer.concat([...parts, directory, eocd]);
  }
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeBigUInt64LE(BigInt(entries.length), 24);
  record.writeBigUInt64LE(BigInt(entries.length), 32);
  record.writeBigUInt64LE(BigInt(directory.length), 40);
  record.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  eocd.writeUInt32LE(0xffffffff, 12);
  eocd.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([...parts, directory, record, locator, eocd]);
}

const bytesOf = (values: Float32Array | Uint16Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

/** A torch.save archive named "archive" (torch's name when saving to a buffer) holding `pickle` and `storages`. */
const torchFile = (pickle: Buffer, storages: Record<string, Uint8Array> = {}, options: ZipOptions = {}) =>
  scratchFile(
    zip(
      [
        ['archive/data.pkl', pickle],
        ['archive/byteorder', ascii('little')],
        ...Object.entries(storages).map(([key, data]): [string, Uint8Array] => [`archive/data/${key}`, data]),
        ['archive/version', ascii('3\n')],
      ],
      options,
    ),
  );

// ---- the fixture ----

test('the fixture shards give the tensors of model.f16.safetensors bit for bit', () => {
  const weights = openTorchWeights(GLM1_DIR);
  const reference = SafetensorsFile.open(join(GLM1_DIR, 'model.f16.safetensors'));
  assert.deepEqual(weights.names().sort(), reference.names().sort());
  assert.equal(weights.location, join(GLM1_DIR, TORCH_INDEX_FILE));
  for (const name of reference.names()) {
    assert.deepEqual(weights.shape(name), reference.info(name).shape, name);
    const [ours, theirs] = [weights.read(name), reference.read(name)];
    assert.ok(Buffer.from(bytesOf(ours)).equals(Buffer.from(bytesOf(theirs))), `${name} differs`);
  }
  const index = JSON.parse(readFileSync(join(GLM1_DIR, TORCH_INDEX_FILE), 'utf8')) as { weight_map: Record<string, string> };
  for (const shard of SHARDS) {
    const file = TorchBinFile.open(join(GLM1_DIR, shard));
    const listed = Object.keys(index.weight_map).filter((name) => index.weight_map[name] === shard);
    assert.deepEqual(file.names().sort(), listed.sort(), shard);
    for (const name of listed) assert.equal(file.info(name).dtype, 'F16');
  }
});

test('a folder with one pytorch_model.bin, or a .bin path, opens as a weight source', () => {
  const dir = mkdtempSync(join(scratch, 'single-'));
  copyFileSync(join(GLM1_DIR, SHARDS[0]), join(dir, TORCH_SINGLE_FILE));
  const fromFolder = openTorchWeights(dir);
  const fromPath = openTorchWeights(join(GLM1_DIR, SHARDS[0]));
  assert.deepEqual(fromFolder.names(), fromPath.names());
  const name = 'transformer.layers.0.attention.query_key_value.weight';
  assert.deepEqual(fromFolder.read(name), fromPath.read(name));
  assert.deepEqual(fromFolder.shape(name), [192, 64]);
  assert.throws(() => openTorchWeights(scratch), /no pytorch_model\.bin or pytorch_model\.bin\.index\.json/);
});

// ---- layouts ----

test('storage offsets, strides (a transposed view) and shared storages are honoured, in every float type', () => {
  const storage = Float32Array.from({ length: 12 }, (_, i) => (i - 5) * 0.375); // exact in f16 and bf16
  const at = (i: number) => storage[i];
  const views: Array<Omit<TensorSpec, 'storageClass' | 'key' | 'numel'>> = [
    { name: 'matrix', offset: 0, shape: [3, 4], stride: [4, 1] },
    { name: 'transposed', offset: 0, shape: [4, 3], stride: [1, 4] },
    { name: 'slice', offset: 5, shape: [2, 3], stride: [3, 1] },
    { name: 'column', offset: 1, shape: [3, 1], stride: [4, 7] },
    { name: 'every_other', offset: 1, shape: [2, 2], stride: [6, 2] },
    { name: 'scalar', offset: 11, shape: [], stride: [] },
    { name: 'empty', offset: 0, shape: [0, 4], stride: [4, 1] },
  ];
  // What each view holds, element by element in row-major order.
  const expected = (view: (typeof views)[number]): number[] => {
    const out: number[] = [];
    const walk = (d: number, index: number) => {
      if (d === view.shape.length) out.push(at(index));
      else for (let i = 0; i < view.shape[d]; i++) walk(d + 1, index + i * view.stride[d]);
    };
    walk(0, view.offset);
    return out;
  };
  const encodings: Array<[string, Uint8Array, (x: number[]) => number[]]> = [
    ['FloatStorage', bytesOf(storage), (x) => x],
    ['HalfStorage', bytesOf(f32ToF16(storage)), (x) => [...f16ToF32(f32ToF16(Float32Array.from(x)))]],
    ['BFloat16Storage', bytesOf(f32ToBf16(storage)), (x) => [...bf16ToF32(f32ToBf16(Float32Array.from(x)))]],
  ];
  for (const [storageClass, bytes, rounded] of encodings) {
    const path = torchFile(stateDictPickle(views.map((v) => ({ ...v, storageClass, key: '0', numel: 12 }))), { 0: bytes });
    const file = TorchBinFile.open(path);
    for (const view of views) {
      assert.deepEqual([...file.read(view.name)], rounded(expected(view)), `${storageClass} ${view.name}`);
      assert.deepEqual(file.info(view.name).shape, view.shape);
    }
  }
});

test('a zip64 archive (as torch writes past 4 GiB) reads like any other', () => {
  const values = Float32Array.from([1.5, -2, 3.25]);
  const pickle = stateDictPickle([{ name: 'w', storageClass: 'FloatStorage', key: '0', numel: 3, offset: 0, shape: [3], stride: [1] }]);
  const file = TorchBinFile.open(torchFile(pickle, { 0: bytesOf(values) }, { zip64: true }));
  assert.deepEqual(file.read('w'), values);
});

// ---- hostile pickles ----

const hostile: Array<[string, Buffer, RegExp]> = [
  ['GLOBAL os.system + REDUCE', Buffer.concat([PROTO_2, global('os', 'system'), tuple(unicode('echo pwned')), REDUCE, STOP]), /global os\.system is not allowed/],
  ['GLOBAL builtins.eval + REDUCE', Buffer.concat([PROTO_2, global('builtins', 'eval'), tuple(unicode('1+1')), REDUCE, STOP]), /global builtins\.eval is not allowed/],
  [
    // pickle.dumps(protocol=2) of an object whose __reduce__ returns (os.system, ('echo pwned',)), on Linux
    '__reduce__ payload (protocol 2)',
    Buffer.concat([PROTO_2, ascii('cposix\nsystem\nq\x00'), unicode('echo pwned'), ascii('q\x01\x85q\x02Rq\x03.')]),
    /global posix\.system is not allowed/,
  ],
  [
    // pickle.dumps(protocol=4) of the same for subprocess.Popen: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL
    '__reduce__ payload (protocol 4, STACK_GLOBAL)',
    framed(
      Buffer.concat([
        Buffer.from([0x8c, 10]), ascii('subprocess'), Buffer.from([0x94]),
        Buffer.from([0x8c, 5]), ascii('Popen'), Buffer.from([0x94, 0x93, 0x94]),
        Buffer.from([0x8c, 2]), ascii('id'), Buffer.from([0x94, 0x85, 0x94]), REDUCE, STOP,
      ]),
    ),
    /global subprocess\.Popen is not allowed/,
  ],
  ['protocol 0 __reduce__ payload', ascii("cos\nsystem\n(S'echo pwned'\ntR."), /global os\.system is not allowed/],
  ['protocol 0 INST', ascii('(ios\nsystem\n.'), /global os\.system is not allowed/],
  [
    // A valid tensor first, then a dangerous global inside the state dict
    'hostile global after a tensor',
    stateDictPickle(
      [{ name: 'w', storageClass: 'FloatStorage', key: '0', numel: 1, offset: 0, shape: [1], stride: [1] }],
      Buffer.concat([unicode('x'), global('builtins', 'exec'), tuple(unicode('import os')), REDUCE]),
    ),
    /global builtins\.exec is not allowed/,
  ],
  ['NEWOBJ of a whitelisted class', Buffer.concat([PROTO_2, global('collections', 'OrderedDict'), op(')'), Buffer.from([0x81]), STOP]), /NEWOBJ \(instantiates a class\)/],
  ['REDUCE of a storage class', Buffer.concat([PROTO_2, global('torch', 'FloatStorage'), op(')'), REDUCE, STOP]), /calls torch\.FloatStorage, which cannot be called/],
  ['extension registry', Buffer.concat([PROTO_2, Buffer.from([0x82, 1]), STOP]), /EXT1 \(extension registry\)/],
];

for (const [title, pickle, message] of hostile) {
  test(`a hostile pickle is refused, naming what it asked for: ${title}`, () => {
    const path = torchFile(pickle, { 0: new Uint8Array(4) });
    assert.throws(
      () => TorchBinFile.open(path),
      (e: Error) => e instanceof ModelFormatError && e.message.startsWith(`${path}: `) && message.test(e.message),
    );
  });
}

test('a refused GLOBAL stops the unpickler before it reads anything after it', () => {
  let persistentLoads = 0;
  const options = {
    globals: new Map([['torch.FloatStorage', new PickleGlobal('torch.FloatStorage')]]),
    persistentLoad: () => persistentLoads++,
  };
  const persistentId = tuple(unicode('storage'), global('torch', 'FloatStorage'), unicode('0'), unicode('cpu'), int(1));
  // The same persistent load is reached when nothing dangerous comes first…
  unpickle(Buffer.concat([PROTO_2, persistentId, op('Q'), STOP]), options);
  assert.equal(persistentLoads, 1);
  // …and is never reached after a refused global.
  const payload = Buffer.concat([PROTO_2, global('os', 'system'), persistentId, op('Q'), tuple(unicode('id')), REDUCE, STOP]);
  assert.throws(() => unpickle(payload, options), (e: Error) => e instanceof UnpicklingError && /os\.system/.test(e.message));
  assert.equal(persistentLoads, 1);
});

// ---- broken and unsupported files ----

test('a truncated checkpoint is a clear error wherever it is cut', () => {
  const whole = readFileSync(join(GLM1_DIR, SHARDS[0]));
  for (const length of [0, 3, 100, Math.floor(whole.length / 2), whole.length - 1]) {
    const path = scratchFile(whole.subarray(0, length));
    assert.throws(
      () => TorchBinFile.open(path),
      (e: Error) => e instanceof ModelFormatError && /truncated|not a torch\.save zip archive/.test(e.message),
      `cut at ${length}`,
    );
  }
  const cutPickle = stateDictPickle([{ name: 'w', storageClass: 'FloatStorage', key: '0', numel: 1, offset: 0, shape: [1], stride: [1] }]).subarray(0, 40);
  assert.throws(() => TorchBinFile.open(torchFile(cutPickle, { 0: new Uint8Array(4) })), /pickle truncated at byte/);
  // A storage cut short inside a well-formed archive.
  const short = torchFile(stateDictPickle([{ name: 'w', storageClass: 'FloatStorage', key: '0', numel: 4, offset: 0, shape: [4], stride: [1] }]), { 0: new Uint8Array(12) });
  assert.throws(() => TorchBinFile.open(short), /tensor "w": storage 0 has 12 bytes, not 4 float32 elements/);
});

test('tensors of other dtypes, views past their storage and missing storages are refused by name', () => {
  const spec = (overrides: Partial<TensorSpec>): TensorSpec => ({ name: 'w', storageClass: 'FloatStorage', key: '0', numel: 4, offset: 0, shape: [4], stride: [1], ...overrides });
  const cases: Array<[TensorSpec, Record<string, Uint8Array>, RegExp]> = [
    [spec({ name: 'position_ids', storageClass: 'LongStorage' }), { 0: new Uint8Array(32) }, /tensor "position_ids" has dtype int64; only float32, float16 and bfloat16 are supported/],
    [spec({ storageClass: 'DoubleStorage' }), { 0: new Uint8Array(32) }, /dtype float64/],
    [spec({ offset: 2, shape: [3] }), { 0: new Uint8Array(16) }, /reaches past its storage of 4 elements/],
    [spec({ key: '7' }), { 0: new Uint8Array(16) }, /storage 7 is missing from the archive/],
  ];
  for (const [tensor, storages, message] of cases) assert.throws(() => TorchBinFile.open(torchFile(stateDictPickle([tensor]), storages)), message);

  const notTensor = Buffer.concat([PROTO_2, op('}'), unicode('step'), int(5), op('s'), STOP]);
  assert.throws(() => TorchBinFile.open(torchFile(notTensor)), /state dict entry "step" is not a named tensor/);
  const mystery = Buffer.concat([PROTO_2, global('torch', 'FloatStorage'), STOP]);
  assert.throws(() => TorchBinFile.open(torchFile(mystery)), /does not hold a state dict/);
});

test('legacy, compressed and big-endian files are refused with what to do', () => {
  const pickle = stateDictPickle([{ name: 'w', storageClass: 'FloatStorage', key: '0', numel: 1, offset: 0, shape: [1], stride: [1] }]);
  assert.throws(() => TorchBinFile.open(scratchFile(pickle)), /pre-1\.6 legacy format is not supported/);
  assert.throws(() => TorchBinFile.open(torchFile(pickle, { 0: new Uint8Array(4) }, { method: 8 })), /compressed \(method 8\)/);
  const bigEndian = scratchFile(zip([['archive/data.pkl', pickle], ['archive/byteorder', ascii('big')], ['archive/data/0', new Uint8Array(4)]]));
  assert.throws(() => TorchBinFile.open(bigEndian), /"big"-endian; only little-endian/);
});

test('a sharded index that lists a missing shard or a tensor a shard lacks is refused', () => {
  const dir = mkdtempSync(join(scratch, 'index-'));
  for (const shard of SHARDS) copyFileSync(join(GLM1_DIR, shard), join(dir, shard));
  const index = JSON.parse(readFileSync(join(GLM1_DIR, TORCH_INDEX_FILE), 'utf8'));
  writeFileSync(join(dir, TORCH_INDEX_FILE), JSON.stringify({ ...index, weight_map: { ...index.weight_map, 'extra.weight': SHARDS[0] } }));
  assert.throws(() => openTorchWeights(dir), /tensor "extra\.weight" is not in shard pytorch_model-00001-of-00002\.bin/);
  writeFileSync(join(dir, TORCH_INDEX_FILE), JSON.stringify({ ...index, weight_map: { ...index.weight_map, 'extra.weight': 'pytorch_model-00003-of-00002.bin' } }));
  assert.throws(() => openTorchWeights(dir), /shard pytorch_model-00003-of-00002\.bin is missing/);
  truncateSync(join(dir, SHARDS[1]), 1000);
  writeFileSync(join(dir, TORCH_INDEX_FILE), JSON.stringify(index));
  assert.throws(() => openTorchWeights(dir), (e: Error) => e instanceof ModelFormatError && e.message.includes(SHARDS[1]) && /truncated/.test(e.message));
});
