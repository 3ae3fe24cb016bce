import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as core from '../../../src/core.js';
import * as root from '../../../src/index.js';

/**
 * The library's public surface (package.json `exports`: `byodkim` → src/index.ts,
 * `byodkim/core` → src/core.ts), read with the TypeScript compiler as a user's editor would:
 * every exported name has a doc comment where it is declared, and every function and class
 * an `@example`. The root re-exports all of core.
 */

const ENTRY_POINTS = {
  byodkim: fileURLToPath(new URL('../../../src/index.ts', import.meta.url)),
  'byodkim/core': fileURLToPath(new URL('../../../src/core.ts', import.meta.url)),
};

const options: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
};
// The AWS SDK's declarations are three quarters of the files reachable from the entry points
// and hold nothing this test reads: serve them empty so the program builds in a fraction of the time.
const host = ts.createCompilerHost(options);
const getSourceFile = host.getSourceFile.bind(host);
host.getSourceFile = (fileName, language, ...rest) =>
  /[\\/]node_modules[\\/](@aws-sdk|@smithy)[\\/]/.test(fileName)
    ? ts.createSourceFile(fileName, 'export {};', language)
    : getSourceFile(fileName, language, ...rest);
const program = ts.createProgram(Object.values(ENTRY_POINTS), options, host);
const checker = program.getTypeChecker();

interface ExportDoc {
  name: string;
  kind: 'function' | 'class' | 'value' | 'type';
  documented: boolean;
  hasExample: boolean;
}

function exportsOf(file: string): ExportDoc[] {
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`${file} is not in the program`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${file} has no module symbol`);
  return checker.getExportsOfModule(moduleSymbol).map((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const kind =
      symbol.flags & ts.SymbolFlags.Function
        ? 'function'
        : symbol.flags & ts.SymbolFlags.Class
          ? 'class'
          : symbol.flags & ts.SymbolFlags.Value
            ? 'value'
            : 'type';
    const documented = symbol.getDocumentationComment(checker).length > 0;
    const hasExample = symbol.getJsDocTags(checker).some((tag) => tag.name === 'example');
    return { name: exported.getName(), kind, documented, hasExample };
  });
}

describe('public API (byodkim, byodkim/core)', () => {
  const rootExports = exportsOf(ENTRY_POINTS.byodkim);
  const coreExports = exportsOf(ENTRY_POINTS['byodkim/core']);

  it('exports the stable surface: config, engine, plan/apply/forEachDomain, records, keys, errors', () => {
    expect(rootExports.map((e) => e.name)).toEqual(
      expect.arrayContaining([
        'loadConfig',
        'parseConfig',
        'buildEngine',
        'planDomain',
        'applyDomain',
        'forEachDomain',
        'DomainResult',
        'DomainState',
        'Plan',
        'ByodkimError',
        'InputError',
        'ExitCode',
      ]),
    );
    expect(Object.keys(root)).toEqual(expect.arrayContaining(Object.keys(core)));
    expect(coreExports.map((e) => e.name)).not.toContain('buildEngine');
  });

  it('documents every exported function, class and constant where it is declared', () => {
    const undocumented = rootExports.filter((e) => !e.documented && e.kind !== 'type').map((e) => e.name);
    expect(undocumented).toEqual([]);
  });

  it('gives every exported function and class an @example', () => {
    const withoutExample = rootExports
      .filter((e) => (e.kind === 'function' || e.kind === 'class') && !e.hasExample)
      .map((e) => e.name);
    expect(withoutExample).toEqual([]);
  });

  it('lists each runtime export the module really has (no type-only name posing as a value)', () => {
    const values = rootExports.filter((e) => e.kind !== 'type').map((e) => e.name);
    expect(Object.keys(root).sort()).toEqual([...values].sort());
  });

  it('byodkim/core reaches no AWS SDK module, by static or dynamic import (the release test measures the packed one)', async () => {
    const graph = await build({
      entryPoints: [ENTRY_POINTS['byodkim/core']],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      metafile: true,
      logLevel: 'silent',
    });
    const packages = new Set(
      Object.values(graph.metafile.inputs)
        .flatMap((input) => input.imports)
        .filter((i) => i.external && !i.path.startsWith('node:'))
        .map((i) => i.path),
    );
    expect([...packages].sort()).toEqual(['yaml', 'zod']);
  });
});
