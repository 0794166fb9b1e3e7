// The streaming validator on whole files: line numbers, chunking, encodings and hostile input.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createDatasetValidator, validateDataset } from '../../src/datasets/index.ts';
import { bytesOf, jsonl, onlyError, streamOf, validate } from './helpers.ts';

const good = '{"prompt":"p","completion":"c"}';

/** A file with one of each kind of problem, between good lines; also used for the chunking test. */
const mixedFile = [
  good, //                                                  1
  '{"prompt":"p","completion":}', //                        2 bad JSON
  '["prompt","completion"]', //                              3 not an object
  '', //                                                     4 blank: skipped
  '{"prompt":"p"}', //                                       5 missing field
  '{"prompt":"p","completion":"  "}', //                    6 empty
  '{"instruction":"i","output":"o"}', //                     7 other format
  `{"prompt":"é","completion":"${'長'.repeat(50)}"}`, //     8 good, multi-byte
  '   ', //                                                  9 blank: skipped
  good, //                                                  10
].join('\n');

const mixedFileErrors = [
  { line: 2, message: 'line 2: invalid JSON (expected a value at column 28, found "}")' },
  { line: 3, message: 'line 3: expected a JSON object, got an array' },
  { line: 5, message: 'line 5: completion is missing' },
  { line: 6, message: 'line 6: completion is empty' },
  { line: 7, message: 'line 7: looks like Alpaca but earlier lines are prompt/completion (from line 1)' },
];

test('each bad line is reported with its number; good and blank lines are counted', () => {
  assert.deepEqual(validate(mixedFile), {
    ok: false,
    format: 'prompt-completion',
    examples: 3,
    characters: 2 + 51 + 2,
    lines: 10,
    errors: mixedFileErrors,
    errorCount: 5,
  });
});

test('chunk boundaries anywhere give the identical report', () => {
  const whole = validate(mixedFile);
  for (const size of [1, 2, 3, 7, 64]) assert.deepEqual(validate(mixedFile, {}, size), whole, `chunks of ${size} bytes`);
  const crlf = mixedFile.replaceAll('\n', '\r\n') + '\r\n';
  for (const size of [1, 7, Infinity]) assert.deepEqual(validate(crlf, {}, size), whole, `CRLF in chunks of ${size} bytes`);
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytesOf(mixedFile)]);
  for (const size of [1, 2, 7, Infinity]) assert.deepEqual(validate(bom, {}, size), whole, `BOM in chunks of ${size} bytes`);
});

test('a trailing newline does not add a line; a last line without one is read', () => {
  assert.equal(validate(`${good}\n${good}\n`).lines, 2);
  assert.equal(validate(`${good}\n${good}`).examples, 2);
  assert.equal(validate(`${good}\n\n\n`).lines, 3);
});

test('a BOM is only accepted at the start of the file', () => {
  assert.equal(validate(`\uFEFF${good}\n`).ok, true);
  assert.equal(onlyError(`${good}\n\uFEFF${good}\n`), 'line 2: invalid JSON (expected a value at column 1, found "\uFEFF")');
  // One or two bytes that begin like a BOM are data.
  assert.equal(onlyError(new Uint8Array([0xef, 0xbb])), 'line 1: not valid UTF-8 (at byte 1)');
});

test('invalid UTF-8 is reported with its line and byte', () => {
  const bytes = new Uint8Array([...bytesOf(`${good}\n{"prompt":"a`), 0xc3, 0x28, ...bytesOf('","completion":"c"}\n')]);
  for (const size of [1, Infinity]) {
    assert.deepEqual(validate(bytes, {}, size).errors, [{ line: 2, message: 'line 2: not valid UTF-8 (at byte 13)' }]);
  }
  // A multi-byte character cut off by the end of the line.
  assert.equal(onlyError(new Uint8Array([...bytesOf('{"prompt":"'), 0xe4, 0xbd, 0x0a])), 'line 1: not valid UTF-8 (at byte 12)');
  // An encoded surrogate (CESU-8) is not UTF-8.
  assert.equal(onlyError(new Uint8Array([...bytesOf('{"prompt":"'), 0xed, 0xa0, 0x80, 0x0a])), 'line 1: not valid UTF-8 (at byte 12)');
});

