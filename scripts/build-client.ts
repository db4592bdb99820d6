/**
 * Builds the client package (packages/client/dist) from src/client, so that it needs nothing
 * but Node: the JavaScript as tsc emits it, and declarations in which the API's types (TypeBox
 * schemas in src/api, error codes in src/common) are written out as plain types in `api.d.ts`.
 * Refuses to build when a client module would import anything at run time but `node:` modules
 * and its own files. Run it after the root build: `npm run build && npm pack -w @baton/client`.
 *
 *     node dist/scripts/build-client.js [out-dir]
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLIENT_DIR = path.join(ROOT, 'src', 'client');
/** Where the declarations import the written-out API types from. */
const API_MODULE = './api.js';

/** The client's own modules: src/client/*.ts but the tests. */
export function clientSources(): string[] {
  return readdirSync(CLIENT_DIR)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join(CLIENT_DIR, f));
}

/** Every module a JavaScript file imports (static, re-exported, dynamic). */
export function importedModules(js: string): string[] {
  const found: string[] = [];
  for (const m of js.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
    found.push((m[1] ?? m[2] ?? m[3])!);
  }
  return found;
}

/** A module the packaged client may import at run time: Node's own, or one of its files. */
export function allowedImport(specifier: string, ownFiles: ReadonlySet<string>): boolean {
  if (specifier.startsWith('node:')) return true;
  return specifier.startsWith('./') && !specifier.slice(2).includes('/') && ownFiles.has(specifier.slice(2));
}

function fail(message: string): never {
  process.stderr.write(`build-client: ${message}\n`);
  process.exit(1);
}

function compilerOptions(): ts.CompilerOptions {
  const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d: ts.Diagnostic) => fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')) };
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.json'), {}, host);
  if (!parsed) fail('cannot read tsconfig.json');
  return { ...parsed.options, rootDir: ROOT, outDir: path.join(ROOT, '.client-build'), sourceMap: false, declarationMap: false, declaration: true, noEmit: false };
}

/** The names the client's files import (or re-export) from outside src/client, with the node naming each. */
function externalTypeNames(files: readonly ts.SourceFile[]): Map<string, ts.Node> {
  const names = new Map<string, ts.Node>();
  for (const file of files) {
    for (const statement of file.statements) {
      if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) || !statement.moduleSpecifier) continue;
      const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
      if (!specifier.startsWith('../')) continue;
      const elements = ts.isImportDeclaration(statement)
        ? statement.importClause?.namedBindings && ts.isNamedImports(statement.importClause.namedBindings)
          ? statement.importClause.namedBindings.elements
          : undefined
        : statement.exportClause && ts.isNamedExports(statement.exportClause)
          ? statement.exportClause.elements
          : undefined;
      if (!elements || (ts.isImportDeclaration(statement) && statement.importClause?.name)) {
        fail(`${path.relative(ROOT, file.fileName)}: import from "${specifier}" by name only ({ A, B }), so its types can be written out`);
      }
      for (const element of elements) {
        const name = (element.propertyName ?? element.name).text;
        if (names.has(name)) continue;
        names.set(name, element.name);
      }
    }
  }
  return names;
}

/** `export type Name = <the type, written out>;` for each name: no import left, nothing but TypeScript's own types. */
function writtenOutTypes(program: ts.Program, names: Map<string, ts.Node>): string {
  const checker = program.getTypeChecker();
  const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
  const scratch = ts.createSourceFile('api.d.ts', '', ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const flags =
    ts.NodeBuilderFlags.NoTruncation | ts.NodeBuilderFlags.InTypeAlias | ts.NodeBuilderFlags.UseSingleQuotesForStringLiteralType | ts.NodeBuilderFlags.MultilineObjectLiterals;
  const out = ['// Written out by scripts/build-client.ts from the API schemas (src/api): do not edit.', ''];
  for (const [name, node] of [...names].sort(([a], [b]) => a.localeCompare(b))) {
    let symbol = checker.getSymbolAtLocation(node);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    if (!symbol || !(symbol.flags & (ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Interface)))
      fail(`"${name}" is not a type: the client may import only types from outside src/client`);
    const typeNode = checker.typeToTypeNode(checker.getDeclaredTypeOfSymbol(symbol), undefined, flags);
    if (!typeNode) fail(`cannot write out the type "${name}"`);
    const text = printer.printNode(ts.EmitHint.Unspecified, typeNode, scratch);
    if (/\bimport\(|\btypebox\b/.test(text)) fail(`the type "${name}" still refers to another module: ${text.slice(0, 200)}`);
    const doc = ts.displayPartsToString(symbol.getDocumentationComment(checker));
    if (doc) out.push(`/** ${doc.replaceAll('*/', '*\\/').split('\n').join('\n * ')} */`);
    out.push(`export type ${name} = ${text};`, '');
  }
  return out.join('\n');
}

export function buildClient(outDir: string): string[] {
  const sources = clientSources();
  const program = ts.createProgram(sources, compilerOptions());
  // The client's own files only: the root build type-checks the rest.
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const source of sources) diagnostics.push(...ts.getPreEmitDiagnostics(program, program.getSourceFile(source)));
  if (diagnostics.length > 0) {
    fail(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' }));
  }
  const files = sources.map((s) => program.getSourceFile(s)!);
  const outputs = new Map<string, string>();
  for (const file of files) {
    const result = program.emit(file, (fileName, text) => outputs.set(path.basename(fileName), text));
    if (result.emitSkipped) fail(`tsc did not emit ${path.relative(ROOT, file.fileName)}`);
  }
  outputs.set('api.d.ts', writtenOutTypes(program, externalTypeNames(files)));

  const own = new Set(outputs.keys());
  for (const [name, text] of outputs) {
    if (name.endsWith('.js')) {
      for (const specifier of importedModules(text)) {
        if (!allowedImport(specifier, own)) fail(`${name} imports "${specifier}" at run time: the client may import only node: modules and its own files`);
      }
    } else if (name.endsWith('.d.ts')) {
      const rewritten = text.replace(/(from\s*)'\.\.\/[^']+'/g, `$1'${API_MODULE}'`);
      if (/import\(\s*["']\.\.\//.test(rewritten)) fail(`${name} refers to a type outside src/client inline: give the value a declared type`);
      outputs.set(name, rewritten);
    }
  }

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of outputs) writeFileSync(path.join(outDir, name), text);
  return [...outputs.keys()].sort();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = path.resolve(process.argv[2] ?? path.join(ROOT, 'packages', 'client', 'dist'));
  const written = buildClient(outDir);
  // On stderr: `npm pack --json` prints its answer on stdout after this.
  process.stderr.write(`build-client: ${written.length} files in ${path.relative(process.cwd(), outDir) || '.'}\n`);
}
