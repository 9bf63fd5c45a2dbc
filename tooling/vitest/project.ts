import { defineProject } from 'vitest/config';

// Tests import workspace packages from their TypeScript sources (the `@octet/source` export condition),
// so a change in core is seen by every package's tests without a rebuild.
const conditions = ['@octet/source', 'node', 'import', 'module', 'default'];

export function octetProject(name: string, testTimeout = 120_000) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@octet/source'] } },
    test: { name, include: ['test/**/*.test.ts'], testTimeout, hookTimeout: testTimeout },
  });
}
