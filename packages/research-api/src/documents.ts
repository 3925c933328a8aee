/** A paid article: several providers cover the same topic at different depth and price. */
export interface Article {
  id: string;
  topic: string;
  title: string;
  provider: string;
  /** 1 (brief) to 5 (in depth): what the provider promises for the price. */
  quality: number;
  priceSats: number;
  /** Shown free in search results. */
  snippet: string;
  /** Sold behind the paywall. */
  body: string;
}

/** A paid dataset: priced above what a single research run usually may spend. */
export interface Dataset {
  id: string;
  topic: string;
  title: string;
  provider: string;
  quality: number;
  priceSats: number;
  snippet: string;
  columns: string[];
  rows: (string | number)[][];
  notes: string;
}

// Short factual texts written for this example; the snippet is the opening of the body.
export const articles: readonly Article[] = [
  {
    id: 'lightning-basics-brief',
    topic: 'lightning-network',
    title: 'The Lightning Network in two sentences',
    provider: 'sat-digest',
    quality: 2,
    priceSats: 3,
    snippet: 'Lightning is a network of payment channels built on top of Bitcoin.',
    body: 'Lightning is a network of payment channels built on top of Bitcoin. Two parties lock bitcoin in a shared on-chain output and then update who owns how much off chain, so payments settle in seconds for tiny fees.',
  },
  {
    id: 'lightning-basics-explainer',
    topic: 'lightning-network',
    title: 'How Lightning payment channels work',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 9,
    snippet:
      'A payment channel starts with a funding transaction that locks bitcoin in a 2-of-2 multisignature output.',
    body: 'A payment channel starts with a funding transaction that locks bitcoin in a 2-of-2 multisignature output. The two parties then exchange signed commitment transactions that split the channel balance; each new payment replaces the previous commitment, and older states are revoked so that broadcasting one can be punished. Only the opening and the closing touch the blockchain. Payments can cross several channels: nodes that are not directly connected pay each other through intermediaries, which is what turns individual channels into a network. The design was described by Joseph Poon and Thaddeus Dryja in the Lightning Network paper, first circulated in 2015.',
  },
  {
    id: 'lightning-basics-deep',
    topic: 'lightning-network',
    title: 'Lightning from first principles: channels, HTLCs and the BOLT specifications',
    provider: 'protocol-press',
    quality: 5,
    priceSats: 24,
    snippet:
      'Lightning is specified in the BOLTs (Basis of Lightning Technology), which several independent implementations follow.',
    body: "Lightning is specified in the BOLTs (Basis of Lightning Technology), which several independent implementations follow: LND by Lightning Labs, Core Lightning by Blockstream, Eclair by ACINQ and LDK by Spiral. A channel is a 2-of-2 multisignature output funded on chain; the parties keep a pair of commitment transactions that spend it and revoke every outdated pair by handing over a revocation secret, so a party that broadcasts an old state can lose the whole channel balance. Multi-hop payments use hash time-locked contracts (HTLCs): each hop forwards an output that the next hop can claim by revealing the preimage of a payment hash before a timeout, and the timeouts shrink along the route so that every intermediary can claim its incoming HTLC after paying the outgoing one. The recipient reveals the preimage, the claims ripple back to the sender, and the preimage becomes the sender's proof of payment. Capacity is directional: a node can only send as much as its side of a channel holds, which is why liquidity management is a large part of running a node.",
  },
  {
    id: 'bolt11-brief',
    topic: 'bolt11',
    title: 'What is in a Lightning invoice',
    provider: 'sat-digest',
    quality: 2,
    priceSats: 2,
    snippet:
      'A BOLT11 invoice is a bech32 string that tells a payer how much to pay, to whom and for what.',
    body: 'A BOLT11 invoice is a bech32 string that tells a payer how much to pay, to whom and for what. It carries a payment hash, a description and an expiry, and is signed by the recipient node.',
  },
  {
    id: 'bolt11-deep',
    topic: 'bolt11',
    title: 'Reading BOLT11 invoices exactly: prefixes, amounts and expiry',
    provider: 'protocol-press',
    quality: 5,
    priceSats: 18,
    snippet:
      'The human-readable prefix of a BOLT11 invoice names the network: lnbc for mainnet, lntb for testnet, lntbs for signet and lnbcrt for regtest.',
    body: "The human-readable prefix of a BOLT11 invoice names the network: lnbc for mainnet, lntb for testnet, lntbs for signet and lnbcrt for regtest. An optional amount follows, written in bitcoin with a multiplier: m (milli), u (micro), n (nano) or p (pico), so lnbc2500u is 2,500 micro-bitcoin, or 250,000 satoshis. A pico-bitcoin amount must be a multiple of ten because the smallest unit Lightning can pay is one millisatoshi. Tagged fields carry the payment hash (p), the payment secret (s), the description (d) or its hash (h), the expiry in seconds (x, 3600 when absent) and routing hints (r). The whole invoice is signed, and the payee's public key can be recovered from the signature, so a changed amount or hash invalidates it. Invoices without an amount leave the amount to the payer, which an automated client should refuse rather than guess.",
  },
  {
    id: 'l402-brief',
    topic: 'l402',
    title: 'L402 in a nutshell',
    provider: 'sat-digest',
    quality: 2,
    priceSats: 3,
    snippet: 'L402 lets an HTTP server charge for a request with a Lightning invoice.',
    body: 'L402 lets an HTTP server charge for a request with a Lightning invoice. The client pays, receives a preimage, and sends it with a macaroon as its credential.',
  },
  {
    id: 'l402-explainer',
    topic: 'l402',
    title: 'The L402 flow, step by step',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 10,
    snippet:
      'An L402 server answers an unpaid request with HTTP 402 Payment Required and a WWW-Authenticate header holding a macaroon and an invoice.',
    body: "An L402 server answers an unpaid request with HTTP 402 Payment Required and a WWW-Authenticate header holding a macaroon and an invoice. The macaroon's identifier contains the invoice's payment hash. The client pays the invoice over Lightning and learns the preimage, then repeats the request with the header Authorization: L402 <macaroon>:<preimage>. The server checks that the macaroon is signed with its root key and that the SHA-256 of the preimage equals the payment hash, without any database lookup. The scheme was introduced by Lightning Labs in 2020 under the name LSAT (Lightning Service Authentication Token) and renamed L402 in 2023; servers often still offer both names.",
  },
  {
    id: 'l402-deep',
    topic: 'l402',
    title: 'L402 in production: Aperture, caveats and client pitfalls',
    provider: 'protocol-press',
    quality: 5,
    priceSats: 28,
    snippet:
      'Aperture, the reverse proxy from Lightning Labs, is the reference deployment of L402 and sends two challenges: one under the legacy LSAT name and one under L402.',
    body: "Aperture, the reverse proxy from Lightning Labs, is the reference deployment of L402 and sends two challenges: one under the legacy LSAT name and one under L402. HTTP clients that merge repeated headers see them joined by a comma, so a client must be able to split several challenges out of one header value. Aperture prices services in satoshis per request and can restrict a token with caveats such as services=<name>:<tier>, <service>_capabilities and <service>_valid_until. A rejected credential gets a fresh 402 rather than a 401, so a client that pays automatically must bound its retries or it may pay again and again. Careful clients also check, before paying, that the invoice's payment hash matches the macaroon identifier, refuse expired and amountless invoices, and after paying verify that the preimage hashes to the payment hash. A token is a bearer credential: it should only ever be sent back to the origin that issued it.",
  },
  {
    id: 'macaroons-brief',
    topic: 'macaroons',
    title: 'Macaroons: cookies you can restrict',
    provider: 'sat-digest',
    quality: 2,
    priceSats: 2,
    snippet:
      'A macaroon is a bearer token that anyone holding it can restrict further but never widen.',
    body: 'A macaroon is a bearer token that anyone holding it can restrict further but never widen. Restrictions are called caveats and are checked by the server that minted it.',
  },
  {
    id: 'macaroons-explainer',
    topic: 'macaroons',
    title: 'How macaroon signatures chain',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 8,
    snippet:
      'Macaroons were introduced by Google researchers in a 2014 paper as cookies with contextual caveats.',
    body: 'Macaroons were introduced by Google researchers in a 2014 paper as cookies with contextual caveats. The minting server computes a signature as an HMAC of the identifier under a secret root key. Each caveat added later replaces the signature with an HMAC of the caveat under the previous signature, so anyone can append a caveat but nobody can remove one without knowing the root key. Verification replays the chain from the root key and checks every caveat against the request. LND uses macaroons to grant limited permissions to its API, and L402 uses them to bind a credential to a payment hash.',
  },
  {
    id: 'routing-fees-brief',
    topic: 'routing-fees',
    title: 'Why Lightning payments cost a little',
    provider: 'sat-digest',
    quality: 2,
    priceSats: 2,
    snippet:
      'Every node that forwards a Lightning payment may charge a fee made of a base amount and a proportional rate.',
    body: 'Every node that forwards a Lightning payment may charge a fee made of a base amount and a proportional rate. Payers usually set a maximum fee and the wallet finds a route under it.',
  },
  {
    id: 'routing-fees-explainer',
    topic: 'routing-fees',
    title: 'Routing fees and fee limits explained',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 7,
    snippet:
      'Each channel direction advertises a base fee in millisatoshis and a fee rate in parts per million of the amount.',
    body: "Each channel direction advertises a base fee in millisatoshis and a fee rate in parts per million of the amount. Forwarding 100,000 satoshis through a channel with a 1,000 msat base fee and a 100 ppm rate costs 1 + 10 = 11 satoshis. The sender pays the fees of every hop, because it builds the route and adds each hop's fee to the amount that hop must forward. A spending limit that ignores fees can therefore be exceeded: a careful client reserves the maximum fee it allows the wallet to pay before sending, and counts the actual fee once the payment settles.",
  },
  {
    id: 'units-brief',
    topic: 'bitcoin-units',
    title: 'Bitcoin, satoshis and millisatoshis',
    provider: 'sat-digest',
    quality: 2,
    priceSats: 2,
    snippet:
      'One bitcoin is 100,000,000 satoshis, and Lightning accounts in millisatoshis, a thousandth of a satoshi.',
    body: 'One bitcoin is 100,000,000 satoshis, and Lightning accounts in millisatoshis, a thousandth of a satoshi. On-chain transactions can only move whole satoshis, so fractions exist only inside Lightning channels.',
  },
  {
    id: 'units-explainer',
    topic: 'bitcoin-units',
    title: 'Counting money exactly in Lightning software',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 6,
    snippet:
      'Lightning amounts are integers of millisatoshis; software that stores them as floating point bitcoin loses precision.',
    body: 'Lightning amounts are integers of millisatoshis; software that stores them as floating point bitcoin loses precision. A double can represent every millisatoshi up to about 90,000 bitcoin, but arithmetic in bitcoin units introduces rounding errors, so exact software keeps integers (or big integers) of millisatoshis and converts only for display. Rounding a cost down is the dangerous direction: a budget that counts 999 msat as 0 sats lets small payments through for free. Displays should round costs up and balances down.',
  },
  {
    id: 'http-402-brief',
    topic: 'http-402',
    title: 'HTTP 402, reserved since 1997',
    provider: 'sat-digest',
    quality: 2,
    priceSats: 2,
    snippet:
      'The status code 402 Payment Required has been in the HTTP specifications since the 1990s, reserved for future use.',
    body: 'The status code 402 Payment Required has been in the HTTP specifications since the 1990s, reserved for future use. Protocols such as L402 and x402 finally give it a machine-readable meaning.',
  },
  {
    id: 'http-402-explainer',
    topic: 'http-402',
    title: 'The long road of 402 Payment Required',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 9,
    snippet:
      'RFC 2068 (1997) and RFC 2616 (1999) defined 402 Payment Required as reserved for future use, and RFC 9110 (2022) still does.',
    body: 'RFC 2068 (1997) and RFC 2616 (1999) defined 402 Payment Required as reserved for future use, and RFC 9110 (2022) still does. Early web micropayment schemes failed partly because card payments carry fixed fees that make sub-dollar prices uneconomic. L402 pairs the status code with a Lightning invoice and a macaroon. x402, announced by Coinbase in 2025, pairs it with stablecoin payments signed by the client. Both aim at the same buyer: software, including AI agents, that can pay per request without accounts or subscriptions.',
  },
  {
    id: 'agent-payments-brief',
    topic: 'agent-payments',
    title: 'Letting AI agents pay',
    provider: 'sat-digest',
    quality: 2,
    priceSats: 3,
    snippet:
      'An AI agent that can pay per request can buy exactly the data it needs instead of needing a subscription for every source.',
    body: 'An AI agent that can pay per request can buy exactly the data it needs instead of needing a subscription for every source. The operator must cap what it may spend, because a model can be wrong or manipulated.',
  },
  {
    id: 'agent-payments-explainer',
    topic: 'agent-payments',
    title: 'Spending limits for autonomous agents',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 11,
    snippet:
      'Limits that an agent cannot talk its way around must live outside the model: in the code that pays.',
    body: 'Limits that an agent cannot talk its way around must live outside the model: in the code that pays. Useful limits are a total budget per run or per day, a cap per request, a cap per host, and an allow-list of hosts. Text the agent reads, such as a web page, can contain instructions to pay, so any approval step must come from a person or a rule the model cannot reach. Every payment should be logged with its amount, fee and purpose, and a failed or uncertain payment must stay counted until the wallet confirms it failed, or the agent may pay twice.',
  },
  {
    id: 'agent-payments-deep',
    topic: 'agent-payments',
    title: 'Designing agent budgets: reservations, fees and uncertain outcomes',
    provider: 'protocol-press',
    quality: 5,
    priceSats: 26,
    snippet:
      'A budget for an agent must be checked and charged atomically, or two concurrent tool calls can both pass the check and together overspend.',
    body: 'A budget for an agent must be checked and charged atomically, or two concurrent tool calls can both pass the check and together overspend. The usual design reserves the invoice amount plus the maximum routing fee before paying, then commits the actual cost or releases the reservation when the wallet reports a definite failure. When the outcome is unknown, for example after a timeout, the reservation stays counted as spent until a lookup settles it. Budgets nest: a run budget sits under a daily budget, and a payment must fit every level. Concurrent requests for the same resource should share one purchase, and a server that keeps answering 402 after being paid must not be paid again. These rules make the limit hold even when the model misbehaves.',
  },
  {
    id: 'nwc-brief',
    topic: 'nostr-wallet-connect',
    title: 'Nostr Wallet Connect in brief',
    provider: 'sat-digest',
    quality: 2,
    priceSats: 3,
    snippet:
      'Nostr Wallet Connect lets an application ask a remote Lightning wallet to pay through encrypted Nostr messages.',
    body: "Nostr Wallet Connect lets an application ask a remote Lightning wallet to pay through encrypted Nostr messages. The app holds a connection string, not the wallet's keys.",
  },
  {
    id: 'nwc-explainer',
    topic: 'nostr-wallet-connect',
    title: 'How NIP-47 wallet connections work',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 8,
    snippet:
      'NIP-47 defines requests such as pay_invoice, get_balance, make_invoice and lookup_invoice, sent as encrypted events through a Nostr relay.',
    body: 'NIP-47 defines requests such as pay_invoice, get_balance, make_invoice and lookup_invoice, sent as encrypted events through a Nostr relay. A connection string of the form nostr+walletconnect://<wallet pubkey>?relay=<url>&secret=<key> gives the application a key pair dedicated to that connection. The wallet service can attach its own limits to a connection, such as a monthly budget, and answers with error codes like INSUFFICIENT_BALANCE, QUOTA_EXCEEDED or RATE_LIMITED. Because the relay only sees encrypted messages, the wallet can stay behind a firewall with no open ports. The protocol was developed by Alby and is supported by several wallets.',
  },
  {
    id: 'preimage-brief',
    topic: 'preimages',
    title: 'Preimages as receipts',
    provider: 'sat-digest',
    quality: 2,
    priceSats: 2,
    snippet:
      'Every Lightning payment is locked to a hash, and the recipient reveals the secret behind it, the preimage, to get paid.',
    body: 'Every Lightning payment is locked to a hash, and the recipient reveals the secret behind it, the preimage, to get paid. Holding the preimage proves the payment went through.',
  },
  {
    id: 'preimage-explainer',
    topic: 'preimages',
    title: 'Payment hashes, preimages and proof of payment',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 7,
    snippet:
      'The recipient of a Lightning payment picks 32 random bytes, the preimage, and puts their SHA-256 hash in the invoice.',
    body: 'The recipient of a Lightning payment picks 32 random bytes, the preimage, and puts their SHA-256 hash in the invoice. Every hop along the route forwards a contract that pays only against that preimage, and the recipient must reveal it to claim the money, so the preimage travels back to the sender as the payment settles. Since the invoice is signed by the recipient and the preimage cannot be guessed from the hash, a sender holding the preimage can prove it paid that invoice. L402 uses exactly this: the preimage is the secret half of the credential.',
  },
  {
    id: 'onion-routing-explainer',
    topic: 'privacy',
    title: 'Onion routing and privacy on Lightning',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 9,
    snippet:
      'Lightning uses source routing with onion encryption: the sender chooses the whole path and wraps instructions for each hop in a layer only that hop can read.',
    body: "Lightning uses source routing with onion encryption: the sender chooses the whole path and wraps instructions for each hop in a layer only that hop can read. The packet format, based on Sphinx, has a fixed size, so a forwarding node learns its predecessor and its successor but not its position in the route, nor the sender or the final recipient. Payments are not broadcast to every node as on-chain transactions are. Privacy is not perfect: the invoice reveals the recipient's node unless blinded paths are used, and channel openings and closings are visible on chain.",
  },
  {
    id: 'onion-routing-deep',
    topic: 'privacy',
    title: 'What Lightning hides and what it leaks',
    provider: 'protocol-press',
    quality: 5,
    priceSats: 22,
    snippet:
      'A Lightning payment reveals far less than an on-chain transaction, but the channel graph, timing and amounts still leak information to well-placed observers.',
    body: "A Lightning payment reveals far less than an on-chain transaction, but the channel graph, timing and amounts still leak information to well-placed observers. Public channels are announced with their capacity, so anyone can map the network graph. A node that forwards a payment sees the amount and the payment hash; the same hash along the whole route lets colluding nodes link both sides of a payment, which point time-locked contracts (PTLCs) are designed to fix. Blinded paths let a recipient hide its node behind an introduction point. Probing, sending payments that are designed to fail, can reveal how balances are split inside channels. For an API seller, an L402 token links requests made with the same token, but not to the payer's identity.",
  },
  {
    id: 'bitcoin-pow-brief',
    topic: 'bitcoin',
    title: 'Bitcoin in two sentences',
    provider: 'sat-digest',
    quality: 2,
    priceSats: 2,
    snippet:
      'Bitcoin is a peer-to-peer currency whose ledger is secured by proof of work, described in a 2008 paper by Satoshi Nakamoto.',
    body: 'Bitcoin is a peer-to-peer currency whose ledger is secured by proof of work, described in a 2008 paper by Satoshi Nakamoto. The network started with the genesis block on 3 January 2009.',
  },
  {
    id: 'bitcoin-pow-explainer',
    topic: 'bitcoin',
    title: 'Blocks, difficulty and the supply schedule',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 8,
    snippet:
      'Miners compete to find a block header whose double SHA-256 hash is below a target; the difficulty adjusts every 2,016 blocks to keep about ten minutes per block.',
    body: 'Miners compete to find a block header whose double SHA-256 hash is below a target; the difficulty adjusts every 2,016 blocks to keep about ten minutes per block. The miner of a block collects the fees of its transactions plus a subsidy that halves every 210,000 blocks, roughly every four years, so the total supply approaches 21 million bitcoin. Confirmations take minutes and block space is scarce, which is why small, frequent payments move to layers such as Lightning that settle on Bitcoin only when channels open and close.',
  },
  {
    id: 'micropayments-explainer',
    topic: 'micropayments',
    title: 'Why micropayments failed before and may work now',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 10,
    snippet:
      'Card networks charge a fixed fee of tens of cents plus a percentage, which makes a one-cent payment impossible.',
    body: 'Card networks charge a fixed fee of tens of cents plus a percentage, which makes a one-cent payment impossible. Earlier web micropayment systems also asked people to decide on every tiny purchase, a mental cost that outweighed the price. Lightning removes the fixed fee, since routing fees are proportional and often a fraction of a satoshi, and software agents remove the mental cost: a program with a budget can decide in milliseconds whether a source is worth two satoshis. Pay-per-request pricing suits data that is used rarely, by many different buyers.',
  },
  {
    id: 'micropayments-deep',
    topic: 'micropayments',
    title: 'Pricing an API per request: lessons for sellers',
    provider: 'protocol-press',
    quality: 5,
    priceSats: 20,
    snippet:
      'Per-request pricing works best when the price is low enough to skip any purchase decision by a person and high enough to cover the cost of issuing an invoice.',
    body: 'Per-request pricing works best when the price is low enough to skip any purchase decision by a person and high enough to cover the cost of issuing an invoice. Sellers commonly tier prices: a cheap search that returns titles and prices, then individually priced documents, then bulk datasets for teams. Publishing prices in the search results lets buying agents compare before paying, and quoting through a 402 without payment lets them check the exact price. Tokens that expire, or that are bound to one path and method, keep a paid credential from becoming an unlimited pass. Macaroon caveats let a seller encode these limits in the token itself, without a session database.',
  },
  {
    id: 'liquidity-explainer',
    topic: 'liquidity',
    title: 'Inbound and outbound liquidity',
    provider: 'lightning-review',
    quality: 4,
    priceSats: 8,
    snippet:
      'A Lightning node can only send what its side of its channels holds and only receive what the other sides hold.',
    body: 'A Lightning node can only send what its side of its channels holds and only receive what the other sides hold. A new node that opens a channel has outbound liquidity only, so to receive payments, for example to sell an API, it needs inbound liquidity: channels opened towards it, a purchased lease, or a swap that moves funds on chain. Hosted and custodial services such as LNbits or phoenixd hide some of this work; phoenixd buys inbound liquidity automatically from ACINQ for a fee.',
  },
  {
    id: 'liquidity-brief',
    topic: 'liquidity',
    title: 'Liquidity, briefly',
    provider: 'sat-digest',
    quality: 2,
    priceSats: 2,
    snippet:
      'To receive on Lightning you need inbound liquidity: channel capacity on the far side.',
    body: 'To receive on Lightning you need inbound liquidity: channel capacity on the far side. Sellers usually get it from channels opened to them or from a service that provides it.',
  },
];

