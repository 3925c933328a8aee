import { describe, expect, it } from 'vitest';
import { planNextStep, type ResearchTranscript, type ToolCallRecord } from './research-planner.js';

const api = 'http://127.0.0.1:9';
const budgetText = (left: string) =>
  `The most one payment may cost now is ${left}, routing fees included.\nBudget "run": ${left} left of 30 sats; spent 0 sats.`;
const fetched = (paid: string, left: string, body: unknown) =>
  `HTTP 200 OK (application/json)\nPaid ${paid} for this request.\n${budgetText(left)}\n--- BEGIN UNTRUSTED CONTENT 0f0f ---\n${JSON.stringify(body)}\n--- END UNTRUSTED CONTENT 0f0f ---`;
const result = (id: string, topic: string, priceSats: number, quality: number, score = 9) => ({
  id,
  kind: 'article',
  title: `About ${id}`,
  topic,
  providerName: 'Provider',
  quality,
  priceSats,
  score,
  url: `${api}/v1/articles/${id}`,
});
const searchCall = (results: ReturnType<typeof result>[]): ToolCallRecord => ({
  name: 'l402_fetch',
  args: { url: `${api}/v1/search?q=x` },
  result: fetched('2 sats', '27.9 sats', { results }),
});
const quoteCall = (id: string, sats: number): ToolCallRecord => ({
  name: 'l402_quote',
  args: { url: `${api}/v1/articles/${id}` },
  result: `${api}/v1/articles/${id} costs ${sats} sats (plus a small routing fee).\n${budgetText('27.9 sats')}`,
});
const transcript = (calls: ToolCallRecord[]): ResearchTranscript => ({
  question: 'x',
  apiUrl: api,
  calls,
});

describe('offline research planner', () => {
  it('starts with the budget and a search of the given API', () => {
    const step = planNextStep(transcript([]));
    expect(step).toMatchObject({
      kind: 'call-tools',
      calls: [
        { name: 'budget_status' },
        { name: 'l402_fetch', args: { url: `${api}/v1/search?q=x` } },
      ],
    });
  });

  it('quotes the search results before buying anything', () => {
    const step = planNextStep(
      transcript([searchCall([result('a', 't1', 5, 4), result('b', 't2', 5, 4)])]),
    );
    expect(step.kind === 'call-tools' && step.calls.map((call) => call.name)).toEqual([
      'l402_quote',
      'l402_quote',
    ]);
  });

  it('goes by the quoted price, not the listed one, and by what is left', () => {
    const calls = [
      searchCall([result('cheap-listed', 't1', 3, 5), result('fits', 't2', 10, 4)]),
      // The listing said 3 sats; the invoice says 40, more than is left.
      quoteCall('cheap-listed', 40),
      quoteCall('fits', 10),
    ];
    const step = planNextStep(transcript(calls));
    expect(step).toMatchObject({
      kind: 'call-tools',
      calls: [{ name: 'l402_fetch', args: { url: `${api}/v1/articles/fits`, maxSats: 10 } }],
    });
  });

  it('does not retry a purchase the budget refused, and reports why it stopped', () => {
    const calls = [
      searchCall([result('a', 't1', 10, 4)]),
      quoteCall('a', 10),
      {
        name: 'l402_fetch',
        args: { url: `${api}/v1/articles/a` },
        result:
          'l402_fetch failed (BUDGET_EXCEEDED): Payment refused by budget "run". Nothing was paid. Do not retry this purchase.',
      },
    ];
    const step = planNextStep(transcript(calls));
    expect(step.kind).toBe('answer');
    expect(step.kind === 'answer' && step.text).toContain(
      'the purchase was refused (BUDGET_EXCEEDED)',
    );
  });

  it('prefers a new topic to a second source on a covered one', () => {
    const bought: ToolCallRecord = {
      name: 'l402_fetch',
      args: { url: `${api}/v1/articles/a` },
      result: fetched('5 sats', '21 sats', { body: 'Text.' }),
    };
    const calls = [
      searchCall([result('a', 't1', 5, 4), result('a2', 't1', 5, 4), result('b', 't2', 5, 4, 8)]),
      quoteCall('a', 5),
      quoteCall('a2', 5),
      quoteCall('b', 5),
      bought,
    ];
    const step = planNextStep(transcript(calls), { maxPurchases: 2 });
    expect(step).toMatchObject({ calls: [{ args: { url: `${api}/v1/articles/b` } }] });
  });

  it('answers when the search itself is refused', () => {
    const step = planNextStep(
      transcript([
        {
          name: 'l402_fetch',
          args: { url: `${api}/v1/search?q=x` },
          result: 'l402_fetch failed (BUDGET_EXCEEDED): too little left. Nothing was paid.',
        },
      ]),
    );
    expect(step.kind === 'answer' && step.text).toContain(
      'I could not search the research API: BUDGET_EXCEEDED',
    );
  });
});
