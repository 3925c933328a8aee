/** Publishers that compete on the research API: same topics, different depth and price. */
export interface Provider {
  id: string;
  name: string;
  /** What a buyer gets for the price, in one line. */
  style: string;
}

export const providers: readonly Provider[] = [
  {
    id: 'sat-digest',
    name: 'Sat Digest',
    style: 'Two-sentence briefs: cheap, correct, shallow.',
  },
  {
    id: 'lightning-review',
    name: 'Lightning Review',
    style: 'Explainers of a paragraph with the key numbers.',
  },
  {
    id: 'protocol-press',
    name: 'Protocol Press',
    style: 'In-depth notes for engineers: mechanisms, edge cases, sources.',
  },
  {
    id: 'chain-data-lab',
    name: 'Chain Data Lab',
    style: 'Datasets and measurements, priced for teams rather than single questions.',
  },
];

export function providerName(id: string): string {
  return providers.find((provider) => provider.id === id)?.name ?? id;
}
