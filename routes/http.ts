/**
 * What every REST route shares: Rocket.Chat's response envelope with its exact headers,
 * the one place errors become wire shapes, request validation errors in Rocket.Chat's
 * wording, authentication by `X-User-Id`/`X-Auth-Token`, and pagination.
 */
import { type DocumentDecoration, Elysia, ValidationError } from "elysia";
import { ClientError, notLoggedIn } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import { hashLoginToken } from "../core/password.ts";
import type { Access } from "../services/authz.ts";
import type { Services } from "../services/index.ts";
import type { TwoFactorOptions } from "../services/two-factor.ts";

/** Headers of every API answer: exactly `application/json`, no charset, never cached. */
const HEADERS = {
  "Content-Type": "application/json",
  "Cache-Control": "no-store",
  Pragma: "no-cache",
};

/**
 * Headers for bytes that users supplied (uploads, avatars): the browser may neither guess
 * another type nor run, load, submit or re-base anything from them, so an uploaded page
 * can neither script the chat's origin nor host a form that posts elsewhere.
 */
export const UNTRUSTED_CONTENT_HEADERS = {
  "Content-Security-Policy": "default-src 'none'; form-action 'none'; base-uri 'none'",
  "X-Content-Type-Options": "nosniff",
} as const;

/** A JSON response with Rocket.Chat's headers. */
export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: HEADERS });
}

/** A success: the result with `success: true` merged in, HTTP 200. */
export function ok(result: Record<string, unknown> = {}): Response {
  return json(200, { ...result, success: true });
}

/** The wire shape of a ClientError, by status, as Rocket.Chat's API class builds it. */
export function clientErrorBody(error: ClientError): Record<string, unknown> {
  if (error.status === 401) {
    const text = error.reason ?? "unauthorized";
    return { success: false, status: "error", message: text, error: text };
  }
  if (error.status !== 400)
    return { success: false, error: error.plain ? error.reason : error.message };
  if (error.plain) return { success: false, error: error.reason };
  return {
    success: false,
    error: error.message,
    errorType: String(error.error),
    ...(error.details && { details: error.details }),
  };
}

/** Turns any thrown value into a response: client errors in Rocket.Chat's shape, faults as a logged 500. */
export function errorResponse(error: unknown, log: Logger): Response {
  if (error instanceof ClientError) return json(error.status, clientErrorBody(error));
  log.error({ err: error }, "request failed");
  return json(500, { success: false, error: "Internal server error" });
}

