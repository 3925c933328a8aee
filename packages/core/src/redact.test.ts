import { describe, expect, it } from 'vitest';
import { RequestFailedError } from './errors.js';
import { redactCause, redactInputIn, redactUrlsIn } from './redact.js';

describe('issue 11 item 7: URL redaction', () => {
  it('cuts every URL in a text to scheme, host and path, keeping the sentence around it', () => {
    expect(
      redactUrlsIn(
        'Request cannot be constructed from a URL that includes credentials: http://u:p@h.test:8/x?key=1#t.',
      ),
    ).toBe(
      'Request cannot be constructed from a URL that includes credentials: http://h.test:8/x.',
    );
    expect(redactUrlsIn('wallet nostr+walletconnect://abc?relay=wss://r&secret=s1 failed')).toBe(
      'wallet nostr+walletconnect://abc failed',
    );
    expect(redactUrlsIn('no URL here; http://plain.test/path is kept')).toBe(
      'no URL here; http://plain.test/path is kept',
    );
  });

  it('cuts a given URL that does not parse (and so cannot be delimited in running text)', () => {
    const input = 'http://exa mple.test/x?key=secret1';
    expect(redactInputIn(`Failed to parse URL from ${input}`, input)).toBe(
      'Failed to parse URL from http://exa mple.test/x',
    );
  });

  it('keeps a clean cause as it is and copies one that carries a secret, URL properties included', () => {
    const clean = new Error('connect ECONNREFUSED 127.0.0.1:1');
    expect(redactCause(clean)).toBe(clean);
    const leaky = Object.assign(new TypeError('Invalid URL'), {
      code: 'ERR_INVALID_URL',
      input: 'http://a b/?key=secret2',
    });
    const wrapped = new Error('fetch failed', { cause: leaky });
    const redacted = redactCause(wrapped) as Error & { cause: Error & Record<string, unknown> };
    expect(redacted).not.toBe(wrapped);
    expect(redacted.cause).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_URL' });
    expect(redacted.cause.input).toBe('http://a b/');
  });

  it('applies to every L402Error: message, url and cause', () => {
    const error = new RequestFailedError('failed: http://u:secret3@h.test/a?b=secret4', {
      url: 'http://h.test/a?b=secret4',
      cause: new Error('at http://h.test/a?b=secret4'),
    });
    expect(error.message).toBe('failed: http://h.test/a.');
    expect(error.url).toBe('http://h.test/a');
    expect((error.cause as Error).message).toBe('at http://h.test/a');
  });
});
