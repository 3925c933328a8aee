import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// A reader copies a README's install line, then its snippets: the line must install every
// package the snippets import (the packed-install script in .ci runs what these lines name).
const root = join(import.meta.dirname, '..');
const readmes = [
  'README.md',
  ...readdirSync(join(root, 'packages')).map((name) => `packages/${name}/README.md`),
];

function installed(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.match(/^npm install .*$/gm) ?? []) {
    for (const word of line.replace(/#.*/, '').split(/\s+/).slice(2)) {
      if (word !== '' && !word.startsWith('-')) names.add(word.replace(/(?<=.)@[^/]*$/, ''));
    }
  }
  return names;
}

function imported(text: string): Set<string> {
  const names = new Set<string>();
  for (const block of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    const code = block[1]!;
    for (const match of code.matchAll(/(?:from|import)\s*\(?\s*'([^'.][^']*)'/g)) {
      const specifier = match[1]!;
      if (specifier.startsWith('node:')) continue;
      const parts = specifier.split('/');
      names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
    // LangChain resolves a 'provider:model' string through that provider's package.
    for (const match of code.matchAll(/model: '(openai|anthropic|google-genai):/g)) {
      names.add(`@langchain/${match[1]}`);
    }
  }
  return names;
}

describe('README install lines', () => {
  it.each(readmes)('%s installs everything its snippets import', (readme) => {
    const text = readFileSync(join(root, readme), 'utf8');
    const missing = [...imported(text)].filter((name) => !installed(text).has(name));
    expect(missing).toEqual([]);
  });

  it.each(readmes)('%s has an install line or says how to install', (readme) => {
    const text = readFileSync(join(root, readme), 'utf8');
    expect(text).toMatch(/^npm install /m);
  });

  it('the root README and @l402kit/wallets say how to get a wallet', () => {
    for (const readme of ['README.md', 'packages/wallets/README.md']) {
      const text = readFileSync(join(root, readme), 'utf8');
      expect(text, readme).toMatch(/^## Get a wallet$/m);
      expect(text, readme).toContain('Alby Hub');
      expect(text, readme).toContain('LNbits');
    }
  });

  it.each(readmes)('%s names no Node line below the supported 22.13', (readme) => {
    const text = readFileSync(join(root, readme), 'utf8');
    expect(text).not.toMatch(/Node(\.js)? (18|20)\b/);
  });
});
