import type { Paywall } from './paywall.js';

/** The part of Hono's `Context` the middleware needs; a real `Context` fits it. */
export interface HonoLikeContext {
  req: { raw: Request };
}

/**
 * Hono middleware: `app.use('/paid/*', l402Middleware(paywall))`. The token that paid is in
 * `c.get('l402')` for the handlers after it.
 */
export function l402Middleware(paywall: Paywall) {
  return async (
    context: HonoLikeContext,
    next: () => Promise<void>,
  ): Promise<Response | undefined> => {
    const authorization = await paywall.authorize(context.req.raw);
    if (!authorization.ok) return authorization.response;
    const set = (context as { set?: (key: string, value: unknown) => void }).set;
    if (typeof set === 'function') set.call(context, 'l402', authorization.token);
    await next();
    return undefined;
  };
}
