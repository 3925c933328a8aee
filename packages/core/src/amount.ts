/** Amounts inside l402kit are millisatoshis as bigint; sats appear only at the edges. */
export type Msat = bigint;

export const MSAT_PER_SAT = 1000n;

/** Converts whole or fractional sats (e.g. a tool argument) to msat, refusing values that are not exact. */
export function satsToMsat(sats: number | bigint): Msat {
  if (typeof sats === 'bigint') return sats * MSAT_PER_SAT;
  if (!Number.isFinite(sats) || sats < 0)
    throw new RangeError(`not a valid amount of sats: ${sats}`);
  const msat = Math.round(sats * 1000);
  // Tolerate binary floating point noise (1.1 * 1000), refuse sub-msat precision.
  if (Math.abs(msat - sats * 1000) > 1e-6 || !Number.isSafeInteger(msat)) {
    throw new RangeError(`sats must be a whole number of millisatoshis: ${sats}`);
  }
  return BigInt(msat);
}

/** Sats for display, never rounded down: 1 msat shows as 1 sat when `round` is "up". */
export function msatToSats(msat: Msat, round: 'up' | 'exact' = 'up'): number {
  if (round === 'exact') return Number(msat) / 1000;
  return Number((msat + MSAT_PER_SAT - 1n) / MSAT_PER_SAT);
}

/** "1,234 sats" or "1,234.567 sats": exact, for messages a person or a model reads. */
export function formatMsat(msat: Msat): string {
  const whole = msat / MSAT_PER_SAT;
  const rest = msat % MSAT_PER_SAT;
  const sats = whole.toLocaleString('en-US');
  const text =
    rest === 0n ? sats : `${sats}.${rest.toString().padStart(3, '0').replace(/0+$/, '')}`;
  return `${text} ${whole === 1n && rest === 0n ? 'sat' : 'sats'}`;
}
