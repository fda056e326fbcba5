import { describe, expect, it } from 'vitest';
import { duplicateKey } from '#platform/http/duplicate-keys';

describe('duplicateKey', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['none', '{"a":1,"b":2}', undefined],
    ['top level', '{"a":1,"a":2}', 'a'],
    ['escaped the same', '{"a":1,"\\u0061":2}', 'a'],
    ['nested', '{"f":{"s":1,"t":2,"s":3}}', 'f.s'],
    ['in an array item', '[{"x":1},{"x":1,"x":2}]', '1.x'],
    ['same key in sibling objects', '{"a":{"k":1},"b":{"k":1}}', undefined],
    ['same key at two depths', '{"k":{"k":{"k":1}}}', undefined],
    ['a value equal to a key', '{"a":"a","b":"a"}', undefined],
    ['quotes and braces inside strings', '{"a":"\\"}{,\\"a\\":","b":"[,"}', undefined],
    ['escaped backslash before the quote', '{"a\\\\":1,"a\\\\":2}', 'a\\'],
    ['__proto__ twice', '{"__proto__":1,"__proto__":2}', '__proto__'],
    ['constructor and toString once each', '{"constructor":1,"toString":2}', undefined],
    ['after an array value', '{"a":[1,{"a":2}],"a":3}', 'a'],
    ['not an object', '[1,2,"a","a"]', undefined],
    ['scalars', '"a"', undefined],
    ['whitespace', ' { "a" : 1 ,\n "a" : 2 } ', 'a'],
  ];
  it.each(cases)('%s: %s', (_name, text, expected) => {
    JSON.parse(text); // only text JSON.parse accepted reaches it
    expect(duplicateKey(text)).toBe(expected);
  });
});
