/**
 * Which queries of a PostgreSQL group commit run together as one statement. Each query is
 * either alone (`undefined`: what it touches is not known) or of a `kind` (the same statement
 * for any number of rows) touching the row `key` (none for an insert of new rows).
 *
 * A query joins the last statement of its kind, which runs where its first query stood, so it
 * moves ahead of the queries sent between. That is allowed only when none of them touches its
 * key and none is a query alone (whose rows are not known): the group's result is then the
 * same as with every query in turn. A statement never holds one key twice (an UPDATE … FROM
 * changes a row once, however many of its rows match it), and its rows stay within `maxChars`.
 * Queries of one kind keep their order, so events inserted together keep their writes' order.
 */
export interface MergeTraits {
  kind: string;
  key: string | undefined;
  chars: number;
}

/** The statements to send, in order: each the queries (by index) it runs, one for a query alone. */
export function planMerges(queries: readonly (MergeTraits | undefined)[], maxChars: number): number[][] {
  const statements: { members: number[]; keys: Set<string>; chars: number }[] = [];
  const lastOfKind = new Map<string, number>();
  /** The last statement holding each key. */
  const lastWithKey = new Map<string, number>();
  let lastAlone = -1;
  for (const [i, traits] of queries.entries()) {
    if (traits === undefined) {
      lastAlone = statements.length;
      statements.push({ members: [i], keys: new Set(), chars: 0 });
      continue;
    }
    const { kind, key, chars } = traits;
    const at = lastOfKind.get(kind);
    const joins =
      at !== undefined &&
      at > lastAlone &&
      statements[at]!.chars + chars <= maxChars &&
      (key === undefined || (!statements[at]!.keys.has(key) && (lastWithKey.get(key) ?? -1) <= at));
    const to = joins ? at : statements.length;
    if (!joins) {
      statements.push({ members: [], keys: new Set(), chars: 0 });
      lastOfKind.set(kind, to);
    }
    const statement = statements[to]!;
    statement.members.push(i);
    statement.chars += chars;
    if (key !== undefined) {
      statement.keys.add(key);
      lastWithKey.set(key, to);
    }
  }
  return statements.map((s) => s.members);
}
