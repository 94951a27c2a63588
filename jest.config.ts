import type { Config } from 'jest'

const config: Config = {
  testEnvironment: 'node',
  // Each package's tests test that package; test/ holds what spans them (the READMEs).
  roots: ['<rootDir>/packages', '<rootDir>/test'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
    // `cookie` 2 (used by fastify's inject and @fastify/cookie) is ESM only, which jest cannot
    // load on Node 20 (https://jestjs.io/docs/ecmascript-modules): compile it, and the dynamic
    // import() of it in @fastify/cookie, to CommonJS.
    '/cookie/(dist/)?index\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', ignoreDeprecations: '6.0' } },
    ],
  },
  transformIgnorePatterns: [
    '/node_modules/(?!\\.pnpm/(cookie|@fastify\\+cookie)@|cookie/|@fastify/cookie/)',
  ],
  moduleNameMapper: {
    '^json-file-repository$': '<rootDir>/packages/core/src/index.ts',
    '^fastify-file-session-store$': '<rootDir>/packages/fastify-adapter/src/index.ts',
    '^express-file-session-store$': '<rootDir>/packages/express-adapter/src/index.ts',
    '^@json-file-repository/test-helpers$': '<rootDir>/packages/test-helpers/src/index.ts',
  },
  // The command line is tested end to end through its built binary, in child processes.
  collectCoverageFrom: [
    'packages/core/src/**/*.ts',
    '!packages/core/src/cli.ts',
    '!packages/core/src/commands/**',
  ],
  coverageThreshold: { global: { lines: 90 } },
  reporters: ['default', '<rootDir>/.ci/summary-reporter.js'],
  testTimeout: 30_000,
  maxWorkers: 2,
  // Time a worker has to exit once the run is over before jest kills it and reports that it
  // "failed to exit gracefully". jest's 500 ms are eaten by a loaded machine: a worker whose
  // tests left nothing open still needs CPU time to exit.
  workerGracefulExitTimeout: 10_000,
}

export default config
