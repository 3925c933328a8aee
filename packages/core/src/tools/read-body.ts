/** The start of a response body, read up to a byte limit. */
export interface BodyStart {
  bytes: Uint8Array;
  /** More bytes followed the limit; they were not read (the connection was closed). */
  truncated: boolean;
}

/**
 * Reads `response`'s body as a stream and stops after `maxBytes`, cancelling the rest, so a
 * seller sending gigabytes costs at most `maxBytes` of memory.
 */
export async function readBodyStart(response: Response, maxBytes: number): Promise<BodyStart> {
  if (!response.body) return { bytes: new Uint8Array(0), truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size));
      size = maxBytes;
      truncated = true;
      await reader.cancel().catch(() => {});
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { bytes, truncated };
}

/** Text of `bytes` in the charset the content type names (UTF-8 when it names none it knows). */
export function decodeText(bytes: Uint8Array, contentType: string | null): string {
  const charset = /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType ?? '')?.[1];
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset ?? 'utf-8');
  } catch {
    decoder = new TextDecoder('utf-8');
  }
  // `stream`: a character cut in half by the byte limit is left out, not shown as garbage.
  return decoder.decode(bytes, { stream: true });
}
