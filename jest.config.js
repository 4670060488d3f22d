/** Type-checking runs once in `npm run typecheck`; ts-jest transpiles only (isolatedModules) to stay fast. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  testTimeout: 60000,
  maxWorkers: 2,
};
