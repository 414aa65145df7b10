/**
 * The DDP rate limiter, with Rocket.Chat's five `DDP_Rate_Limit_*` rules over method
 * calls and subscriptions: per address (loopback exempt), per user, per connection, per
 * user and method, per connection and method. For `stream-*` names the two per-method
 * rules allow four times the calls over four times the interval, as Rocket.Chat's do. A
 * call past any rule is refused with Meteor's `too-many-requests`. Off in test mode, as
 * in Rocket.Chat; settings are read on every call, so changes apply at once.
 *
 * Limitation: the counts live in this process's memory, as Rocket.Chat keeps them. The
 * per-method rules Rocket.Chat adds for a few methods of its own (such as `sendMessage`)
 * are not there; the five rules above apply to every method.
 */
import { ClientError } from "../core/errors.ts";
import type { Deps } from "./context.ts";
import { RateWindows } from "./rate-windows.ts";
import type { Settings } from "./settings.ts";

/** One method call or subscription to count. */
export interface DdpCall {
  readonly type: "method" | "subscription";
  readonly name: string;
  readonly userId: string | null;
  readonly connectionId: string;
  readonly address: string;
}

/** A rule: the setting name it reads and the key it counts a call under (null: not counted). */
interface Rule {
  readonly setting: "IP" | "User" | "Connection" | "User_By_Method" | "Connection_By_Method";
  key(call: DdpCall): string | null;
  readonly perMethod?: boolean;
}

const RULES: readonly Rule[] = [
  {
    setting: "IP",
    key: (c) => (c.address && c.address !== "127.0.0.1" ? c.address : null),
  },
  { setting: "User", key: (c) => c.userId },
  { setting: "Connection", key: (c) => c.connectionId },
  {
    setting: "User_By_Method",
    key: (c) => (c.userId ? `${c.userId} ${c.type} ${c.name}` : null),
    perMethod: true,
  },
  {
    setting: "Connection_By_Method",
    key: (c) => `${c.connectionId} ${c.type} ${c.name}`,
    perMethod: true,
  },
];

export class DdpRateLimiter {
  private readonly windows = new Map<string, RateWindows>();

  constructor(
    private readonly deps: Deps,
    private readonly settings: Settings,
  ) {}

  /** The counters of one rule (stream names get their own, since their interval differs). */
  private windowsOf(name: string): RateWindows {
    let windows = this.windows.get(name);
    if (!windows) this.windows.set(name, (windows = new RateWindows(this.deps.clock)));
    return windows;
  }

  /**
   * Counts `call` under every rule in force; throws Meteor's `too-many-requests` (with
   * `timeToReset`, the longest wait among the rules it broke) when one refuses it.
   */
  check(call: DdpCall): void {
    if (this.deps.config.testMode) return;
    let wait = 0;
    for (const rule of RULES) {
      const prefix = `DDP_Rate_Limit_${rule.setting}`;
      if (this.settings.get<boolean>(`${prefix}_Enabled`) !== true) continue;
      const key = rule.key(call);
      if (key === null) continue;
      const factor = rule.perMethod && call.name.startsWith("stream-") ? 4 : 1;
      const limit = (this.settings.get<number>(`${prefix}_Requests_Allowed`) ?? 0) * factor;
      const intervalMs = (this.settings.get<number>(`${prefix}_Interval_Time`) ?? 0) * factor;
      if (limit <= 0 || intervalMs <= 0) continue;
      const decision = this.windowsOf(`${rule.setting} ${factor}`).hit(key, limit, intervalMs);
      if (!decision.allowed) wait = Math.max(wait, decision.resetInMs);
    }
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new ClientError(
        "too-many-requests",
        `Error, too many requests. Please slow down. You must wait ${seconds} seconds before trying again.`,
        { details: { timeToReset: wait } },
      );
    }
  }
}
