/**
 * Presence over REST: `users.setStatus` (the status and status text a user chooses, for
 * themself or, with `edit-other-user-info`, for someone else), `users.getStatus`,
 * `users.getPresence`, and `users.presence`, which Rocket.Chat's clients call for the users
 * they show and then follow on `stream-user-presence`.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { User, UserStatus } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import { checkInvisibleAllowed, statusOf } from "../services/presence-methods.ts";
import { apiBase, ok, queryList } from "./http.ts";
import { forbidden, userFromParams } from "./room-params.ts";

const TAGS = ["Users"];

/** The fields `users.presence` answers per user. */
const PRESENCE_VIEW = {
  _id: 1,
  username: 1,
  name: 1,
  status: 1,
  utcOffset: 1,
  statusText: 1,
  avatarETag: 1,
} as const;

/** How recent `from` must be for `users.presence` to answer only what changed since. */
const DELTA_WINDOW_MS = 10 * 60_000;

type UserParams = { userId?: string; username?: string; user?: string };

/** Whether the parameters name the caller (or nobody), as Rocket.Chat's `isUserFromParams`. */
function namesCaller(params: UserParams, me: User): boolean {
  return (
    (!params.userId && !params.username && !params.user) ||
    params.userId === me._id ||
    params.username === me.username ||
    params.user === me.username
  );
}

const WHO = {
  userId: t.Optional(t.String()),
  username: t.Optional(t.String()),
  user: t.Optional(t.String()),
};

const SetStatusBody = t.Object({
  ...WHO,
  status: t.Optional(t.Unknown()),
  message: t.Optional(t.Unknown()),
});

/** Rocket.Chat's answer to a body that has neither a status nor a message of the right type. */
function shapeFailure(): ClientError {
  return new ClientError(
    400,
    "Match error: Failed Match.OneOf, Match.Maybe or Match.Optional validation",
    { plain: true },
  );
}

/** The status and text a `users.setStatus` body asks for, checked before anything changes. */
function requestedChange(services: Services, body: typeof SetStatusBody.static) {
  const { status, message } = body;
  const maybeString = (v: unknown) => v === undefined || v === null || typeof v === "string";
  if (!maybeString(status) || !maybeString(message)) throw shapeFailure();
  if (typeof status !== "string" && typeof message !== "string") throw shapeFailure();
  if (!services.settings.get<boolean>("Accounts_AllowUserStatusMessageChange")) {
    throw new ClientError("error-not-allowed", "Change status is not allowed", {
      details: { method: "users.setStatus" },
    });
  }
  let chosen: UserStatus | undefined;
  if (status) {
    chosen = statusOf(status, "users.setStatus");
    checkInvisibleAllowed(services, chosen, "users.setStatus");
  }
  return {
    ...(chosen && { status: chosen }),
    ...(typeof message === "string" && { statusText: message }),
  };
}

/** The presence routes. */
export function presenceRoutes(services: Services, log: Logger) {
  const { db } = services.deps;
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/users.setStatus",
      async ({ me, body }) => {
        const change = requestedChange(services, body);
        let target = me;
        if (!namesCaller(body, me)) {
          if (!(await services.authz.can(me, "edit-other-user-info"))) throw forbidden();
          target = await userFromParams(services, body);
        }
        if (Object.keys(change).length > 0) await services.deps.presence.choose(target._id, change);
        return ok();
      },
      {
        access: true,
        body: SetStatusBody,
        detail: { summary: "Choose a status (offline is invisible) and a status text", tags: TAGS },
      },
    )
    .get(
      "/users.getStatus",
      async ({ me, query }) => {
        if (namesCaller(query, me)) {
          const self = (await db.users.findOne({ _id: me._id })) ?? me;
          return ok({
            _id: self._id,
            connectionStatus: self.statusConnection ?? "offline",
            status: self.status ?? "offline",
          });
        }
        const user = await userFromParams(services, query);
        return ok({ _id: user._id, status: user.status ?? "offline" });
      },
      {
        access: true,
        query: t.Object(WHO),
        detail: { summary: "A user's status (the caller's own by default)", tags: TAGS },
      },
    )
    .get(
      "/users.getPresence",
      async ({ me, query }) => {
        if (namesCaller(query, me)) {
          const self = (await db.users.findOne({ _id: me._id })) ?? me;
          return ok({
            presence: self.status ?? "offline",
            connectionStatus: self.statusConnection ?? "offline",
            ...(self.lastLogin && { lastLogin: self.lastLogin }),
          });
        }
        const user = await userFromParams(services, query);
        return ok({ presence: user.status ?? "offline" });
      },
      {
        access: true,
        query: t.Object(WHO),
        detail: { summary: "A user's presence (the caller's own by default)", tags: TAGS },
      },
    )
    .get(
      "/users.presence",
      async ({ me, query, request }) => {
        const { from } = query;
        const ids = queryList(new URL(request.url).searchParams, "ids");
        if (ids !== undefined) {
          // One plain value may list several ids, separated by commas (ids hold none).
          const list = ids.flatMap((value) => value.split(",")).filter(Boolean);
          const users = await db.users.find(
            { _id: { $in: list }, status: { $in: ["online", "away", "busy"] } },
            { projection: PRESENCE_VIEW },
          );
          return ok({ users, full: false });
        }
        if (from !== undefined) {
          const since = new Date(from);
          const age = services.deps.clock.now().getTime() - since.getTime();
          if (age < DELTA_WINDOW_MS) {
            const users = await db.users.find(
              { _id: { $ne: me._id }, username: { $exists: true }, _updatedAt: { $gte: since } },
              { projection: PRESENCE_VIEW },
            );
            return ok({ users, full: false });
          }
        }
        const users = await db.users.find(
          { username: { $exists: true }, status: { $in: ["online", "away", "busy"] } },
          { projection: PRESENCE_VIEW },
        );
        return ok({ users, full: true });
      },
      {
        access: true,
        query: t.Object({
          ids: t.Optional(t.Union([t.String(), t.Array(t.String())])),
          from: t.Optional(t.String()),
        }),
        detail: {
          summary:
            "Users shown online: those of `ids`, those changed since a recent `from`, or all (`full`)",
          tags: TAGS,
        },
      },
    );
}
