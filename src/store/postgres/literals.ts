// SQL literals for the arguments of prepared statements EXECUTEd in a simple query: those a transaction sends with its
// BEGIN or its COMMIT in one round trip (PostgresDb.transaction's openWith and commitWith; prepared.ts). Only what
// those statements need: text (escaped), integers, booleans and floats.
import pg from 'pg';

const { escapeLiteral } = pg;

/** A time (ms) or count; anything but a safe integer here is a bug, not a value to send. */
export function integerLiteral(value: number | null): string {
  if (value === null) return 'NULL';
  if (!Number.isSafeInteger(value)) throw new TypeError(`not an integer: ${value}`);
  return String(value);
}

export const textArray = (values: readonly string[]): string => `ARRAY[${values.map(escapeLiteral).join(', ')}]::text[]`;
export const bigintArray = (values: readonly (number | null)[]): string => `ARRAY[${values.map(integerLiteral).join(', ')}]::bigint[]`;
export const intArray = (values: readonly (number | null)[]): string => `ARRAY[${values.map(integerLiteral).join(', ')}]::int[]`;
export const boolArray = (values: readonly boolean[]): string => `ARRAY[${values.map((v) => (v ? 'TRUE' : 'FALSE')).join(', ')}]::bool[]`;
/** A float8 (NaN and the infinities as PostgreSQL spells them). */
const floatLiteral = (value: number | null): string => (value === null ? 'NULL' : Number.isFinite(value) ? String(value) : `'${value}'`);
export const floatArray = (values: readonly (number | null)[]): string => `ARRAY[${values.map(floatLiteral).join(', ')}]::float8[]`;
