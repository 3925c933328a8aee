import type { L402Error } from '@l402kit/core';
import fc from 'fast-check';

/**
 * Runs `parse`; if it throws, the error must be an instance of `errorClass` (a bare
 * TypeError or RangeError fails the property). Returns the value when it did not throw.
 */
export function onlyThrows<T>(errorClass: typeof L402Error, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof errorClass)) throw error;
    return undefined;
  }
}

// Characters that matter to the L402 grammars, so random text reaches deep into the parsers.
export const grammarCharacter = fc.constantFrom(
  ...'L402LSATlsat macaroon token invoice version Basic Payment = , " \\ \t / + - _ : 0 a f Z lnbcrt1'.split(
    '',
  ),
);

export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: grammarCharacter, maxLength: 300 }),
);

/** Random insertions, deletions, replacements and truncations applied to a valid string. */
export function mutated(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const edit = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('insert', 'delete', 'replace', 'truncate', 'swap-case'),
    text: fc.oneof(
      fc.string({ minLength: 1, maxLength: 3 }),
      fc.string({ unit: grammarCharacter, minLength: 1, maxLength: 3 }),
    ),
  });
  return fc.tuple(base, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([text, edits]) => {
    let result = text;
    for (const { at, kind, text: piece } of edits) {
      const index = result.length === 0 ? 0 : at % (result.length + 1);
      const after = index + 1;
      if (kind === 'insert') result = result.slice(0, index) + piece + result.slice(index);
      else if (kind === 'delete') result = result.slice(0, index) + result.slice(after);
      else if (kind === 'truncate') result = result.slice(0, index);
      else if (kind === 'swap-case') {
        const character = result.charAt(index);
        const swapped =
          character === character.toLowerCase() ? character.toUpperCase() : character.toLowerCase();
        result = result.slice(0, index) + swapped + result.slice(after);
      } else result = result.slice(0, index) + piece + result.slice(after);
    }
    return result;
  });
}

/**
 * Case counts of the reliability suite's fuzzing, per target; the issue asks for 100,000 in
 * total. Scaled by L402KIT_FUZZ_SCALE (e.g. 0.1 for a quick local run).
 */
export const FUZZ_CASES = {
  challengeRandom: 12_000,
  challengeMutated: 12_000,
  credentialRandom: 6_000,
  credentialMutated: 6_000,
  macaroonRandom: 3_000,
  macaroonMutated: 5_000,
  identifier: 4_000,
  invoiceRandom: 3_000,
  invoiceMutated: 6_000,
  base64AndHex: 6_000,
  caveats: 4_000,
  tokenFile: 1_000,
  spendLog: 500,
  paywallRandom: 12_000,
  paywallMutated: 12_000,
  paywallForged: 6_000,
  paywallPriced: 1_500,
  paidFetchChallenge: 1_500,
  paidFetchCraftedBad: 500,
  toolArguments: 300,
} as const;

export function cases(name: keyof typeof FUZZ_CASES): number {
  const scale = Number(process.env.L402KIT_FUZZ_SCALE ?? 1);
  return Math.max(1, Math.round(FUZZ_CASES[name] * scale));
}
