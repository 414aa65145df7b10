/**
 * The DDP-over-REST tunnel: `method.call/:method` (logged in) and
 * `method.callAnon/:method` run a DDP method from an EJSON `message` and answer, always
 * with HTTP 200, an EJSON `result` frame in `message`, the method's error included, just
 * as the method would answer over the WebSocket.
 */
import { Elysia, t } from "elysia";
import { parseEJSON, stringifyEJSON } from "../core/ejson.ts";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import { hashLoginToken } from "../core/password.ts";
import type { Services } from "../services/index.ts";
import { callMethod, meteorError } from "../services/methods.ts";
import { addressOf, apiBase, ok } from "./http.ts";

/** A method call as the tunnel carries it. */
interface Call {
  readonly method: string;
  readonly params: unknown[];
  readonly id: string;
}

const CallBody = t.Object({ message: t.String() });
const CallParams = t.Object({ method: t.String() });

/** Parses the EJSON `message`; throws "Invalid method call" unless it is a method frame. */
function parseCall(text: string): Call {
  let frame: unknown;
  try {
    frame = parseEJSON(text);
  } catch (error) {
    throw new ClientError("invalid-method-call", "Invalid method call", {
      plain: true,
      cause: error,
    });
  }
  const { method, params = [], id } = (frame ?? {}) as Record<string, unknown>;
  if (typeof method !== "string" || typeof id !== "string" || !Array.isArray(params)) {
    throw new ClientError("invalid-method-call", "Invalid method call", { plain: true });
  }
  return { method, params, id };
}

/**
 * Runs the call in `text` as `user` and wraps the outcome in a `result` frame. The
 * method named in the frame runs; the URL's `:method` only labels the request, as in
 * Rocket.Chat.
 */
async function tunnel(
  services: Services,
  log: Logger,
  user: User | null,
  text: string,
  from: { request: Request; authToken?: string | null },
): Promise<Response> {
  const call = parseCall(text);
  const caller = {
    user,
    connectionId: `rest-${services.deps.ids.id()}`,
    address: addressOf(from.request),
    ...(user && from.authToken && { hashedToken: await hashLoginToken(from.authToken) }),
  };
  try {
    // As in Rocket.Chat, the tunnel is counted by the DDP rate limiter, not the REST one.
    services.ddpRateLimiter.check({
      type: "method",
      name: call.method,
      userId: user?._id ?? null,
      connectionId: caller.connectionId,
      address: caller.address,
    });
    const result = await callMethod(services, caller, call.method, call.params);
    return ok({ message: stringifyEJSON({ msg: "result", id: call.id, result }) });
  } catch (error) {
    const failure = meteorError(error, log.child({ method: call.method }));
    return ok({ message: stringifyEJSON({ msg: "result", id: call.id, error: failure }) });
  }
}

/** The `method.call` and `method.callAnon` routes. */
export function methodRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/method.call/:method",
      ({ me, body, request, authToken }) =>
        tunnel(services, log, me, body.message, { request, authToken }),
      {
        access: true,
        body: CallBody,
        params: CallParams,
        detail: {
          summary: "Run a DDP method as the logged-in caller (EJSON in, EJSON result out)",
          tags: ["Methods"],
        },
      },
    )
    .post(
      "/method.callAnon/:method",
      // Anonymous on purpose: credentials sent along are not used, so nothing runs as a user here.
      ({ body, request }) => tunnel(services, log, null, body.message, { request }),
      {
        open: true,
        body: CallBody,
        params: CallParams,
        detail: { summary: "Run a DDP method without logging in, e.g. `login`", tags: ["Methods"] },
      },
    );
}
