/**
 * The REST rate limiter, as Rocket.Chat's API has it: every `/api/v1` route allows
 * `API_Enable_Rate_Limiter_Limit_Calls_Default` calls per
 * `API_Enable_Rate_Limiter_Limit_Time_Default` milliseconds from one address, each route
 * counted apart; `users.register` allows `Rate_Limiter_Limit_RegisterUser`; the
 * `method.call` tunnels are left to the DDP rate limiter. Holders of
 * `api-bypass-rate-limit` are not limited, nor is anybody when `API_Enable_Rate_Limiter`
 * is off or in test mode. Settings are read on every call, so changes apply at once.
 *
 * Limitation: counts are kept in this process's memory, as Rocket.Chat keeps them, so
 * behind a load balancer each Parley process allows the full limit.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import type { Authz } from "./authz.ts";
import type { Deps } from "./context.ts";
import { RateWindows } from "./rate-windows.ts";
import type { Settings } from "./settings.ts";

/** One REST call to count. */
export interface RestCall {
  readonly method: string;
  /** The route's path pattern, such as `/api/v1/settings/:_id`. */
  readonly route: string;
  readonly address: string;
  readonly user: User | null;
}

/** What counting a call decided: the headers of its answer, and its refusal if it is one. */
export interface RestLimit {
  readonly headers: Readonly<Record<string, string>>;
  readonly refusal?: ClientError;
}

/** Routes that are not counted here: Rocket.Chat leaves them to the DDP rate limiter. */
const UNCOUNTED = new Set(["/api/v1/method.call/:method", "/api/v1/method.callAnon/:method"]);

/** Routes with a limit of their own: the setting that holds their number of calls. */
const OWN_LIMITS: Readonly<Record<string, string>> = {
  "POST /api/v1/users.register": "Rate_Limiter_Limit_RegisterUser",
};

export class RestRateLimiter {
  private readonly windows: RateWindows;

  constructor(
    private readonly deps: Deps,
    private readonly settings: Settings,
    private readonly authz: Authz,
  ) {
    this.windows = new RateWindows(deps.clock);
  }

  /**
   * Counts `call` when its route is limited. Resolves with the `X-RateLimit-*` headers its
   * answer carries (none for a route or caller that is not limited) and, for a call past
   * the limit, Rocket.Chat's 429 `error-too-many-requests` to answer instead.
   */
  async count(call: RestCall): Promise<RestLimit> {
    const free = { headers: {} };
    if (this.deps.config.testMode || !call.route.startsWith("/api/v1/")) return free;
    if (UNCOUNTED.has(call.route)) return free;
    if (this.settings.get<boolean>("API_Enable_Rate_Limiter") !== true) return free;
    const routeKey = `${call.method} ${call.route}`;
    const ownLimit = OWN_LIMITS[routeKey];
    const limit = this.settings.get<number>(
      ownLimit ?? "API_Enable_Rate_Limiter_Limit_Calls_Default",
    );
    const intervalMs = this.settings.get<number>("API_Enable_Rate_Limiter_Limit_Time_Default");
    // As in Rocket.Chat, a limit or an interval of 0 means the route has no limiter.
    if (!limit || !intervalMs || limit < 0 || intervalMs < 0) return free;
    if (call.user && (await this.authz.can(call.user, "api-bypass-rate-limit"))) return free;

    const decision = this.windows.hit(`${routeKey} ${call.address}`, limit, intervalMs);
    const headers = {
      "X-RateLimit-Limit": String(limit),
      "X-RateLimit-Remaining": String(decision.remaining),
      "X-RateLimit-Reset": String(this.deps.clock.now().getTime() + decision.resetInMs),
    };
    if (decision.allowed) return { headers };
    const seconds = Math.ceil(decision.resetInMs / 1000);
    const refusal = new ClientError(
      "error-too-many-requests",
      `Error, too many requests. Please slow down. You must wait ${seconds} seconds before trying this endpoint again.`,
      { status: 429, details: { timeToReset: decision.resetInMs, seconds } },
    );
    return { headers, refusal };
  }
}
