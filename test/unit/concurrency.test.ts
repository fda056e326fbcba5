import { describe, expect, it } from 'vitest';
import { forEachConcurrently } from '#platform/concurrency';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('forEachConcurrently', () => {
  it('runs every item once, never more than the limit at a time, starting them in order', async () => {
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    await forEachConcurrently([...Array(25).keys()], 4, async (item, index) => {
      expect(item).toBe(index);
      started.push(item);
      most = Math.max(most, ++inFlight);
      await tick();
      inFlight--;
    });
    expect(started).toEqual([...Array(25).keys()]);
    expect(most).toBe(4);
  });

  it('rejects with a task error, and does nothing for no items', async () => {
    await expect(
      forEachConcurrently([1, 2, 3], 2, async (n) => {
        if (n === 2) throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    let ran = false;
    await forEachConcurrently([], 3, async () => {
      ran = true;
    });
    expect(ran).toBe(false);
  });
});
