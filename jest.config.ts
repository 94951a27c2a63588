import type { Config } from 'jest'

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  moduleNameMapper: {
    '^json-file-repository$': '<rootDir>/packages/core/src/index.ts',
    '^fastify-file-session-store$': '<rootDir>/packages/fastify-adapter/src/index.ts',
  },
  collectCoverageFrom: ['packages/core/src/**/*.ts'],
  coverageThreshold: { global: { lines: 90 } },
  testTimeout: 30_000,
  maxWorkers: 2,
}

export default config