test('NUL bytes are refused, inside strings or out', () => {
  assert.equal(onlyError(`${good}\n{"prompt":"a\0b","completion":"c"}\n`), 'line 2: contains a NUL byte (at byte 13)');
  assert.equal(onlyError(`\0${good}\n`), 'line 1: contains a NUL byte (at byte 1)');
});

test('a line of exactly maxLineBytes is read; one byte more is refused', () => {
  const line = `{"prompt":"${'x'.repeat(50)}","completion":"c"}`;
  const maxLineBytes = line.length;
  assert.equal(validate(`${line}\n`, { maxLineBytes }).ok, true);
  assert.equal(validate(`${line}\r\n`, { maxLineBytes }, 7).ok, true, 'the CR of CRLF does not count');
  for (const size of [1, 7, Infinity]) {
    const report = validate(`${good}\n ${line}\n${good}`, { maxLineBytes }, size);
    assert.deepEqual(report.errors, [{ line: 2, message: `line 2: longer than the limit of ${maxLineBytes} bytes` }]);
    assert.equal(report.examples, 2);
    assert.equal(report.lines, 3);
  }
});

test('a 50 MB line streams past without being buffered', () => {
  const validator = createDatasetValidator();
  const piece = new Uint8Array(64 * 1024).fill(0x61); // one buffer pushed again and again
  const before = process.memoryUsage();
  validator.push(bytesOf(`${good}\n{"prompt":"`));
  for (let sent = 0; sent < 50 * 1024 * 1024; sent += piece.length) validator.push(piece);
  validator.push(bytesOf(`","completion":"c"}\n${good}\n`));
  const after = process.memoryUsage();
  const report = validator.finish();
  assert.deepEqual(report.errors, [{ line: 2, message: 'line 2: longer than the limit of 1048576 bytes' }]);
  assert.equal(report.examples, 2);
  // At most one line of 1 MiB is held (buffering the line would add 50 MB); the rest is margin for garbage.
  const grown = after.arrayBuffers - before.arrayBuffers + (after.heapUsed - before.heapUsed);
  assert.ok(grown < 16 * 1024 * 1024, `memory grew by ${grown} bytes`);
});

