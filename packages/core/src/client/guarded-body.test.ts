import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardBody } from './guarded-body.js';

// A real loopback server: /whole answers in full, /drop sends part of a body then drops the
// connection, /trickle sends a byte and never ends, /not-json answers text that is no JSON.
const sockets = new Set<Socket>();
const server = createServer((request, response) => {
  if (request.url === '/drop') return dropMidBody(response);
  if (request.url === '/trickle') {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write('x');
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json', 'x-seller': 'loopback' });
  response.end(request.url === '/not-json' ? 'not json' : '{"whole":true}');
});
function dropMidBody(response: ServerResponse) {
  response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
  response.write('x'.repeat(1_000), () => response.socket?.destroy());
}
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
let base = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

class ReadFailed extends Error {
  constructor(readonly timedOut: boolean) {
    super('read failed');
  }
}

/** A fetched response, guarded; `errors` holds what onError was called with. */
async function guarded(path: string, timeoutMs?: number) {
  const abort = new AbortController();
  const response = await fetch(`${base}${path}`, { signal: abort.signal });
  const errors: unknown[] = [];
  const guard = guardBody(response, {
    onError: (cause, timedOut) => {
      errors.push(cause);
      return new ReadFailed(timedOut);
    },
    abort,
    timeoutMs,
  });
  return { fetched: response, response: guard, errors, abort };
}

const everyRead: Record<string, (response: Response) => Promise<unknown>> = {
  text: (response) => response.text(),
  json: (response) => response.json(),
  arrayBuffer: (response) => response.arrayBuffer(),
  bytes: (response) => response.bytes(),
  blob: (response) => response.blob(),
  formData: (response) => response.formData(),
  'the body stream': async (response) => {
    for await (const _chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      // read to the end
    }
  },
  'a clone': (response) => response.clone().text(),
};

describe('guardBody', () => {
  it('hands back the fetched response itself, headers, url and status untouched, its body readable', async () => {
    const { fetched, response } = await guarded('/whole');
    expect(response).toBe(fetched);
    expect(response.url).toBe(`${base}/whole`);
    expect(response.headers.get('x-seller')).toBe('loopback');
    expect(response.bodyUsed).toBe(false);
    expect(await response.json()).toEqual({ whole: true });
    expect(response.bodyUsed).toBe(true);
  });

  for (const [name, read] of Object.entries(everyRead)) {
    it(`reports a body cut off mid-way through onError when read by ${name}`, async () => {
      const { response, errors } = await guarded('/drop', 60_000);
      const error = await read(response).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ReadFailed);
      expect((error as ReadFailed).timedOut).toBe(false);
      expect(errors).toHaveLength(1);
    });

    it(`aborts a body that never ends at its deadline when read by ${name}`, async () => {
      const { response, abort } = await guarded('/trickle', 100);
      const error = await read(response).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ReadFailed);
      expect((error as ReadFailed).timedOut).toBe(true);
      expect(abort.signal.aborted).toBe(true);
    });
  }

  it('reads whole bodies through every method, and a clone and the original both', async () => {
    for (const [name, read] of Object.entries(everyRead)) {
      if (name === 'formData') continue;
      const { response, errors } = await guarded('/whole', 60_000);
      await read(response);
      expect(errors, name).toEqual([]);
    }
    const { response } = await guarded('/whole');
    const copy = response.clone();
    expect(await copy.text()).toBe('{"whole":true}');
    expect(await response.text()).toBe('{"whole":true}');
  });

  it('leaves errors that are not failed reads as they are: bad JSON, a body read twice', async () => {
    const { response, errors } = await guarded('/not-json');
    await expect(response.json()).rejects.toBeInstanceOf(SyntaxError);
    await expect(response.text()).rejects.toBeInstanceOf(TypeError);
    expect(errors).toEqual([]);
  });

  it('cancelling the stream is not a failure', async () => {
    const { response, errors } = await guarded('/trickle', 60_000);
    await response.body?.cancel();
    expect(errors).toEqual([]);
  });
});
