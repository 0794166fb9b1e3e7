// A restricted interpreter of Python's pickle format, for the data.pkl of a torch.save checkpoint.
// It never imports or runs anything: it knows the data-building opcodes of protocols 2–5 (what
// torch.save writes) and resolves each GLOBAL against a whitelist of JavaScript stand-ins that the
// caller gives. A GLOBAL (or STACK_GLOBAL, or protocol 0 INST) naming anything else — os.system,
// builtins.eval, subprocess.Popen — is refused on the spot, before any later opcode is read, and
// opcodes that instantiate classes or use the extension registry are refused outright.
//
// Values: None → null, bool, int → number (integers beyond 2^53 are refused), float → number,
// str → string, tuple and list → array, dict → Map; a whitelisted global is a PickleGlobal.

/** A whitelisted global: `call` is what REDUCE does with it (absent: it may only be passed around as data). */
export class PickleGlobal {
  constructor(
    readonly name: string,
    readonly call?: (args: unknown[]) => unknown,
  ) {}
}

export interface UnpicklerOptions {
  /** Allowed globals by qualified name, e.g. "collections.OrderedDict". */
  globals: ReadonlyMap<string, PickleGlobal>;
  /** What BINPERSID does with a persistent id (torch: a storage reference). */
  persistentLoad(pid: unknown): unknown;
}

/** The pickle is malformed, truncated, or asks for something the whitelist does not allow. */
export class UnpicklingError extends Error {
  override readonly name = 'UnpicklingError';
}

const MARK = Symbol('mark');
const utf8 = new TextDecoder('utf-8', { fatal: true });

// Opcodes refused by name, so that the error says why.
const REFUSED: Readonly<Record<number, string>> = {
  0x6f: 'OBJ (instantiates a class)',
  0x81: 'NEWOBJ (instantiates a class)',
  0x92: 'NEWOBJ_EX (instantiates a class)',
  0x82: 'EXT1 (extension registry)',
  0x83: 'EXT2 (extension registry)',
  0x84: 'EXT4 (extension registry)',
  0x50: 'PERSID (text persistent id)',
};

