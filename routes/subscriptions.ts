/**
 * `subscriptions.*`: the caller's memberships with their unread counters, all of them
 * (optionally only those changed since a date) or one by room, and marking a room read or
 * unread.
 */
import { Elysia, t } from "elysia";
import { ClientError, invalidParams } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { callMethod } from "../services/methods.ts";
import { markRead, markUnread } from "../services/subscription-methods.ts";
import { apiBase, ok } from "./http.ts";

/**
 * The date in an `updatedSince` parameter, undefined when absent; throws `error` (with
 * Rocket.Chat's text for the endpoint) when it is not a date.
 */
export function sinceDate(value: string | undefined, error: () => ClientError): Date | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw error();
  return new Date(ms);
}

/** A sync answer: a method's bare array means everything was updated and nothing removed. */
export function asSync(result: unknown): { update: unknown[]; remove: unknown[] } {
  return Array.isArray(result)
    ? { update: result, remove: [] }
    : (result as { update: unknown[]; remove: unknown[] });
}

/**
 * Rocket.Chat accepts exactly one of `rid` and `roomId`; these are its validator's
 * messages when neither or both are given.
 */
function oneRoomParam(body: { rid?: string | number; roomId?: string | number }): string {
  const given = [body.rid, body.roomId].filter((v) => v !== undefined);
  if (given.length === 0) {
    throw invalidParams(
      "must have required property 'rid'\n must have required property 'roomId'\n must match a schema in anyOf",
    );
  }
  if (given.length === 2) {
    throw invalidParams(
      "must NOT have additional properties\n must NOT have additional properties\n must match a schema in anyOf",
    );
  }
  return String(given[0]);
}

/**
 * A room id as Rocket.Chat's validator takes it: a string, or a number, which it coerces
 * to one (and which then names no room).
 */
const RoomId = t.Union([t.String(), t.Number()]);

/**
 * What `subscriptions.unread` marks: exactly one of `roomId` and `firstUnreadMessage`,
 * refused otherwise in the words of Rocket.Chat's validator.
 */
function unreadTarget(body: {
  roomId?: string | number;
  firstUnreadMessage?: { _id: string };
}): { rid: string } | { firstUnreadId: string } {
  const given = [body.roomId, body.firstUnreadMessage].filter((v) => v !== undefined);
  if (given.length !== 1) {
    const reason =
      given.length === 0
        ? "must have required property 'roomId'\n must have required property 'firstUnreadMessage'"
        : "must NOT have additional properties\n must NOT have additional properties";
    throw invalidParams(`${reason}\n must match a schema in anyOf`);
  }
  return body.firstUnreadMessage
    ? { firstUnreadId: body.firstUnreadMessage._id }
    : { rid: String(body.roomId) };
}

/** The `subscriptions.*` routes. */
export function subscriptionRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/subscriptions.get",
      async ({ me, query }) => {
        const since = sinceDate(
          query.updatedSince,
          () =>
            new ClientError(
              "error-roomId-param-invalid",
              'The "lastUpdate" query parameter must be a valid date.',
            ),
        );
        const result = await callMethod(
          services,
          { user: me, connectionId: "rest" },
          "subscriptions/get",
          [since],
        );
        return ok(asSync(result));
      },
      {
        access: true,
        query: t.Object({ updatedSince: t.Optional(t.String()) }),
        detail: {
          summary: "The caller's subscriptions, optionally only those changed since a date",
          tags: ["Subscriptions"],
        },
      },
    )
    .get(
      "/subscriptions.getOne",
      async ({ me, query }) => {
        if (!query.roomId) {
          throw new ClientError("error-param-required", "The 'roomId' param is required", {
            plain: true,
          });
        }
        return ok({ subscription: await services.rooms.subscription(query.roomId, me._id) });
      },
      {
        access: true,
        query: t.Object({ roomId: t.String() }),
        detail: {
          summary: "The caller's subscription to one room, or null",
          tags: ["Subscriptions"],
        },
      },
    )
    .post(
      "/subscriptions.read",
      async ({ me, body }) => {
        const rid = oneRoomParam(body);
        await markRead(services, me, rid, body.readThreads === true);
        return ok();
      },
      {
        access: true,
        body: t.Object({
          rid: t.Optional(RoomId),
          roomId: t.Optional(RoomId),
          readThreads: t.Optional(t.Nullable(t.Boolean())),
        }),
        detail: {
          summary: "Mark a room read: clear the caller's unread counters",
          tags: ["Subscriptions"],
        },
      },
    )
    .post(
      "/subscriptions.unread",
      async ({ me, body }) => {
        const target = unreadTarget(body);
        await markUnread(services, me, target);
        return ok();
      },
      {
        access: true,
        body: t.Object({
          roomId: t.Optional(RoomId),
          firstUnreadMessage: t.Optional(t.Object({ _id: t.String() })),
        }),
        detail: {
          summary: "Mark messages unread: the room's last one, or from a given message on",
          tags: ["Subscriptions"],
        },
      },
    );
}
