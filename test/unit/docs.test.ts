import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate, PROJECT_ROOT } from '#scripts/docs';

/**
 * The documentation is part of the product: its generated tables match the code they come from, its links
 * and paths lead somewhere in this repository, and it states the rules itself instead of citing a document
 * that is not here.
 */

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = resolve(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

const DOCS = [resolve(PROJECT_ROOT, 'README.md'), ...markdownFiles(resolve(PROJECT_ROOT, 'docs'))];
const name = (file: string) => relative(PROJECT_ROOT, file);
const read = (file: string) => readFileSync(file, 'utf8');

/** The text outside fenced code blocks, where a `[x](y)` is a link. */
const prose = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, '');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces → `-`, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, text] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const plain = text!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = plain
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

interface Link {
  file: string;
  target: string;
}

function links(file: string): Link[] {
  const text = prose(read(file)).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => ({ file, target: m[1]! }));
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

describe('generated sections', () => {
  it.each(generate().map((g) => [g.file, g] as const))('%s is up to date (run `npm run docs`)', (_file, g) => {
    expect(g.current).toBe(g.expected);
  });
});

describe('links in README.md and docs/', () => {
  const all = DOCS.flatMap(links);

  it('there are links to check', () => {
    expect(all.length).toBeGreaterThan(50);
  });

  it('every relative link points at a file of this repository', () => {
    const broken = all
      .filter((l) => !isExternal(l.target) && !l.target.startsWith('#'))
      .filter((l) => !existsSync(resolve(dirname(l.file), decodeURIComponent(l.target.split('#')[0]!))))
      .map((l) => `${name(l.file)} → ${l.target}`);
    expect(broken).toEqual([]);
  });

  it('every anchor names a heading of its page', () => {
    const broken = all
      .filter((l) => !isExternal(l.target) && l.target.includes('#'))
      .filter((l) => {
        const [path, anchor] = l.target.split('#') as [string, string];
        const page = path === '' ? l.file : resolve(dirname(l.file), path);
        return page.endsWith('.md') && existsSync(page) && !anchors(read(page)).has(anchor);
      })
      .map((l) => `${name(l.file)} → ${l.target}`);
    expect(broken).toEqual([]);
  });

  it('README.md links to every page in docs/', () => {
    const readme = resolve(PROJECT_ROOT, 'README.md');
    const linked = new Set(links(readme).map((l) => resolve(PROJECT_ROOT, l.target.split('#')[0]!)));
    const unlinked = DOCS.filter((file) => file !== readme && !linked.has(file)).map(name);
    expect(unlinked).toEqual([]);
  });

  it('every repository path named in code spans exists', () => {
    const roots = /^(?:functions|lib|local|scripts|test|bin|layers|docs|\.github)\/[\w./-]*$/;
    const missing = DOCS.flatMap((file) =>
      [...read(file).matchAll(/`([^`\n]+)`/g)]
        .map((m) => m[1]!)
        .filter((path) => roots.test(path) && !existsSync(resolve(PROJECT_ROOT, path)))
        .map((path) => `${name(file)}: ${path}`),
    );
    expect(missing).toEqual([]);
  });
});

describe('the docs state the rules themselves', () => {
  // Spelled so that a search for the forbidden words does not find this test.
  const forbidden: Array<[string, RegExp]> = [
    ['a citation of an outside specification', /\bS[P]EC\b/],
    ['a path outside the repository', /\.\.\/shared/],
    [
      'development history',
      /\b(?:audit (?:round|finding)|(?:round|session|sprint) \d+|audit \d+[a-z]? #\d+|finding \d+|issue #\d+)/i,
    ],
  ];

  it.each(forbidden)('no file contains %s', (_what, pattern) => {
    const hits = DOCS.flatMap((file) =>
      read(file)
        .split('\n')
        .flatMap((line, i) => (pattern.test(line) ? [`${name(file)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(hits).toEqual([]);
  });
});
