/**
 * Failed-login blocking, with Rocket.Chat's `Block_Multiple_Failed_Logins_*` settings:
 * an address, or a username, that failed to log in as many times as allowed within the
 * unblock window since its last successful login is refused until the window has passed
 * since enough of those failures. Every attempt is recorded in the store (Rocket.Chat's
 * `rocketchat_server_events`), so every Parley process sharing a database sees the same
 * counts, and a refused attempt counts as a failure, as in Rocket.Chat.
 */
import { ClientError } from "../core/errors.ts";
import type { ServerEvent } from "../core/models.ts";
import type { Deps } from "./context.ts";
import type { Settings } from "./settings.ts";

/** Who an attempt was for, as far as it is known. */
export interface Attempted {
  readonly _id?: string | undefined;
  readonly username?: string | undefined;
}

/** How often this process deletes events too old to count. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** Events younger than this are kept whatever the settings say. */
const KEEP_AT_LEAST_MS = 24 * 60 * 60 * 1000;

/** Rocket.Chat's refusal of a blocked login, for the address (`ip`) or the `user`. */
function blocked(by: "ip" | "user"): ClientError {
  const who = by === "ip" ? "IP" : "User";
  return new ClientError(
    `error-login-blocked-for-${by}`,
    `Login has been temporarily blocked For ${who}`,
    { status: 401, details: { function: "Accounts.validateLoginAttempt" } },
  );
}

export class LoginGuard {
  private lastPrune = 0;

  constructor(
    private readonly deps: Deps,
    private readonly settings: Settings,
  ) {}

  private enabled(): boolean {
    return this.settings.get<boolean>("Block_Multiple_Failed_Logins_Enabled") === true;
  }

  /**
   * Throws `error-login-blocked-for-ip` when `address` is blocked, then
   * `error-login-blocked-for-user` when `username` is. Whitelisted addresses
   * (`Block_Multiple_Failed_Logins_Ip_Whitelist`, comma-separated) are never blocked.
   */
  async assertAllowed(address: string, username: string | undefined): Promise<void> {
    if (!this.enabled()) return;
    const whitelist = (this.settings.get<string>("Block_Multiple_Failed_Logins_Ip_Whitelist") ?? "")
      .split(",")
      .map((entry) => entry.trim());
    const byIp = this.settings.get<boolean>("Block_Multiple_Failed_Logins_By_Ip");
    if (byIp && !whitelist.includes(address) && (await this.exceeded({ ip: address }, "Ip"))) {
      throw blocked("ip");
    }
    const byUser = this.settings.get<boolean>("Block_Multiple_Failed_Logins_By_User");
    if (byUser && username && (await this.exceeded({ "u.username": username }, "User"))) {
      throw blocked("user");
    }
  }

  /**
   * Whether the failures matching `who` since the later of its last login and the start
   * of the unblock window reached the limit. A limit of 0 blocks nobody.
   */
  private async exceeded(who: Record<string, string>, by: "Ip" | "User"): Promise<boolean> {
    const limitId =
      by === "Ip"
        ? "Block_Multiple_Failed_Logins_Attempts_Until_Block_By_Ip"
        : "Block_Multiple_Failed_Logins_Attempts_Until_Block_by_User";
    const limit = this.settings.get<number>(limitId) ?? 0;
    if (limit <= 0) return false;
    const minutes =
      this.settings.get<number>(
        `Block_Multiple_Failed_Logins_Time_To_Unblock_By_${by}_In_Minutes`,
      ) ?? 0;
    const windowStart = this.deps.clock.now().getTime() - minutes * 60_000;
    const [lastLogin] = await this.deps.db.serverEvents.find(
      { t: "login", ...who },
      { sort: { ts: -1 }, limit: 1, projection: { ts: 1 } },
    );
    const since = Math.max(windowStart, lastLogin?.ts.getTime() ?? 0);
    const failures = await this.deps.db.serverEvents.countDocuments({
      t: "failed-login-attempt",
      ...who,
      ts: { $gt: new Date(since) },
    });
    return failures >= limit;
  }

  /** Records a failed attempt from `address` (when blocking is on). */
  recordFailure(address: string, user: Attempted): Promise<void> {
    return this.record("failed-login-attempt", address, user);
  }

  /** Records a successful login, which starts the counts of its address and user afresh. */
  recordSuccess(address: string, user: Attempted): Promise<void> {
    return this.record("login", address, user);
  }

  private async record(t: ServerEvent["t"], ip: string, user: Attempted): Promise<void> {
    if (!this.enabled()) return;
    const u = {
      ...(user._id !== undefined && { _id: user._id }),
      ...(user.username !== undefined && { username: user.username }),
    };
    const ts = this.deps.clock.now();
    await this.deps.db.serverEvents.insertOne({ _id: this.deps.ids.id(), t, ts, ip, u });
    await this.prune(ts);
  }

  /** Deletes, at most hourly, the events older than any window can reach. */
  private async prune(now: Date): Promise<void> {
    if (now.getTime() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now.getTime();
    const minutes = Math.max(
      this.settings.get<number>("Block_Multiple_Failed_Logins_Time_To_Unblock_By_Ip_In_Minutes") ??
        0,
      this.settings.get<number>(
        "Block_Multiple_Failed_Logins_Time_To_Unblock_By_User_In_Minutes",
      ) ?? 0,
    );
    const keepMs = Math.max(KEEP_AT_LEAST_MS, minutes * 60_000);
    await this.deps.db.serverEvents.deleteMany({ ts: { $lt: new Date(now.getTime() - keepMs) } });
  }
}
