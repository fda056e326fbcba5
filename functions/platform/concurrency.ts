/**
 * Runs `task` for every item with at most `limit` in flight, starting them in order: independent DynamoDB round
 * trips side by side without flooding the table or the connection pool. Rejects with the first task's error.
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await task(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
