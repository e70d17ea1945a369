/**
 * Two projects:
 * - unit: specs beside the code (*.spec.ts), pure code, no broker or database.
 * - integration: *.int.spec.ts (libs and test/), against a real Apache Kafka broker and a real
 *   PostgreSQL, found or started once by test/support/global-setup.ts.
 */
const moduleNameMapper = {
  '^@onebill/(engine|messaging|ledger|rules|funds|audit|money|observability)$':
    '<rootDir>/libs/$1/src',
  '^@onebill/(engine|messaging|ledger|rules|funds|audit|money|observability)/(.*)$':
    '<rootDir>/libs/$1/src/$2',
};
const transform = {
  '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: '<rootDir>/tsconfig.json' }],
};
const common = { rootDir: __dirname, testEnvironment: 'node', moduleNameMapper, transform };
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