/** Rocket.Chat (ajv) wording for one TypeBox validation failure. */
function describe(issue: { path: string; message: string; value?: unknown }): string {
  const field = issue.path.replace(/^\//, "").replaceAll("/", ".");
  // Elysia reports a missing property as its expected type ("Expected string") with no
  // value; ajv names the missing property alone, without its parents.
  const missing =
    /required property/i.test(issue.message) || (field !== "" && issue.value === undefined);
  if (missing) return `must have required property '${field.split(".").pop()}'`;
  return field
    ? `must match the schema at '${field}': ${issue.message.toLowerCase()}`
    : issue.message.toLowerCase();
}

/** The 400 for a request that fails its schema. */
export function validationFailure(error: ValidationError): ClientError {
  const seen = new Set<string>();
  const reasons = error.all
    .map((issue) => describe(issue as { path: string; message: string; value?: unknown }))
    .filter((reason) => !seen.has(reason) && seen.add(reason));
  return new ClientError("invalid-params", reasons.join("\n ") || "Invalid parameters");
}

/** Each request's client address, as the server worked it out when the request came in. */
const ADDRESSES = new WeakMap<Request, string>();

/** Records where `request` comes from (see core/client-address.ts), before it is handled. */
export function rememberAddress(request: Request, address: string): void {
  ADDRESSES.set(request, address);
}

/** Where `request` comes from; empty when it did not come through the server. */
export function addressOf(request: Request): string {
  return ADDRESSES.get(request) ?? "";
}

/**
 * Whether `error` is the engine running out of stack. Here only a request body nested
 * deeper than Elysia's validator can recurse (a few thousand levels of arrays) causes it,
 * so it is the client's malformed body, not a server fault.
 */
function nestedTooDeep(error: unknown): boolean {
  return error instanceof RangeError && /maximum call stack size exceeded/i.test(error.message);
}

/** The base of the API: authentication, error mapping and 404s, shared by every resource. */
export function apiBase(services: Services, log: Logger) {
  return new Elysia({ name: "parley-api" })
    .onError({ as: "global" }, ({ error, code }) => {
      if (error instanceof ValidationError) return errorResponse(validationFailure(error), log);
      if (code === "NOT_FOUND") return json(404, { success: false, error: "Resource not found" });
      if (code === "PARSE" || nestedTooDeep(error))
        return errorResponse(
          new ClientError("error-invalid-body", "Invalid request body", {
            plain: true,
            cause: error,
          }),
          log,
        );
      return errorResponse(error, log);
    })
    .derive(
      { as: "global" },
      async ({ request }): Promise<{ user: User | null; authToken: string | null }> => {
        const userId = request.headers.get("x-user-id");
        const token = request.headers.get("x-auth-token");
        if (!userId || !token) return { user: null, authToken: null };
        return { user: await services.accounts.authenticate(userId, token), authToken: token };
      },
    )
    .onTransform({ as: "global" }, async ({ request, route, user, set }) => {
      // Rocket.Chat counts a call against the rate limit before checking its parameters
      // and permissions, and sends the counts along with whatever the call answers.
      const { headers, refusal } = await services.restRateLimiter.count({
        method: request.method,
        route,
        address: addressOf(request),
        user: user ?? null,
      });
      Object.assign(set.headers, headers);
      if (refusal) throw refusal;
    })
    .macro({
      /**
       * The one enforcement point of REST. A route declaring `access` answers 401 to a
       * caller who is not logged in, 403 to one who lacks its permissions and, when it asks
       * for `twoFactor`, 400 `totp-required`/`totp-invalid` to one without the right second
       * factor, before its parameters are even validated; its handler receives the caller
       * as `me`.
       */
      access: (rule: true | RouteAccess) => ({
        detail: accessDetail(rule === true ? { login: true } : { login: true, ...rule }),
        async transform({ user, authToken, request }) {
          const me = requireUser(user);
          if (rule === true) return;
          await services.authz.requireRule(me, rule);
          if (rule.twoFactor) {
            await services.twoFactor.check({
              user: me,
              code: request.headers.get("x-2fa-code") ?? undefined,
              method: request.headers.get("x-2fa-method") ?? undefined,
              options: rule.twoFactor === true ? {} : rule.twoFactor,
              call: {
                hashedToken: await hashLoginToken(authToken as string),
                userAgent: request.headers.get("user-agent") ?? "",
                address: addressOf(request),
              },
            });
          }
        },
        resolve: ({ user }) => ({ me: requireUser(user) }),
      }),
      /** Declares a route anyone may call, logged in or not; its handler reads `user`. */
      open: (_: true) => ({ detail: accessDetail({ login: false }) }),
    });
}

/**
 * What a route that needs a login may ask for besides: global permissions (all, or `any`
 * of them) and, as Rocket.Chat's `twoFactorRequired`, a second factor in the `x-2fa-code`
 * and `x-2fa-method` headers (see services/two-factor.ts), checked after the permissions.
 */
export interface RouteAccess extends Partial<Access> {
  readonly twoFactor?: true | TwoFactorOptions;
}

/**
 * A route's declared rule, as the OpenAPI operation carries it (`access: true` needs a
 * login alone).
 */
export type AccessRule = RouteAccess & { readonly login: boolean };

/**
 * Where a route's access rule is written in its OpenAPI operation, so that the API
 * documentation shows it and tests can walk every route and check it.
 */
export const ACCESS_KEY = "x-parley-access";

/** The OpenAPI extension that records a route's rule (Elysia's type has no extensions). */
function accessDetail(rule: AccessRule): DocumentDecoration {
  return { [ACCESS_KEY]: rule } as DocumentDecoration;
}

/** The rule a route declared through `access` or `open`, if it declared one. */
export function ruleOf(route: { hooks: { detail?: unknown } }): AccessRule | undefined {
  const detail = route.hooks.detail as Record<string, AccessRule> | undefined;
  return detail?.[ACCESS_KEY];
}

/** The logged-in user, or the 401 every authenticated route answers. */
export function requireUser(user: User | null): User {
  if (!user) throw notLoggedIn();
  return user;
}

/**
 * The values of list parameter `name` in `params`, in both forms clients send: bracketed
 * (`name[]=a&name[]=b`, as Rocket.Chat's web client encodes arrays) and plain, once or
 * repeated (`name=a&name=b`). Undefined when neither is present.
 */
export function queryList(params: URLSearchParams, name: string): string[] | undefined {
  const bracketed = params.getAll(`${name}[]`);
  const plain = params.getAll(name);
  if (bracketed.length === 0 && plain.length === 0) return undefined;
  return [...bracketed, ...plain];
}

/** `count` and `offset` from a query, with Rocket.Chat's defaults and upper limit. */
export function pagination(
  services: Services,
  query: { count?: number | string; offset?: number | string },
) {
  const defaultCount = services.settings.get<number>("API_Default_Count") ?? 50;
  const limit = services.settings.get<number>("API_Upper_Count_Limit") ?? 100;
  const rawCount = query.count === undefined ? defaultCount : Number(query.count);
  const rawOffset = query.offset === undefined ? 0 : Number(query.offset);
  if (
    !Number.isInteger(rawCount) ||
    rawCount < 0 ||
    !Number.isInteger(rawOffset) ||
    rawOffset < 0
  ) {
    throw new ClientError(
      "error-invalid-params",
      "count and offset must be non-negative integers",
      { plain: true },
    );
  }
  return { count: rawCount === 0 ? limit : Math.min(rawCount, limit), offset: rawOffset };
}
