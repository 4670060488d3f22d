import type { BreakerTimers } from './timers';

/** An item with a deadline on the monotonic clock, linked into the queue by its own prev/next fields. */
export interface DeadlineNode<T> {
  readonly deadline: number;
  prev: T | null;
  next: T | null;
}

/**
 * Call deadlines of one breaker: a list kept in deadline order and one timer armed for its head, so a
 * per-call timeout costs no setTimeout per call. Deadlines are monotonic-clock ms (`timers.monotonic()`):
 * a wall-clock step (NTP) neither delays nor hastens a timeout. Removing an item never touches the timer:
 * when it fires early it re-arms for the new head.
 */
export class DeadlineQueue<T extends DeadlineNode<T>> {
  private head: T | null = null;
  private tail: T | null = null;
  private timer: unknown = null;
  private timerAt = Infinity;

  constructor(
    private readonly timers: BreakerTimers,
    /** Called for each item whose deadline has passed, after it was taken out of the queue. */
    private readonly onExpired: (item: T) => void,
  ) {}

  insert(item: T): void {
    let after = this.tail;
    while (after && after.deadline > item.deadline) after = after.prev;
    item.prev = after;
    item.next = after ? after.next : this.head;
    if (item.next) item.next.prev = item;
    else this.tail = item;
    if (after) after.next = item;
    else this.head = item;
    if (item.deadline < this.timerAt) this.arm(item.deadline);
  }

  /** Take an item out (idempotent: an item not in the queue is left alone). */
  remove(item: T): void {
    if (item.prev) item.prev.next = item.next;
    else if (this.head === item) this.head = item.next;
    if (item.next) item.next.prev = item.prev;
    else if (this.tail === item) this.tail = item.prev;
    item.prev = item.next = null;
  }

  private arm(at: number): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.timers.setTimeout(() => this.fire(), Math.max(0, at - this.timers.monotonic()));
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.timers.monotonic();
    for (let h = this.head; h && h.deadline <= now; h = this.head) {
      this.remove(h);
      this.onExpired(h);
    }
    if (this.head) this.arm(this.head.deadline);
  }
}
