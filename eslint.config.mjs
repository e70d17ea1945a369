// ESLint flat config: strict, type-aware, zero warnings (run with --max-warnings 0).
import tseslint from 'typescript-eslint';

const focusedOrSkipped = [
  {
    selector:
      "CallExpression[callee.object.name=/^(it|describe|test)$/][callee.property.name='only']",
    message: 'Focused tests hide the rest of the suite.',
  },
  {
    selector:
      "CallExpression[callee.object.name=/^(it|describe|test)$/][callee.property.name='skip']",
    message: 'Skipped tests pass silently; make the test run or delete it.',
  },
];

const enginePurity = [
  {
    group: [
      '@nestjs/*',
      'kafkajs',
      'pg',
      'pg-*',
      '@electric-sql/*',
      'fast-xml-parser',
      'class-validator',
      'class-transformer',
      'testcontainers',
      '@testcontainers/*',
    ],
    message: 'libs/engine is pure: no framework, driver, broker or parser.',
  },
  {
    group: ['fs', 'node:*', 'fs/*', 'path', 'http', 'https', 'net', 'child_process', 'os'],
    message: 'libs/engine does no I/O.',
  },
];

// The gateway's files that read, sum, compare or negate amounts (docs/adr/0002).
const gatewayMoney = [
  'apps/gateway/src/topups.ts',
  'apps/gateway/src/alerts.ts',
  'apps/gateway/src/subsidy.ts',
  'apps/gateway/src/intake/**/*.ts',
];
// Only libs/money imports decimal.js: everyone else uses its configured clone (D) and helpers.
const oneDecimal = {
  group: ['decimal.js'],
  message: 'Use @onebill/money (D, decimalOf, sumDecimal, formatDecimal), not decimal.js directly.',
};

// Money is integer fen or the project's Decimal (libs/money), never a binary float: no Number() of
// anything in the libs that hold money, nor Number as a callback (`.map(Number)`). A count or an
// offset that is not money may opt out on its line, saying why:
//   // eslint-disable-next-line no-restricted-syntax -- a row count, not money
const noNumberOnMoney = [
  {
    selector: ":matches(CallExpression, NewExpression)[callee.name='Number']",
    message:
      'Money never goes through Number(): parse with @onebill/money (parseFen, parseWireFen, decimalOf). Not money? Disable on the line with a reason.',
  },
  {
    selector: "CallExpression > Identifier.arguments[name='Number']",
    message: 'Money never goes through Number (as a callback either): use @onebill/money.',
  },
  {
    selector: "MemberExpression[object.name='Number'][property.name='parseFloat']",
    message: 'Money is Decimal or integer fen, never a binary float.',
  },
];
const moneyLibs = [
  'libs/money/**/*.ts',
  'libs/engine/**/*.ts',
  'libs/funds/**/*.ts',
  'libs/rules/**/*.ts',
  'libs/audit/**/*.ts',
  'libs/messaging/**/*.ts',
  // the gateway's files that handle amounts (the rest of the app computes none)
  ...gatewayMoney,
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      'no-restricted-syntax': ['error', ...focusedOrSkipped],
    },
  },
  {
    // Libraries never reach into an app: apps depend on libs, not the other way round.
    files: ['libs/**/*.ts'],
    ignores: ['libs/engine/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/apps/*', '**/apps/**'], message: 'libs/* must not import from apps/.' },
          ],
        },
      ],
    },
  },
  {
    // The engine is pure: no framework, driver, broker, parser, file system or clock.
    files: ['libs/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...enginePurity,
            {
              group: ['@onebill/*', '!@onebill/money', '../../*'],
              message: 'libs/engine depends on no other part of the project but libs/money.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'Date', message: 'libs/engine has no clock: dates come in as data.' },
        { name: 'parseFloat', message: 'Money is Decimal, never a binary float.' },
      ],
      'no-restricted-properties': [
        'error',
        { property: 'toNumber', message: 'Money stays Decimal in the engine.' },
        {
          object: 'Decimal',
          property: 'set',
          message: "Use the engine's configured Decimal clone, never Decimal.set.",
        },
      ],
    },
  },
  {
    // Fund statements are pure arithmetic over data: no framework, driver, file system or clock.
    files: ['libs/funds/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...enginePurity,
            { group: ['**/apps/*', '**/apps/**'], message: 'libs/* must not import from apps/.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'parseFloat', message: 'Money is Decimal, never a binary float.' },
      ],
    },
  },
  {
    // The one money module is pure arithmetic: no framework, driver, I/O, clock, or other lib.
    files: ['libs/money/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...enginePurity,
            {
              group: ['@onebill/*', '../../*'],
              message: 'libs/money depends on no other part of the project.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Decimal',
          property: 'set',
          message: "Use the money module's configured Decimal clone (D), never Decimal.set.",
        },
      ],
    },
  },
  {
    files: [
      'libs/rules/**/*.ts',
      'libs/audit/**/*.ts',
      'libs/money/**/*.ts',
      'libs/ledger/**/*.ts',
      'libs/messaging/**/*.ts',
      ...gatewayMoney,
    ],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'parseFloat', message: 'Money is Decimal, never a binary float.' },
      ],
    },
  },
  {
    files: moneyLibs,
    rules: { 'no-restricted-syntax': ['error', ...focusedOrSkipped, ...noNumberOnMoney] },
  },
  {
    // The codecs decide where an amount is read, libs/money how: no Decimal of their own.
    files: ['libs/messaging/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/apps/*', '**/apps/**'], message: 'libs/* must not import from apps/.' },
            oneDecimal,
          ],
        },
      ],
    },
  },
  {
    files: gatewayMoney,
    rules: { 'no-restricted-imports': ['error', { patterns: [oneDecimal] }] },
  },
  {
    // The engine's scenario tests read the shipped rule sets (libs/rules) to test the real rules;
    // they still may not touch a framework, driver or the file system directly.
    files: ['libs/engine/**/*.spec.ts', 'libs/engine/src/scenarios/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: enginePurity }] },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
