// The `macaroon` npm package (go-macaroon/js-macaroon) ships no types; this declares the part l402kit uses.
declare module 'macaroon' {
  export interface MacaroonCaveat {
    identifier: Uint8Array;
    location?: string;
    vid?: Uint8Array;
  }

  export interface Macaroon {
    readonly location: string;
    readonly identifier: Uint8Array;
    readonly signature: Uint8Array;
    readonly caveats: MacaroonCaveat[];
    addFirstPartyCaveat(condition: string | Uint8Array): void;
    /** Throws when the signature chain does not match or `check` returns an error string. */
    verify(
      rootKey: Uint8Array,
      check: (condition: string) => string | null | undefined,
      discharges?: Macaroon[],
    ): void;
    // exportBinary() is left out on purpose: its buffer doubles on every write (see macaroon.ts).
    clone(): Macaroon;
  }

  export function newMacaroon(options: {
    identifier: string | Uint8Array;
    location?: string;
    rootKey: string | Uint8Array;
    version?: 1 | 2;
  }): Macaroon;
  export function importMacaroon(serialized: string | Uint8Array | object): Macaroon;
  export function importMacaroons(serialized: string | Uint8Array | object): Macaroon[];
  export function bytesToBase64(bytes: Uint8Array): string;
  export function base64ToBytes(text: string): Uint8Array;
}
