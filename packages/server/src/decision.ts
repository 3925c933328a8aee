import type { PaywallReply } from './reply.js';
import type { PaidToken } from './verify-credential.js';

/** Let the request through (with the token that paid, if any), or answer it with `reply`. */
export type Decision =
  | { allow: true; token: PaidToken | undefined }
  | { allow: false; reply: PaywallReply };
