import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardedFetch } from './guarded-fetch.js';

const server = createServer((request, response) => {
  response.setHeader('set-cookie', ['a=1', 'b=2']);
  response.end(`you asked for ${request.url} on ${request.headers.host}`);
});
let port = 0;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('createGuardedFetch', () => {
  it('connects to the address the resolver gave, and hands back a standard Response', async () => {
    const asked: string[] = [];
    const guarded = createGuardedFetch(async (hostname) => {
      asked.push(hostname);
      return ['127.0.0.1'];
    });
    const response = await guarded(`http://named.test:${port}/x?y=1`);
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(200);
    expect(response.url).toBe(`http://named.test:${port}/x?y=1`);
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await response.text()).toBe(`you asked for /x?y=1 on named.test:${port}`);
    expect(asked).toEqual(['named.test']);
  });

  it('makes no connection when the resolver refuses, and passes its error on as the cause', async () => {
    const refusal = new Error('refused by the test');
    const guarded = createGuardedFetch(async () => {
      throw refusal;
    });
    const error = await guarded(`http://named.test:${port}/`).catch((caught: unknown) => caught);
    expect((error as Error).cause).toBe(refusal);
  });

  it('fails when the resolver gives no usable address', async () => {
    const guarded = createGuardedFetch(async () => ['not an address']);
    const error = await guarded(`http://named.test:${port}/`).catch((caught: unknown) => caught);
    expect(((error as Error).cause as { code?: string }).code).toBe('ENOTFOUND');
  });
});
