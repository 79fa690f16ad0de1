/** Tests run the TypeScript sources directly (ts-jest, transpile only: `npm test` type-checks the packages and tests/ first). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json', diagnostics: false }],
  },
  moduleNameMapper: {
    '^@graphc/(graph|passes|runtime)$': '<rootDir>/packages/$1/src',
    '^graphc$': '<rootDir>/packages/cli/src',
  },
  testTimeout: 60000,
};
