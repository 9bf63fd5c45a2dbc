/**
 * Errors a user can act on: each names the argument, what was given and what is allowed.
 */
export class OctetArgumentError extends Error {
  override name = 'OctetArgumentError';
  constructor(
    readonly argument: string,
    readonly given: unknown,
    readonly allowed: string,
  ) {
    super(`${argument}: got ${describe(given)}; allowed: ${allowed}`);
  }
}

/** Short, readable description of a bad value for an error message. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.length <= 8 ? `[${value.map(describe).join(', ')}]` : `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as { length: number }).length}`;
  if (typeof value === 'function') return 'a function';
  return `an object (${value.constructor?.name ?? 'Object'})`;
}

/** Throws an OctetArgumentError unless `ok`. */
export function check(ok: boolean, argument: string, given: unknown, allowed: string): asserts ok {
  if (!ok) throw new OctetArgumentError(argument, given, allowed);
}
