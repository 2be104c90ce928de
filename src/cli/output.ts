// Results on stdout: an aligned table (or key: value lines) for people, exact JSON for scripts.
import type { IOStreams } from './io-streams.js';

export function printJson(io: IOStreams, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns padded to their widest cell; on a terminal the header is bold. */
export function printTable(io: IOStreams, headers: string[], rows: string[][]): void {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const head = line(headers);
  io.out(`${io.color && io.stdoutIsTTY ? `\u001b[1m${head}\u001b[0m` : head}\n`);
  for (const row of rows) io.out(`${line(row)}\n`);
}

export function printFields(io: IOStreams, fields: Array<[string, string | number | undefined | null]>): void {
  const shown = fields.filter(([, value]) => value !== undefined && value !== null && value !== '');
  const width = Math.max(...shown.map(([key]) => key.length));
  for (const [key, value] of shown) io.out(`${`${key}:`.padEnd(width + 1)} ${value}\n`);
}
