import { describe, expect, it } from 'vitest';
import { BodyNotReplayableError } from '../errors.js';
import { requestInit, snapshotRequest, withoutBody } from './request-snapshot.js';

const limit = 1_000;
const text = (body: BodyInit | null | undefined) => new Response(body).text();

describe('snapshotRequest', () => {
  it('reads a URL without a body cheaply, normalizing the method as fetch does', async () => {
    const snapshot = await snapshotRequest('http://a.example/x?q=1', { method: 'post' }, limit);
    expect(snapshot).toMatchObject({ method: 'POST', body: undefined, redirect: 'follow' });
    expect(snapshot.url.href).toBe('http://a.example/x?q=1');
    expect(snapshot.headers).toBeUndefined();
    expect(
      (await snapshotRequest(new URL('http://a.example/'), { method: 'patch' }, limit)).method,
    ).toBe('patch');
  });

  it('copies headers, so a caller changing its own later changes nothing', async () => {
    const headers = new Headers({ 'x-one': '1' });
    const snapshot = await snapshotRequest('http://a.example/', { headers }, limit);
    headers.set('x-one', 'changed');
    expect(snapshot.headers?.get('x-one')).toBe('1');
  });

  it('buffers string, byte and stream bodies, and the body of a Request', async () => {
    const fromString = await snapshotRequest(
      'http://a.example/',
      { method: 'POST', body: 'hi' },
      limit,
    );
    expect(await text(fromString.body)).toBe('hi');
    expect(fromString.headers?.get('content-type')).toBe('text/plain;charset=UTF-8');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'));
        controller.close();
      },
    });
    const fromStream = await snapshotRequest(
      'http://a.example/',
      { method: 'PUT', body: stream, duplex: 'half' } as RequestInit,
      limit,
    );
    expect(await text(fromStream.body)).toBe('streamed');
    const request = new Request('http://a.example/r', { method: 'POST', body: 'from request' });
    const fromRequest = await snapshotRequest(request, undefined, limit);
    expect(await text(fromRequest.body)).toBe('from request');
    expect(fromRequest.url.pathname).toBe('/r');
  });

  it('refuses a body above the limit with a typed error that says nothing was paid', async () => {
    const error = await snapshotRequest(
      'http://a.example/up?key=secret',
      { method: 'POST', body: new Uint8Array(limit + 1) },
      limit,
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BodyNotReplayableError);
    expect(error).toMatchObject({ paid: false, url: 'http://a.example/up' });
  });
});

describe('requestInit', () => {
  it('adds the credential, keeping the caller’s other headers and body', async () => {
    const snapshot = await snapshotRequest(
      'http://a.example/',
      { method: 'POST', headers: { 'x-one': '1', authorization: 'Bearer mine' }, body: 'b' },
      limit,
    );
    const init = requestInit(snapshot, snapshot.url, 'L402 m:p');
    const headers = new Headers(init.headers);
    expect(headers.get('authorization')).toBe('L402 m:p');
    expect(headers.get('x-one')).toBe('1');
    expect(init).toMatchObject({ method: 'POST', redirect: 'manual' });
    expect(await text(init.body)).toBe('b');
    // The snapshot itself is unchanged for the next attempt.
    expect(snapshot.headers?.get('authorization')).toBe('Bearer mine');
  });

  it('drops the caller’s own Authorization on another origin', async () => {
    const snapshot = await snapshotRequest(
      'http://a.example/',
      { headers: { authorization: 'Bearer mine', 'x-one': '1' } },
      limit,
    );
    const sameOrigin = new Headers(requestInit(snapshot, new URL('http://a.example/b')).headers);
    expect(sameOrigin.get('authorization')).toBe('Bearer mine');
    const elsewhere = new Headers(requestInit(snapshot, new URL('http://b.example/')).headers);
    expect(elsewhere.get('authorization')).toBeNull();
    expect(elsewhere.get('x-one')).toBe('1');
  });
});

describe('withoutBody', () => {
  it('turns the request into a GET without body or content headers', async () => {
    const snapshot = await snapshotRequest(
      'http://a.example/',
      { method: 'POST', body: 'b', headers: { 'content-type': 'text/plain', 'x-one': '1' } },
      limit,
    );
    const get = withoutBody(snapshot);
    expect(get).toMatchObject({ method: 'GET', body: undefined });
    expect(get.headers?.get('content-type')).toBeNull();
    expect(get.headers?.get('x-one')).toBe('1');
  });
});
