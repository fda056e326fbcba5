import { describe, expect, it } from 'vitest';
import { de } from '../../../console/src/i18n/de';
import { en } from '../../../console/src/i18n/en';

const PLACEHOLDER = /\{(\w+)\}/g;
const placeholders = (text: string) => [...text.matchAll(PLACEHOLDER)].map((m) => m[1]).sort();

describe('console dictionaries', () => {
  it('have the same keys in German and English', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(de).sort());
  });

  it.each(Object.keys(de) as (keyof typeof de)[])('%s: a text in both languages with the same placeholders', (key) => {
    expect(de[key].trim()).not.toBe('');
    expect(en[key].trim()).not.toBe('');
    expect(placeholders(en[key])).toEqual(placeholders(de[key]));
  });
});
