// The l402kit packages that depend on no AI framework, checked on their own: with no framework
// .d.ts in the program, nothing else can declare a DOM type (such as RequestInfo) for them.
import * as cli from '@l402kit/cli';
import * as core from '@l402kit/core';
import * as mcp from '@l402kit/mcp';
import * as researchApi from '@l402kit/research-api';
import * as sandbox from '@l402kit/sandbox';
import * as server from '@l402kit/server';
import * as wallets from '@l402kit/wallets';

const paidFetch: core.PaidFetch = core.createPaidFetch({
  wallet: wallets.walletFromUrl('sandbox:'),
});
export const loaded = [cli, mcp, researchApi, sandbox, server, paidFetch];
