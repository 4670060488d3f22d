/**
 * The one "create on first use" memo of the runtime shells: the first call starts `make`, later calls share
 * its promise; a failed start is forgotten, so the next invocation tries again (a secret that was not yet
 * readable, a parameter created after the deploy) instead of failing forever in a warm instance.
 */
export interface Lazy<T> {
  get(): Promise<T>;
  /** Forget the value (tests, or a shell that wants a fresh composition). */
  reset(): void;
}

export function lazyOnce<T>(make: () => Promise<T>): Lazy<T> {
  let p: Promise<T> | undefined;
  return {
    get() {
      if (!p) {
        const started = make();
        p = started;
        started.catch(() => {
          if (p === started) p = undefined;
        });
      }
      return p;
    },
    reset() {
      p = undefined;
    },
  };
}
