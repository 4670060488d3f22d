/** Type-checking runs once in `npm run typecheck`; ts-jest transpiles only (isolatedModules) to stay fast. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  // Generous: a test waits for events, never races the clock; on a loaded 2-core machine a real server can take a while.
  testTimeout: 180000,
  maxWorkers: 2,
};
