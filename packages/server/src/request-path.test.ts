import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalPath, splitTarget } from './request-path.js';

describe('canonicalPath', () => {
  it('keeps ordinary paths as they are, trailing slash included', () => {
    for (const path of ['/', '/search', '/articles/1/', '/a-b_c.d~e', '/caf%C3%A9', '/a%2Fb']) {
      expect(canonicalPath(path)).toBe(path);
    }
  });

  it('writes every escape one way: plain characters decoded, the others upper case', () => {
    expect(canonicalPath('/%70remium')).toBe('/premium');
    expect(canonicalPath('/%7Euser')).toBe('/~user');
    expect(canonicalPath('/a%21')).toBe('/a!');
    expect(canonicalPath('/caf%c3%a9')).toBe('/caf%C3%A9');
    expect(canonicalPath('/café')).toBe('/caf%C3%A9');
    expect(canonicalPath('/a b')).toBe('/a%20b');
    expect(canonicalPath('/a%2fb')).toBe('/a%2Fb');
    expect(canonicalPath('/100%25')).toBe('/100%25');
    expect(canonicalPath('/a^b')).toBe('/a%5Eb');
  });

  it('refuses paths that routers read as different resources', () => {
    for (const path of [
      '/cheap/../premium',
      '/cheap/%2e%2e/premium',
      '/cheap/%2E%2E/premium',
      '/cheap/.%2e/premium',
      '/./premium',
      '/cheap/..',
      '//premium',
      '/cheap//premium',
      '/cheap\\..\\premium',
      '/a%zz',
      '/a%2',
      'premium',
      '',
      '*',
    ]) {
      expect(canonicalPath(path), path).toBeUndefined();
    }
  });

  it('is stable: a canonical path stays the same through itself and through WHATWG URL', () => {
    const character = fc.oneof(
      fc.constantFrom(...'/%.~-_!*()\'";:@&=+$,^`{}|[]<> aAzZ09é\u{1F600}'.split('')),
      fc.string({ minLength: 1, maxLength: 1 }),
    );
    fc.assert(
      fc.property(fc.string({ unit: character, maxLength: 30 }), (tail) => {
        const canonical = canonicalPath(`/${tail}`);
        if (canonical === undefined) return;
        expect(canonicalPath(canonical)).toBe(canonical);
        expect(new URL(`http://shop.test${canonical}`).pathname).toBe(canonical);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('splitTarget', () => {
  it('reads origin-form and absolute-form targets', () => {
    expect(splitTarget('/a/b?x=1&y=2')).toEqual({ path: '/a/b', query: '?x=1&y=2' });
    expect(splitTarget('/a#frag')).toEqual({ path: '/a', query: '' });
    expect(splitTarget('http://shop.test/a?q#f')).toEqual({ path: '/a', query: '?q' });
    expect(splitTarget('http://shop.test')).toEqual({ path: undefined, query: '' });
    expect(splitTarget('*')).toEqual({ path: undefined, query: '' });
    expect(splitTarget('/cheap/../premium?x')).toEqual({ path: '/cheap/../premium', query: '?x' });
  });
});
