// Copies the TypeScript snippets of every README that are whole modules (they start with an
// import) into ./readme/, so that tsc checks them against the installed tarballs exactly as a
// user would paste them. Usage: node readme-snippets.mjs <repository root>
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2];
const readmes = [
  ['root', join(root, 'README.md')],
  ...readdirSync(join(root, 'packages')).map((name) => [
    name,
    join(root, 'packages', name, 'README.md'),
  ]),
];
mkdirSync('readme', { recursive: true });
let count = 0;
for (const [name, file] of readmes) {
  const text = readFileSync(file, 'utf8');
  let index = 0;
  for (const match of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    const code = match[1];
    if (!/^import /.test(code)) continue;
    index += 1;
    // `export {}` makes each file a module even when it only has top-level await.
    writeFileSync(join('readme', `${name}-${index}.ts`), `${code}\nexport {};\n`);
    count += 1;
  }
}
console.log(`readme-snippets: ${count} snippets from ${readmes.length} READMEs`);