export const datasets: readonly Dataset[] = [
  {
    id: 'l402-endpoint-census',
    topic: 'l402',
    title: 'L402 endpoint census: 40 public paid APIs with prices and challenge formats',
    provider: 'chain-data-lab',
    quality: 5,
    priceSats: 500,
    snippet:
      'Public L402 endpoints by category with median prices and challenge formats (LSAT, L402 or both); illustrative sample data. Priced for teams.',
    columns: ['category', 'endpoints', 'median price (sats)', 'offer LSAT and L402'],
    rows: [
      ['search and data', 14, 5, 9],
      ['AI inference', 11, 20, 8],
      ['media and articles', 9, 10, 4],
      ['developer tools', 6, 2, 5],
    ],
    notes:
      'Illustrative sample data for the l402kit example; categories aggregate individual endpoints.',
  },
  {
    id: 'channel-fee-survey',
    topic: 'routing-fees',
    title: 'Channel fee survey: base fees and fee rates across the public graph',
    provider: 'chain-data-lab',
    quality: 5,
    priceSats: 750,
    snippet:
      'Distribution of advertised fee rates in the public Lightning graph, bucketed; illustrative sample data. Priced for teams.',
    columns: ['fee rate bucket (ppm)', 'share of channel directions'],
    rows: [
      ['0-10', '31%'],
      ['11-100', '27%'],
      ['101-500', '24%'],
      ['501-2000', '14%'],
      ['above 2000', '4%'],
    ],
    notes:
      'Illustrative sample data for the l402kit example; real fee policies change by the hour.',
  },
];
