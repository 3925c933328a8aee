import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The floor for checking an L402 credential in Node: the same checks the paywall makes, written
 * directly on `node:crypto` with nothing but what the check needs. Split the header, decode the
 * base64 and walk the V2 fields, run the HMAC chain (the derived key computed once, as any
 * server would), compare the signature and sha256(preimage) in constant time, and check the
 * services, path, method and expiry caveats. No typed errors, no strict base64, no result
 * object: what l402kit adds to this is what its ratio to the floor measures.
 */
export function createFloorVerifier(rootKey: Uint8Array, serviceName: string) {
  const key = createHmac('sha256', 'macaroons-key-generator').update(rootKey).digest();
  const prefix = `${serviceName}_`;
  return (header: string, path: string, method: string, nowSeconds: number): boolean => {
    const space = header.indexOf(' ');
    const colon = header.lastIndexOf(':');
    if (space < 0 || colon < space) return false;
    const scheme = header.slice(0, space);
    if (scheme !== 'L402' && scheme !== 'LSAT') return false;
    const bytes = Buffer.from(header.slice(space + 1, colon), 'base64');
    const preimage = Buffer.from(header.slice(colon + 1), 'hex');
    if (preimage.length !== 32) return false;

    let offset = 0;
    const field = (type: number): Buffer | undefined => {
      if (bytes[offset] !== type) return undefined;
      offset++;
      let length = 0;
      let shift = 0;
      for (;;) {
        const byte = bytes[offset++];
        if (byte === undefined) return undefined;
        length |= (byte & 0x7f) << shift;
        if (byte < 0x80) break;
        shift += 7;
      }
      offset += length;
      return offset > bytes.length ? undefined : bytes.subarray(offset - length, offset);
    };
    if (bytes[offset++] !== 2) return false;
    field(1);
    const identifier = field(2);
    if (identifier === undefined || identifier.length !== 66 || bytes[offset++] !== 0) return false;
    let signature = createHmac('sha256', key).update(identifier).digest();
    let services = false;
    while (bytes[offset] !== 0) {
      const condition = field(2);
      if (condition === undefined || bytes[offset++] !== 0) return false;
      signature = createHmac('sha256', signature).update(condition).digest();
      const text = condition.toString('utf8');
      const equals = text.indexOf('=');
      const name = text.slice(0, equals);
      const value = text.slice(equals + 1);
      if (name === 'services') {
        if (!value.split(',').some((entry) => entry.startsWith(`${serviceName}:`))) return false;
        services = true;
      } else if (name.startsWith(prefix)) {
        const condition = name.slice(prefix.length);
        if (condition === 'path' && value !== path) return false;
        if (condition === 'method' && value !== method) return false;
        if (condition === 'valid_until' && !(Number(value) > nowSeconds)) return false;
      }
    }
    offset++;
    const claimed = field(6);
    if (!services || claimed === undefined || claimed.length !== 32 || offset !== bytes.length) {
      return false;
    }
    if (!timingSafeEqual(signature, claimed)) return false;
    const digest = createHash('sha256').update(preimage).digest();
    return timingSafeEqual(digest, identifier.subarray(2, 34));
  };
}
