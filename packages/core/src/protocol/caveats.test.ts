import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { caveatValues, macaroonExpiry, parseCaveat } from './caveats.js';

describe('caveats', () => {
  it('parses key=value, splitting at the first = and trimming around it', () => {
    expect(parseCaveat('services=search:0')).toEqual({ key: 'services', value: 'search:0' });
    expect(parseCaveat(' path = /a=b ')).toEqual({ key: 'path', value: '/a=b' });
    expect(parseCaveat('empty=')).toEqual({ key: 'empty', value: '' });
    expect(parseCaveat('no equals sign')).toBeUndefined();
    expect(parseCaveat('=value without key')).toBeUndefined();
  });

  it('lists the values of one key in order', () => {
    const caveats = ['services=search:0', 'search_capabilities=a,b', 'junk', 'services=search:1'];
    expect(caveatValues(caveats, 'services')).toEqual(['search:0', 'search:1']);
    expect(caveatValues(caveats, 'missing')).toEqual([]);
  });

  it('takes the earliest of all *_valid_until caveats', () => {
    expect(macaroonExpiry(['services=search:0'])).toBeUndefined();
    expect(
      macaroonExpiry(['search_valid_until=2000000000', 'other_valid_until=1700000000']),
    ).toEqual(new Date(1_700_000_000_000));
    expect(macaroonExpiry(['a_valid_until=1700000000', 'a_valid_until=1800000000'])).toEqual(
      new Date(1_700_000_000_000),
    );
  });

  it('treats an unreadable expiry as already expired', () => {
    expect(macaroonExpiry(['search_valid_until=tomorrow', 'x_valid_until=2000000000'])).toEqual(
      new Date(0),
    );
    expect(macaroonExpiry(['search_valid_until=-1'])).toEqual(new Date(0));
    expect(macaroonExpiry(['search_valid_until=1.5'])).toEqual(new Date(0));
  });

  it('keeps a far-future expiry a valid date', () => {
    const expiry = macaroonExpiry([`search_valid_until=${'9'.repeat(30)}`]);
    expect(expiry?.getTime()).toBe(8.64e15);
  });
});

describe('caveat reading against its definition', () => {
  // The definition: parse every caveat, keep those with this key (or a suffix), in order.
  const valuesByDefinition = (caveats: string[], key: string) =>
    caveats.flatMap((text) => {
      const caveat = parseCaveat(text);
      return caveat !== undefined && caveat.key === key ? [caveat.value] : [];
    });
  const piece = fc.constantFrom(
    'services',
    'search_path',
    '_valid_until',
    '=',
    ' ',
    '\t',
    'a',
    '1',
    ':',
  );
  const caveatText = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: piece, maxLength: 8 }),
  );

  it('caveatValues reads what parsing every caveat reads, for any key', () => {
    fc.assert(
      fc.property(
        fc.array(caveatText, { maxLength: 8 }),
        fc.oneof(
          fc.constantFrom('services', 'search_path', '', ' services', 'a'),
          fc.string({ maxLength: 10 }),
        ),
        (caveats, key) => {
          expect(caveatValues(caveats, key)).toEqual(valuesByDefinition(caveats, key));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('macaroonExpiry reads every key ending in _valid_until, however spaced', () => {
    fc.assert(
      fc.property(fc.array(caveatText, { maxLength: 8 }), (caveats) => {
        const expiries = caveats.flatMap((text) => {
          const caveat = parseCaveat(text);
          if (caveat === undefined || !caveat.key.endsWith('_valid_until')) return [];
          return [/^\d+$/.test(caveat.value) ? Math.min(Number(caveat.value) * 1000, 8.64e15) : 0];
        });
        expect(macaroonExpiry(caveats)?.getTime()).toBe(
          expiries.length === 0 ? undefined : Math.min(...expiries),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('macaroonExpiry reads caveats already split by parseCaveat as it reads their text', () => {
    fc.assert(
      fc.property(fc.array(caveatText, { maxLength: 8 }), fc.boolean(), (caveats, mixed) => {
        const split = caveats.flatMap((text, index) => {
          const caveat = parseCaveat(text);
          if (caveat === undefined) return [];
          return [mixed && index % 2 === 0 ? text : caveat];
        });
        expect(macaroonExpiry(split)).toEqual(macaroonExpiry(caveats));
      }),
      { numRuns: 3000 },
    );
    // Neither text nor a caveat: skipped, as a non-string always was.
    const junk = [null, 7, { key: 'a_valid_until' }, 'a_valid_until=5'] as unknown as string[];
    expect(macaroonExpiry(junk)).toEqual(new Date(5000));
  });
});
