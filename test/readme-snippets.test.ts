import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

// A README block that starts with `import` is a whole program a reader can paste (see
// CONTRIBUTING.md); this compiles each against the built packages so that a block missing
// its setup fails here, before the slower packed-install check in CI. Blocks that continue
// another start with a comment and are not compiled.
const root = join(import.meta.dirname, '..');
const directory = join(import.meta.dirname, '.readme-snippets');
const readmes = [
  ['root', 'README.md'],
  ...readdirSync(join(root, 'packages')).map((name) => [name, `packages/${name}/README.md`]),
];

afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('README snippets', () => {
  it('that start with import compile as whole programs', () => {
    rmSync(directory, { recursive: true, force: true });
    mkdirSync(directory, { recursive: true });
    const files: string[] = [];
    for (const [name, readme] of readmes) {
      const text = readFileSync(join(root, readme!), 'utf8');
      let index = 0;
      for (const match of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
        if (!match[1]!.startsWith('import ')) continue;
        const file = join(directory, `${name}-${++index}.ts`);
        writeFileSync(file, `${match[1]}\nexport {};\n`);
        files.push(file);
      }
    }
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
    });
    const errors = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.file && files.includes(diagnostic.file.fileName))
      .map((diagnostic) => {
        const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
        return `${diagnostic.file!.fileName.slice(directory.length + 1)}:${line + 1} ${message}`;
      });
    expect(files.length).toBeGreaterThanOrEqual(10);
    expect(errors).toEqual([]);
  }, 120_000);
});
