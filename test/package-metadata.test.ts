import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// What every published package.json must carry so that npm users get a working, licensed,
// findable package (the packed-install script in .ci proves the tarballs themselves).
const root = join(import.meta.dirname, '..');
const published = readdirSync(join(root, 'packages')).filter((name) => {
  const file = join(root, 'packages', name, 'package.json');
  return existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).private !== true;
});

interface PackageJson {
  name: string;
  license?: string;
  keywords?: string[];
  homepage?: string;
  repository?: { type?: string; url?: string; directory?: string };
  exports: Record<string, Record<string, string>>;
  files?: string[];
  engines?: { node?: string };
  publishConfig?: { access?: string };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function readPackage(name: string): PackageJson {
  return JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));
}

describe('published package metadata', () => {
  it('covers every package under packages/', () => {
    expect(published.length).toBeGreaterThanOrEqual(10);
  });

  it.each(published)('%s is licensed, findable and public', (name) => {
    const pkg = readPackage(name);
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(root, 'packages', name, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(pkg.repository?.url).toMatch(/^git\+https:\/\/github\.com\/.+\.git$/);
    expect(pkg.repository?.directory).toBe(`packages/${name}`);
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.keywords).toContain('l402');
    expect(pkg.engines?.node).toBe('>=22.13');
    expect(pkg.publishConfig?.access).toBe('public');
  });

  it.each(published)('%s exports types, import and default (require of ESM)', (name) => {
    for (const [subpath, conditions] of Object.entries(readPackage(name).exports)) {
      const keys = Object.keys(conditions).filter((key) => key !== '@l402kit/source');
      expect(keys, subpath).toEqual(['types', 'import', 'default']);
      expect(conditions.default, subpath).toBe(conditions.import);
    }
  });

  it.each(published)(
    '%s ships no build info and no tests, and its maps find their sources',
    (name) => {
      const files = readPackage(name).files ?? [];
      expect(files).toContain('dist');
      expect(files).toContain('src');
      expect(files).toContain('!src/**/*.test.ts');
      const tsconfig = readFileSync(join(root, 'packages', name, 'tsconfig.json'), 'utf8');
      expect(JSON.parse(tsconfig).compilerOptions.tsBuildInfoFile).not.toMatch(/^dist\//);
    },
  );

  it.each(published)('%s depends on workspace packages with workspace:^ ranges', (name) => {
    for (const [dependency, range] of Object.entries(readPackage(name).dependencies ?? {})) {
      if (dependency.startsWith('@l402kit/')) expect(range, dependency).toBe('workspace:^');
    }
  });
});

describe('require() from CommonJS', () => {
  it('loads every published package (built dist) on this Node', async () => {
    // Each package requires itself by name (self-reference), through its exports map.
    const entries = published.map((name) => [
      readPackage(name).name,
      join(root, 'packages', name, 'package.json'),
    ]);
    const script = `const { createRequire } = require('node:module');
    for (const [name, from] of ${JSON.stringify(entries)}) {
      const loaded = createRequire(from)(name);
      if (Object.keys(loaded).length === 0) throw new Error(name + ' exported nothing');
    }
    console.log(require(${JSON.stringify(join(root, 'packages', 'core'))}).L402Error.name);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--eval', script]);
    expect(stdout.trim()).toBe('L402Error');
  });
});

describe('what the shipped code imports', () => {
  // A bare import in shipped code must resolve for an npm user: it is the package itself,
  // a dependency or a peer dependency, never a devDependency or a private workspace package.
  const devOnly: Record<string, string[]> = {
    // The ./testing entry starts a relay only for tests; its README says to install nostrmini.
    wallets: ['nostrmini'],
  };

  it.each(published)('%s imports only its dependencies and peers', (name) => {
    const pkg = readPackage(name);
    const allowed = new Set([
      pkg.name,
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.peerDependencies ?? {}),
      ...(devOnly[name] ?? []),
    ]);
    const excluded = (pkg.files ?? []).filter((entry) => entry.startsWith('!src/'));
    const missing = new Set<string>();
    for (const file of shippedSources(join(root, 'packages', name, 'src'))) {
      const relative = `src/${file.slice(join(root, 'packages', name, 'src').length + 1)}`;
      if (excluded.some((pattern) => matchesExclusion(relative, pattern.slice(1)))) continue;
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'([^'.][^']*)'/g)) {
        const specifier = match[1]!;
        if (specifier.startsWith('node:')) continue;
        const parts = specifier.split('/');
        const packageName = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
        if (!allowed.has(packageName)) missing.add(`${relative} imports ${packageName}`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});

function shippedSources(directory: string): string[] {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => join(directory, file));
}

function matchesExclusion(relative: string, pattern: string): boolean {
  if (pattern === 'src/**/*.test.ts') return relative.endsWith('.test.ts');
  return relative === pattern;
}
