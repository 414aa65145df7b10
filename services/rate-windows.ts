/**
 * Fixed-window call counters, the way Meteor's rate limiter counts: a key may be used
 * `limit` times in a window of `intervalMs` that starts with its first use; the call past
 * the limit is refused until the window ends. The REST and DDP rate limiters count with it.
 *
 * Limitation: the counts live in this process's memory, as Rocket.Chat keeps them, so
 * several Parley processes behind one address each allow the full limit.
 */
import type { Clock } from "../core/clock.ts";

/** The outcome of counting one call. */
export interface RateDecision {
  readonly allowed: boolean;
  /** Calls still allowed in this window after this one. */
  readonly remaining: number;
  /** Milliseconds until the window ends and the count starts again. */
  readonly resetInMs: number;
}

/** Windows kept before expired ones are swept out. */
const SWEEP_ABOVE = 10_000;

export class RateWindows {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly clock: Clock) {}

  /**
   * Counts a call under `key` against `limit` calls per `intervalMs` (the values in force
   * now, so that a changed setting counts from the next call) and says whether it is
   * allowed.
   */
  hit(key: string, limit: number, intervalMs: number): RateDecision {
    const now = this.clock.now().getTime();
    let window = this.windows.get(key);
    if (!window || now - window.start >= intervalMs) {
      if (this.windows.size >= SWEEP_ABOVE) this.sweep(now, intervalMs);
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count += 1;
    return {
      allowed: window.count <= limit,
      remaining: Math.max(0, limit - window.count),
      resetInMs: window.start + intervalMs - now,
    };
  }

  /** Drops the windows that ended (judged by `intervalMs`), so that memory stays bounded. */
  private sweep(now: number, intervalMs: number): void {
    for (const [key, window] of this.windows) {
      if (now - window.start >= intervalMs) this.windows.delete(key);
    }
  }
}
