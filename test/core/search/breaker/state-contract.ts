import type { BreakerStateStore, SharedBreakerState } from '../../../../lib/core/search/breaker/ports';

/**
 * The contract every BreakerStateStore passes (memory, Redis, DynamoDB). `make` returns a fresh store whose
 * records do not leak between tests (e.g. a unique key prefix).
 */
export function breakerStateContract(label: string, make: () => Promise<BreakerStateStore>): void {
  const rec = (version: number, state: 'open' | 'closed' = 'open', extra: Partial<SharedBreakerState> = {}): SharedBreakerState => ({
    state,
    version,
    openUntil: state === 'open' ? 1_767_225_630_000 + version : 0,
    updatedAt: 1_767_225_600_000 + version,
    updatedBy: `instance-${version}`,
    reason: state === 'open' ? 'failures' : 'probes_succeeded',
    ...extra,
  });

  describe(`BreakerStateStore contract: ${label}`, () => {
    let store: BreakerStateStore;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    it('has no record for an unknown breaker', async () => {
      await expect(store.get('nobody')).resolves.toBeNull();
    });

    it('creates with expected version 0 and round-trips every field', async () => {
      await expect(store.compareAndSet('b', 0, rec(1))).resolves.toBe(true);
      await expect(store.get('b')).resolves.toEqual(rec(1));
    });

    it('refuses a second create and a stale version, accepts the current one', async () => {
      await store.compareAndSet('b', 0, rec(1));
      await expect(store.compareAndSet('b', 0, rec(1, 'closed'))).resolves.toBe(false);
      await expect(store.compareAndSet('b', 1, rec(2, 'closed'))).resolves.toBe(true);
      await expect(store.compareAndSet('b', 1, rec(2, 'open'))).resolves.toBe(false);
      await expect(store.get('b')).resolves.toEqual(rec(2, 'closed'));
    });

    it('lets exactly one of many concurrent writers win', async () => {
      await store.compareAndSet('race', 0, rec(1));
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.compareAndSet('race', 1, rec(2, 'open', { updatedBy: `w${i}` }))));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      await expect(store.get('race')).resolves.toMatchObject({ version: 2, updatedBy: `w${winner}` });
    });

    it('keeps breakers apart', async () => {
      await store.compareAndSet('one', 0, rec(1));
      await expect(store.get('two')).resolves.toBeNull();
      await expect(store.compareAndSet('two', 0, rec(1, 'closed'))).resolves.toBe(true);
      await expect(store.get('one')).resolves.toMatchObject({ state: 'open' });
    });
  });
}