test('JSON nested 100,000 levels deep is refused before parsing, without a crash', () => {
  const deep = `{"prompt":${'['.repeat(100_000)}${']'.repeat(100_000)},"completion":"c"}`;
  assert.equal(onlyError(`${good}\n${deep}\n`), 'line 2: JSON nested more than 64 levels deep (at byte 74)');
  assert.equal(onlyError(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`), 'line 1: JSON nested more than 64 levels deep (at byte 321)');
  // Brackets inside strings are text, not nesting.
  assert.equal(validate(jsonl({ prompt: '['.repeat(1000), completion: '{'.repeat(1000) })).ok, true);
  assert.equal(validate(`{"prompt":[[1]],"completion":"c"}`, { maxDepth: 2 }).errors[0].message, 'line 1: JSON nested more than 2 levels deep (at byte 12)');
});

test('a 0-byte file is an error, and so is a file with no examples', () => {
  assert.deepEqual(validate(''), {
    ok: false,
    format: undefined,
    examples: 0,
    characters: 0,
    lines: 0,
    errors: [{ message: 'the file is empty (0 bytes)' }],
    errorCount: 1,
  });
  assert.deepEqual(validate('\n  \r\n\n').errors, [{ message: 'the file has no examples' }]);
  assert.deepEqual(validate(new Uint8Array([0xef, 0xbb, 0xbf])).errors, [{ message: 'the file has no examples' }]);
  // When every line was reported, "no examples" adds nothing.
  assert.deepEqual(validate('{}\n').errors.length, 1);
});

test('errors are capped at the first 20 and all are counted', () => {
  const lines = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? good : '{"prompt":1,"completion":"c"}'));
  const report = validate(lines.join('\n'));
  assert.equal(report.errorCount, 50);
  assert.equal(report.errors.length, 20);
  assert.deepEqual(report.errors.slice(0, 2), [
    { line: 2, message: 'line 2: prompt must be a string, got a number' },
    { line: 4, message: 'line 4: prompt must be a string, got a number' },
  ]);
  assert.equal(report.errors[19].line, 40);
  assert.equal(validate(lines.join('\n'), { maxErrors: 3 }).errors.length, 3);
});

test('validateDataset reads an async source; the validator refuses use after finish', async () => {
  assert.deepEqual(await validateDataset(streamOf(bytesOf(mixedFile), 5)), validate(mixedFile));
  const validator = createDatasetValidator();
  validator.push(bytesOf(good));
  validator.finish();
  assert.throws(() => validator.push(bytesOf(good)), /already finished/);
});

test('a million tiny lines validate in bounded time and memory', () => {
  // One 64 KiB chunk of whole lines pushed until a million lines have gone by.
  let text = '';
  let perChunk = 0;
  while (text.length < 64 * 1024) text += `{"prompt":"p${perChunk}","completion":"c${perChunk++}"}\n`;
  const chunk = bytesOf(text);
  const validator = createDatasetValidator();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  for (let lines = 0; lines < 1_000_000; lines += perChunk) validator.push(chunk);
  const report = validator.finish();
  const seconds = (performance.now() - started) / 1000;
  assert.equal(report.ok, true);
  assert.ok(report.examples >= 1_000_000);
  // About 1 s here on one core; the bound leaves room for a busy machine.
  assert.ok(seconds < 15, `took ${seconds.toFixed(1)} s`);
  // Keeping anything per line would hold hundreds of MB; the margin is for uncollected garbage.
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, 'the heap kept nothing per line');
});

test('after a syntax error, later lines are judged and described the same way', () => {
  const report = validate([good, '{"prompt":"p",}', good, '{"prompt":"p" "completion":"c"}', good, '[1]'].join('\n'));
  assert.equal(report.examples, 3);
  assert.deepEqual(report.errors.map((e) => e.message), [
    'line 2: invalid JSON (expected a property name in double quotes at column 15, found "}")',
    'line 4: invalid JSON (expected "," or "}" at column 15, found "\\"")',
    'line 6: expected a JSON object, got an array',
  ]);
});

/** Best of three runs, in seconds, of validating `bytes` pushed `times` times. */
function timeValidation(bytes: Uint8Array, times: number): number {
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const validator = createDatasetValidator();
    const started = performance.now();
    for (let i = 0; i < times; i++) validator.push(bytes);
    validator.finish();
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return best;
}

test('a file of bad lines costs little more per line than a good one', () => {
  // Each kind of cheap-to-write bad line. A throw per line (JSON.parse, a fatal decoder, an Error with
  // its stack) costs microseconds; it made this file several times slower than the good one.
  const badLines = [bytesOf('x'), bytesOf('{x}'), bytesOf('{"prompt":1,"completion":"c"}'), Uint8Array.of(0x7b, 0xff, 0x7d), bytesOf('{"a":"\0"}')];
  const bad = Uint8Array.from(Array.from({ length: 20_000 }, (_, i) => [...badLines[i % badLines.length], 0x0a]).flat());
  const report = validate(bad);
  assert.equal(report.errorCount, 20_000);
  assert.deepEqual(report.errors.slice(0, 5).map((e) => e.message), [
    'line 1: invalid JSON (expected a value at column 1, found "x")',
    'line 2: invalid JSON (expected a property name in double quotes at column 2, found "x")',
    'line 3: prompt must be a string, got a number',
    'line 4: not valid UTF-8 (at byte 2)',
    'line 5: contains a NUL byte (at byte 7)',
  ]);
  const good = bytesOf(`${'{"prompt":"p","completion":"c"}\n'.repeat(20_000)}`);
  const badSeconds = timeValidation(bad, 5);
  const goodSeconds = timeValidation(good, 5);
  assert.ok(badSeconds < 3 * goodSeconds, `100,000 bad lines took ${badSeconds.toFixed(2)} s, good ones ${goodSeconds.toFixed(2)} s`);
});
