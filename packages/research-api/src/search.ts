import { type Article, articles, type Dataset, datasets } from './documents.js';
import { providerName } from './providers.js';

/** One search hit: everything a buyer needs to compare sources before paying. */
export interface SearchResult {
  id: string;
  kind: 'article' | 'dataset';
  title: string;
  topic: string;
  provider: string;
  providerName: string;
  quality: number;
  priceSats: number;
  snippet: string;
  /** Path of the paid document on this API. */
  path: string;
  /** Relevance to the query; higher is better. */
  score: number;
}

const stopWords = new Set(
  'a an and are as at be by can do does for from how i in is it its of on or should that the this to was what when where which who why will with you your'.split(
    ' ',
  ),
);

/** Lower-case word stems: enough to match "payments" with "payment" and "L402" with "l402". */
export function terms(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+/g) ?? [])
    .filter((word) => !stopWords.has(word))
    .map((word) => (word.length > 3 && word.endsWith('s') ? word.slice(0, -1) : word));
}

function score(queryTerms: string[], document: Article | Dataset): number {
  const title = new Set(terms(document.title));
  const topic = new Set(terms(document.topic.replaceAll('-', ' ')));
  const text = new Set(terms(`${document.snippet} ${'body' in document ? document.body : ''}`));
  let total = 0;
  for (const term of new Set(queryTerms)) {
    if (title.has(term)) total += 3;
    if (topic.has(term)) total += 3;
    if (text.has(term)) total += 1;
  }
  return total;
}

/** Ranks every article and dataset against the query; documents that match nothing are left out. */
export function search(query: string, limit = 8): SearchResult[] {
  const queryTerms = terms(query);
  const documents: Array<[Article | Dataset, 'article' | 'dataset']> = [
    ...articles.map((article) => [article, 'article'] as [Article, 'article']),
    ...datasets.map((dataset) => [dataset, 'dataset'] as [Dataset, 'dataset']),
  ];
  return documents
    .map(([document, kind]) => ({
      id: document.id,
      kind,
      title: document.title,
      topic: document.topic,
      provider: document.provider,
      providerName: providerName(document.provider),
      quality: document.quality,
      priceSats: document.priceSats,
      snippet: document.snippet,
      path: `/v1/${kind === 'article' ? 'articles' : 'datasets'}/${document.id}`,
      score: score(queryTerms, document),
    }))
    .filter((result) => result.score > 0)
    .sort((a, b) => b.score - a.score || b.quality - a.quality || a.priceSats - b.priceSats)
    .slice(0, limit);
}
