// A CommonJS user of l402kit: require() of the ESM packages (Node 22.12+).
const assert = require('node:assert');
const { formatMsat, L402Error } = require('@l402kit/core');
const { walletFromUrl } = require('@l402kit/wallets');

assert.equal(typeof L402Error, 'function');
assert.equal(formatMsat(1500n), '1.5 sats');
assert.equal(typeof walletFromUrl('sandbox:').payInvoice, 'function');
console.log('require(): @l402kit/core and @l402kit/wallets load from CommonJS');
