// A sequence of statements written once for both drivers. better-sqlite3 runs a transaction
// synchronously (its function must not await), pg asynchronously, so a sequence that reads, decides
// and writes (deleteUser, updateUser) cannot be one async function. It is a generator instead: it
// yields each statement and receives the statement's result; runStepsSync feeds it from
// better-sqlite3 on the calling tick (inside db.transaction), runStepsAsync awaits pg between steps.
// Hot paths (getExtension, listing) do not come through here: they keep their own prepared,
// array-mode statements.

/** One statement: `rows` answers with the rows (keyed), `run` with the number of rows changed. */
export interface SqlRequest {
  kind: 'rows' | 'run';
  text: string;
  values: readonly unknown[];
}

export type SqlSteps<T> = Generator<SqlRequest, T, unknown>;

/** Runs a SELECT (or a statement with RETURNING) and answers its rows. */
export function* selectRows<Row>(text: string, values: readonly unknown[] = []): SqlSteps<Row[]> {
  return (yield { kind: 'rows', text, values }) as Row[];
}

/** Runs a statement and answers how many rows it changed. */
export function* execute(text: string, values: readonly unknown[] = []): SqlSteps<number> {
  return (yield { kind: 'run', text, values }) as number;
}

export function runStepsSync<T>(steps: SqlSteps<T>, run: (request: SqlRequest) => unknown): T {
  let step = steps.next();
  while (!step.done) step = steps.next(run(step.value));
  return step.value;
}

export async function runStepsAsync<T>(steps: SqlSteps<T>, run: (request: SqlRequest) => Promise<unknown>): Promise<T> {
  let step = steps.next();
  while (!step.done) step = steps.next(await run(step.value));
  return step.value;
}
