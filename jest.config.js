/**
 * Two projects:
 * - unit: specs beside the code (*.spec.ts), pure code, no broker or database.
 * - integration: *.int.spec.ts (libs and test/), against a real Apache Kafka broker and a real
 *   PostgreSQL, found or started once by test/support/global-setup.ts.
 */
/** Packages under node_modules that ship only ES modules (`"type": "module"`, no CommonJS build). */
const ESM_ONLY = ['@nestjs', 'file-type', 'strtok3', 'token-types', 'uint8array-extras'];
const moduleNameMapper = {
  '^@onebill/(engine|messaging|ledger|rules|funds|audit|money|observability)$':
    '<rootDir>/libs/$1/src',
  '^@onebill/(engine|messaging|ledger|rules|funds|audit|money|observability)/(.*)$':
    '<rootDir>/libs/$1/src/$2',
};
const transform = {
  '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: '<rootDir>/tsconfig.json' }],
  // ESM-only packages (Nest 12 and its ESM dependencies) compiled to CommonJS, so that jest's
  // CommonJS runtime can load them and controllers, guards and the Kafka transport are tested in
  // process (docs/adr/0018-nest-runtime-and-kafka-transport.md)
  '/node_modules/.+\\.m?js$': '<rootDir>/test/support/esm-to-cjs.transform.js',
};
// every other package under node_modules is CommonJS already and is not transformed
const transformIgnorePatterns = [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`];
const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  moduleNameMapper,
  transform,
  transformIgnorePatterns,
};
module.exports = {
  // jest reads testTimeout only at the top level, not per project
  testTimeout: 120000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{libs,apps,scripts}/**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.int\\.spec\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{libs,apps,test}/**/*.int.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
