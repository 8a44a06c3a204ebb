import { describe, expect, it } from 'vitest';

describe('toolchain', () => {
  it('when tests run, then the strict TypeScript toolchain is in place', () => {
    expect(typeof structuredClone).toBe('function');
  });
});