/** Interprets `bytes` as one pickle and returns its value. */
export function unpickle(bytes: Uint8Array, options: UnpicklerOptions): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();

  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length) throw new UnpicklingError(`pickle truncated at byte ${pos} (needs ${n} more)`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = (): number => {
    const value = view.getBigUint64(need(8), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new UnpicklingError(`pickle length ${value} is too large`);
    return Number(value);
  };
  const text = (n: number): string => {
    const at = need(n);
    try {
      return utf8.decode(bytes.subarray(at, at + n));
    } catch {
      throw new UnpicklingError(`pickle string at byte ${at} is not UTF-8`);
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new UnpicklingError(`pickle truncated at byte ${pos} (a line without its newline)`);
    return text(end - pos + 1).slice(0, -1);
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw new UnpicklingError(`pickle stack underflow at byte ${pos - 1}`);
    const value = stack.pop();
    if (value === MARK) throw new UnpicklingError(`pickle pops a MARK as a value at byte ${pos - 1}`);
    return value;
  };
  const top = (): unknown => {
    const value = stack.at(-1);
    if (stack.length === 0 || value === MARK) throw new UnpicklingError(`pickle stack underflow at byte ${pos - 1}`);
    return value;
  };
  const popMark = (): unknown[] => {
    const mark = stack.lastIndexOf(MARK);
    if (mark < 0) throw new UnpicklingError(`pickle has no MARK for the opcode at byte ${pos - 1}`);
    return stack.splice(mark).slice(1);
  };
  const resolve = (module: string, name: string): PickleGlobal => {
    const qualified = `${module}.${name}`;
    const allowed = options.globals.get(qualified);
    if (allowed === undefined) {
      throw new UnpicklingError(`global ${qualified} is not allowed: a checkpoint holds tensors only, and only the globals a state dict needs are accepted`);
    }
    return allowed;
  };
  const memoGet = (index: number): unknown => {
    if (!memo.has(index)) throw new UnpicklingError(`pickle reads memo ${index}, which was never written`);
    return memo.get(index);
  };
  const asMap = (value: unknown): Map<unknown, unknown> => {
    if (!(value instanceof Map)) throw new UnpicklingError(`pickle sets items on a ${describe(value)}, not a dict`);
    return value;
  };
  const asList = (value: unknown): unknown[] => {
    if (!Array.isArray(value)) throw new UnpicklingError(`pickle appends to a ${describe(value)}, not a list`);
    return value;
  };
  const setItems = (target: Map<unknown, unknown>, items: unknown[]) => {
    if (items.length % 2 !== 0) throw new UnpicklingError('pickle SETITEMS with an odd number of values');
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const protocol = u8();
        if (protocol > 5) throw new UnpicklingError(`pickle protocol ${protocol} is not supported`);
        break;
      }
      case 0x95: // FRAME: a length prefix, nothing to do when the whole pickle is in memory
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x8a: { // LONG1
        const length = u8();
        const start = need(length);
        stack.push(littleEndianSigned(bytes.subarray(start, start + length), at));
        break;
      }
      case 0x47: // BINFLOAT
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: { // DICT
        const dict = new Map<unknown, unknown>();
        setItems(dict, popMark());
        stack.push(dict);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        asMap(top()).set(key, value);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(asMap(top()), items);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        asList(top()).push(value);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        asList(top()).push(...items);
        break;
      }
      case 0x63: { // GLOBAL: "module\nname\n"
        const module = line();
        stack.push(resolve(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new UnpicklingError(`pickle STACK_GLOBAL at byte ${at} without two strings`);
        stack.push(resolve(module, name));
        break;
      }
      case 0x69: { // INST (protocol 0): "module\nname\n", then instantiates it; refused, naming the class
        const module = line();
        resolve(module, line());
        throw new UnpicklingError(`pickle opcode INST at byte ${at} instantiates a class and is not allowed`);
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleGlobal) || callable.call === undefined) {
          throw new UnpicklingError(`pickle REDUCE at byte ${at} calls ${describe(callable)}, which cannot be called`);
        }
        if (!Array.isArray(args)) throw new UnpicklingError(`pickle REDUCE at byte ${at} has no argument tuple`);
        stack.push(callable.call(args));
        break;
      }
      case 0x62: { // BUILD: a state dict's OrderedDict carries its _metadata attribute this way
        const state = pop();
        const target = top();
        if (!(target instanceof Map) || !(state instanceof Map || state === null)) {
          throw new UnpicklingError(`pickle BUILD at byte ${at} sets state on a ${describe(target)}; only a dict's attributes are accepted (and ignored)`);
        }
        break;
      }
      case 0x51: // BINPERSID
        stack.push(options.persistentLoad(pop()));
        break;
      default: {
        const refused = REFUSED[op];
        if (refused !== undefined) throw new UnpicklingError(`pickle opcode ${refused} at byte ${at} is not allowed`);
        throw new UnpicklingError(`pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at} is not supported in a checkpoint`);
      }
    }
  }
}

/** A little-endian two's-complement integer (LONG1) as a number. */
function littleEndianSigned(digits: Uint8Array, at: number): number {
  let value = 0n;
  for (let i = digits.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(digits[i]);
  if (digits.length > 0 && digits[digits.length - 1] & 0x80) value -= 1n << BigInt(8 * digits.length);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new UnpicklingError(`pickle integer at byte ${at} is beyond 2^53`);
  }
  return Number(value);
}

function describe(value: unknown): string {
  if (value instanceof PickleGlobal) return value.name;
  if (value instanceof Map) return 'dict';
  if (Array.isArray(value)) return 'tuple or list';
  return value === null ? 'None' : typeof value;
}
