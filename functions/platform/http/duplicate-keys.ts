/**
 * The first object key that appears twice in one object of a JSON text, as a path (`filters.status`, `items.2.id`).
 * JSON.parse keeps the last copy silently, so `{"status":"released","status":"blocked"}` would mean whatever the
 * last one says while a log or a proxy shows the first. Runs on text JSON.parse has accepted: one pass, no
 * backtracking; keys are compared decoded (`"a"` and `"\u0061"` are the same key).
 */
export function duplicateKey(text: string): string | undefined {
  interface Level {
    /** Keys seen so far; undefined for an array. */
    keys?: Set<string>;
    expectingKey: boolean;
    /** The current key (object) or index (array), for the path. */
    at: string;
  }
  const stack: Level[] = [];
  const path = () => stack.map((l) => l.at).join('.');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1;
      const top = stack.at(-1);
      if (top?.keys && top.expectingKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        top.at = key;
        if (top.keys.has(key)) return path();
        top.keys.add(key);
        top.expectingKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), expectingKey: true, at: '' });
    } else if (c === 0x5b /* [ */) {
      stack.push({ expectingKey: false, at: '0' });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.keys) top.expectingKey = true;
      else if (top) top.at = String(Number(top.at) + 1);
    }
  }
  return undefined;
}
