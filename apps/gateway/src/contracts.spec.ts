/**
 * The HTTP contract (contracts/openapi/gateway.v1.yaml) and the controllers say the same thing:
 * every route a controller declares is in the document with its method, and the document declares
 * no route that does not exist. Read from the sources' text (Nest itself cannot load in jest).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const SRC = __dirname;
const ROOT = join(SRC, '..', '..', '..');

/** "GET /api/v1/settlements/{setlId}" for every @Get/@Post of every controller. */
function controllerRoutes(): string[] {
  const routes: string[] = [];
  for (const file of readdirSync(SRC).filter((f) => f.endsWith('.controller.ts'))) {
    const text = readFileSync(join(SRC, file), 'utf8');
    const prefix = /@Controller\((?:'([^']*)')?\)/.exec(text)?.[1] ?? '';
    for (const m of text.matchAll(/@(Get|Post)\((?:'([^']*)')?\)/g)) {
      const path = [prefix, m[2] ?? ''].filter((p) => p !== '').join('/');
      routes.push(`${(m[1] ?? '').toUpperCase()} /${path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes.sort();
}

/** "GET /path" for every operation of the OpenAPI document (two-space YAML indentation). */
function documentedRoutes(): string[] {
  const text = readFileSync(join(ROOT, 'contracts/openapi/gateway.v1.yaml'), 'utf8');
  const paths = text.slice(text.indexOf('\npaths:\n'), text.indexOf('\ncomponents:\n'));
  const routes: string[] = [];
  let current = '';
  for (const line of paths.split('\n')) {
    const path = /^ {2}(\/\S*):\s*$/.exec(line);
    if (path !== null) current = path[1] ?? '';
    const method = /^ {4}(get|post|put|patch|delete):\s*$/.exec(line);
    if (method !== null) routes.push(`${(method[1] ?? '').toUpperCase()} ${current}`);
  }
  return routes.sort();
}

describe('OpenAPI document against the controllers', () => {
  it('documents every route the gateway serves, and only those', () => {
    const served = controllerRoutes().filter((r) => !r.startsWith('GET /console'));
    expect(served.length).toBeGreaterThan(10);
    expect(documentedRoutes()).toEqual(served);
  });
});
