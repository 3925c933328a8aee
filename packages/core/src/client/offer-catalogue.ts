import { z } from 'zod';

/**
 * Where a seller publishes what it sells, free of charge (`@l402kit/server`'s `createSeller`
 * serves it there). A buyer reads it with `compareOffers`.
 */
export const OFFER_CATALOGUE_PATH = '/.well-known/l402-catalogue';

/** The catalogue format's version; a buyer refuses any other. */
export const OFFER_CATALOGUE_VERSION = 1;

/** The most a buyer reads of a catalogue: anything longer is refused, not cut. */
export const MAX_CATALOGUE_BYTES = 64 * 1024;

// Catalogues come from sellers, who are untrusted: every field is bounded, and nothing in one
// can set a price (the invoice does) or send the buyer to another origin (checked on use).
const text = (max: number) => z.string().min(1).max(max);

export const catalogueOfferSchema = z.object({
  /** Unique within the catalogue. */
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  title: text(200),
  description: text(1_000).optional(),
  /** What is sold, e.g. `research-report`; a buyer may look for one kind only. */
  kind: z
    .string()
    .regex(/^[a-z0-9._-]{1,64}$/)
    .optional(),
  /** Only GET: a quote must not change anything on the seller. */
  method: z.literal('GET').optional(),
  /**
   * The request to buy, relative to the catalogue or absolute on its origin; `{query}` is
   * replaced by the buyer's need, URL-encoded.
   */
  url: text(2_000),
  /** The seller's own rating of what it sells, 1 (basic) to 5 (best). Stated, not proven. */
  quality: z.number().int().min(1).max(5).optional(),
  /** The price range the seller states, in sats; only a hint: the invoice is the price. */
  price_sats: z
    .object({
      min: z.number().nonnegative().max(21e14).optional(),
      max: z.number().nonnegative().max(21e14).optional(),
    })
    .optional(),
});

export const offerCatalogueSchema = z.object({
  l402_catalogue: z.literal(OFFER_CATALOGUE_VERSION),
  seller: z.object({ name: text(100), description: text(500).optional() }),
  offers: z.array(catalogueOfferSchema).min(1).max(50),
});

/** One thing a seller sells, as its catalogue states it. */
export type CatalogueOffer = z.infer<typeof catalogueOfferSchema>;

/** A seller's catalogue: who it is and what it sells (JSON at `OFFER_CATALOGUE_PATH`). */
export type OfferCatalogue = z.infer<typeof offerCatalogueSchema>;
