// Text a server wrote (a page, a content type, an invoice description) on its way to a model or
// a terminal: stripped of what could drive a terminal or reorder what is shown, and told apart
// from binary content.

// ANSI/VT escape sequences: CSI (ESC [ or C1 0x9b), OSC (ESC ]) up to BEL or ST, DCS/SOS/PM/APC
// (ESC P, X, ^, _) up to ST, and two-character escapes.
const ESCAPE_SEQUENCES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  /\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[ -/]*[0-~]/g;
// C0 controls but tab and line feed, DEL, C1 controls, and the bidi marks, embeddings,
// overrides and isolates that make text read differently from what it says.
const CONTROLS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` without terminal control sequences, control characters or bidi controls. */
export function stripControls(text: string): string {
  return (
    text
      .replace(ESCAPE_SEQUENCES, '')
      // A bare carriage return would let a line overwrite the one before it on a terminal.
      .replace(/\r\n?|[\u2028\u2029]/g, '\n')
      .replace(CONTROLS, '')
  );
}

/** `type/subtype` (and its charset) of a Content-Type, or undefined if it has none. */
export function mediaType(contentType: string | null): string | undefined {
  const essence = /^\s*([\w!#$&^.+-]+\/[\w!#$&^.+-]+)/.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (essence === undefined) return undefined;
  const charset = /;\s*charset\s*=\s*"?([\w.:-]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  return charset === undefined ? essence : `${essence}; charset=${charset}`;
}

const BINARY_TYPES =
  /^(image\/(?!svg\+xml)|audio\/|video\/|font\/|application\/(octet-stream|pdf|zip|gzip|x-gzip|x-tar|x-7z-compressed|x-bzip2|wasm|vnd\.ms-|vnd\.openxmlformats|protobuf|x-protobuf|msgpack|cbor))/;

/**
 * Whether a body is binary: by its declared type, or by its first bytes (for any other type,
 * since a server may call bytes text): not UTF-8 (unless another charset is declared), or more
 * than one byte in ten a control character other than white space.
 */
export function isBinaryBody(bytes: Uint8Array, contentType: string | null): boolean {
  const type = mediaType(contentType) ?? '';
  if (BINARY_TYPES.test(type)) return true;
  const head = bytes.subarray(0, 8_192);
  let controls = 0;
  for (const byte of head) {
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20 && byte !== 0x1b)) controls++;
  }
  if (controls * 10 > head.byteLength) return true;
  const charset = /charset=(.+)$/.exec(type)?.[1];
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return false;
  try {
    // `stream`: the sample may end inside a character.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return false;
  } catch {
    return true;
  }
}
