// Reading the fields of one parsed line, with errors that name the field's path.
import type { ChatMessage, ChatRole } from '../../model/chat.ts';

export type JsonObject = Record<string, unknown>;

/**
 * What is wrong with a line; the message names the field path and is shown after "line N: ". Thrown by
 * the format readers and caught for each line. Deliberately not an Error: a bad line is expected input,
 * not a bug, and capturing a stack for each of millions of bad lines would cost seconds.
 */
export class LineProblem {
  constructor(readonly message: string) {}
}

/** A value's kind in words: "a string", "an array", "null". */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** Text from the file, quoted and cut short, so that an error message stays one readable line. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Empty or only whitespace: nothing a model could learn from or condition on. */
export function isBlank(text: string): boolean {
  return text.trim().length === 0;
}

export function requireObject(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw new LineProblem(`${path} must be an object, got ${describe(value)}`);
  return value;
}

/** A string with something in it. */
export function requireText(value: unknown, path: string): string {
  if (value === undefined) throw new LineProblem(`${path} is missing`);
  if (typeof value !== 'string') throw new LineProblem(`${path} must be a string, got ${describe(value)}`);
  if (isBlank(value)) throw new LineProblem(`${path} is empty`);
  return value;
}

/** An optional string: absent, null, empty or blank all mean "not given". */
export function optionalText(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new LineProblem(`${path} must be a string, got ${describe(value)}`);
  return isBlank(value) ? undefined : value;
}

/** A non-empty array. */
export function requireList(value: unknown, path: string): unknown[] {
  if (value === undefined) throw new LineProblem(`${path} is missing`);
  if (!Array.isArray(value)) throw new LineProblem(`${path} must be an array, got ${describe(value)}`);
  if (value.length === 0) throw new LineProblem(`${path} is empty`);
  return value;
}

/** Maps a role name from the file to a chat role; names in `toolRoles` are refused as tool use. */
export function readRole(
  value: unknown,
  path: string,
  roles: Readonly<Record<string, ChatRole>>,
  toolRoles: readonly string[],
): ChatRole {
  const name = requireText(value, path);
  if (toolRoles.includes(name)) throw new LineProblem(`${path} is ${quote(name)}: tool and function calls are not supported yet`);
  if (!Object.hasOwn(roles, name)) {
    throw new LineProblem(`${path} is ${quote(name)}, an unknown role (expected ${listOf(Object.keys(roles))})`);
  }
  return roles[name];
}

/** Refuses a field that would carry tool use; absent, null and empty values mean none. */
export function refuseToolField(record: JsonObject, key: string, path: string): void {
  const value = record[key];
  if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) return;
  throw new LineProblem(`${path} is given: tool and function calls are not supported yet`);
}

/** `[[query, answer], ...]` as user and assistant turns; absent or null is no history. */
export function historyMessages(value: unknown, path: string): ChatMessage[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new LineProblem(`${path} must be an array of [query, answer] pairs, got ${describe(value)}`);
  const messages: ChatMessage[] = [];
  value.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new LineProblem(`${path}[${i}] must be a [query, answer] pair, got ${describe(pair)}${Array.isArray(pair) ? ` of ${pair.length}` : ''}`);
    }
    messages.push(
      { role: 'user', content: requireText(pair[0], `${path}[${i}][0]`) },
      { role: 'assistant', content: requireText(pair[1], `${path}[${i}][1]`) },
    );
  });
  return messages;
}

/** "a, b or c" */
export function listOf(items: readonly string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}
