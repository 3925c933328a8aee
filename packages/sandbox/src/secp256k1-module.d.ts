// The `secp256k1` npm package (libsecp256k1 bindings, elliptic fallback) ships no types; this declares what the sandbox uses.
declare module 'secp256k1' {
  const secp256k1: {
    ecdsaSign(
      message: Uint8Array,
      privateKey: Uint8Array,
    ): { signature: Uint8Array; recid: number };
  };
  export default secp256k1;
}
