import * as core from '@l402kit/core';
import { describe, expect, it } from 'vitest';
import { L402Error as L402ErrorFromSource } from '../packages/core/src/errors.js';

describe('workspace packages in tests', () => {
  it('resolve to their sources, so classes are shared across packages', () => {
    expect(core.L402Error).toBe(L402ErrorFromSource);
  });
});
