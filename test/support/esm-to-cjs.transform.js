/**
 * Jest transform for the ESM-only packages under node_modules (Nest 12 and what it pulls in).
 * The repo's code runs in jest as CommonJS (ts-jest); jest on Node < 24.9 cannot require() an ES
 * module, so these packages are compiled to CommonJS here, with TypeScript's own transpiler (no
 * new dependency). docs/adr/0018-nest-runtime-and-kafka-transport.md.
 *
 * What an ES module has and CommonJS has not is rewritten first:
 * - `createRequire(import.meta.url)` and `import.meta.resolve` become the module's `require` (jest's:
 *   one module registry) and `require.resolve`;
 * - `import.meta.url` / `.dirname` / `.filename` become the CommonJS module's own file;
 * - a top-level `const require = createRequire(...)` would redeclare the wrapper's `require`:
 *   it is renamed, and the module uses the wrapper's `require`, which resolves the same way.
 * `import()` becomes `require()` (TypeScript's CommonJS output), so an optional package that Nest
 * loads lazily resolves in jest's registry like everything else.
 */
const { createHash } = require('node:crypto');
const ts = require('typescript');

const META_URL = "require('node:url').pathToFileURL(__filename).href";

function toCommonJs(source) {
  return source
    .replace(/\bcreateRequire\(import\.meta\.url\)/g, 'require')
    .replace(/\bimport\.meta\.resolve\b/g, 'require.resolve')
    .replace(/\bimport\.meta\.url\b/g, META_URL)
    .replace(/\bimport\.meta\.dirname\b/g, '__dirname')
    .replace(/\bimport\.meta\.filename\b/g, '__filename')
    .replace(/^(\s*)(const|let|var)\s+require\s*=/gm, '$1$2 __esmRequire =');
}

module.exports = {
  process(source, filename) {
    const out = ts.transpileModule(toCommonJs(source), {
      fileName: filename,
      reportDiagnostics: false,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        allowJs: true,
        esModuleInterop: true,
        sourceMap: false,
      },
    });
    return { code: out.outputText };
  },
  getCacheKey(source, filename) {
    return createHash('sha256')
      .update('esm-to-cjs 2\0')
      .update(ts.version)
      .update('\0')
      .update(filename)
      .update('\0')
      .update(source)
      .digest('hex');
  },
};
