import { describe, expect, it } from 'vitest';
import { formatMsat, msatToSats, satsToMsat } from './amount.js';

describe('amounts', () => {
  it('converts sats to exact msat, including fractional sats', () => {
    expect(satsToMsat(21)).toBe(21_000n);
    expect(satsToMsat(1.1)).toBe(1_100n);
    expect(satsToMsat(0.001)).toBe(1n);
    expect(satsToMsat(5n)).toBe(5_000n);
  });

  it('refuses amounts that are negative, not finite or finer than a millisatoshi', () => {
    expect(() => satsToMsat(-1)).toThrow(RangeError);
    expect(() => satsToMsat(Number.NaN)).toThrow(RangeError);
    expect(() => satsToMsat(0.0001)).toThrow(RangeError);
  });

  it('never rounds a cost down when showing sats', () => {
    expect(msatToSats(1n)).toBe(1);
    expect(msatToSats(1_000n)).toBe(1);
    expect(msatToSats(1_001n)).toBe(2);
    expect(msatToSats(1_500n, 'exact')).toBe(1.5);
  });

  it('formats msat exactly for people and models', () => {
    expect(formatMsat(1_000n)).toBe('1 sat');
    expect(formatMsat(1_234_000n)).toBe('1,234 sats');
    expect(formatMsat(1_500n)).toBe('1.5 sats');
    expect(formatMsat(7n)).toBe('0.007 sats');
  });
});
