/**
 * Finding rooms and people over REST: `spotlight`, `directory`, `rooms.nameExists`,
 * `rooms.isMember` and `rooms.autocomplete.channelAndPrivate`, with Rocket.Chat's
 * parameters, answers and errors. What a caller may see is decided in
 * services/discovery.ts and services/spotlight.ts.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { autocompleteOwnRooms, browseDirectory, roomNameExists } from "../services/discovery.ts";
import type { Services } from "../services/index.ts";
import { spotlight } from "../services/spotlight.ts";
import { apiBase, ok, pagination } from "./http.ts";
import { forbidden, PAGE_QUERY, parseSort, requireOneOf, requireParams } from "./room-params.ts";

/** A failure Rocket.Chat's handlers answer with a sentence alone. */
function failure(text: string): ClientError {
  return new ClientError("error-invalid-params", text, { plain: true });
}

/** The `name` of a `selector` parameter (JSON); an unreadable selector searches nothing. */
function selectorName(raw: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw Object.assign(failure("The 'selector' param is invalid"), { cause: error });
  }
  const name = (parsed as { name?: unknown } | null)?.name;
  return typeof name === "string" ? name : "";
}

/** The directory's sort: one field and a direction; without one, by name descending. */
function directorySort(raw: string | undefined) {
  const sort = parseSort(raw);
  const keys = Object.keys(sort ?? {});
  if (keys.length > 1) throw failure('This method support only one "sort" parameter');
  const [field] = keys;
  const direction = field !== undefined && sort?.[field] === 1 ? "asc" : "desc";
  return { sortBy: field ?? "name", sortDirection: direction } as const;
}

/** The room-lookup routes of `rooms.*`. */
function roomLookups(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/rooms.nameExists",
      async ({ me, query }) => {
        me;
        requireParams(query, ["roomName"]);
        return ok({ exists: await roomNameExists(services, query.roomName as string) });
      },
      {
        access: true,
        query: t.Object({ roomName: t.Optional(t.String()) }),
        detail: { summary: "Whether a room of that name exists (ignoring case)", tags: ["Rooms"] },
      },
    )
    .get(
      "/rooms.isMember",
      async ({ me, query }) => {
        requireParams(query, ["roomId"]);
        requireOneOf(query, ["userId", "username"]);
        const room = await services.rooms.byId(query.roomId as string);
        if (!room) {
          throw new ClientError(
            "error-room-not-found",
            'The required "roomId" or "roomName" param provided does not match any channel',
          );
        }
        if (room.archived) {
          throw new ClientError("error-room-archived", `The channel, ${room.name}, is archived`);
        }
        const { db } = services.deps;
        const who = query.userId ?? query.username;
        const other = await db.users.findOne({ $or: [{ _id: who }, { username: who }] });
        if (!other) throw failure("error-user-not-found");
        if (!(await services.authz.canAccessRoom(room, me))) throw forbidden();
        return ok({ isMember: await services.authz.isMember(room._id, other._id) });
      },
      {
        access: true,
        query: t.Object({
          roomId: t.Optional(t.String({ minLength: 1 })),
          userId: t.Optional(t.String({ minLength: 1 })),
          username: t.Optional(t.String({ minLength: 1 })),
        }),
        detail: { summary: "Whether a user is a member of a room", tags: ["Rooms"] },
      },
    )
    .get(
      "/rooms.autocomplete.channelAndPrivate",
      async ({ me, query }) => {
        if (!query.selector) throw failure("The 'selector' param is required");
        const items = await autocompleteOwnRooms(services, me, selectorName(query.selector));
        return ok({ items });
      },
      {
        access: true,
        query: t.Object({ selector: t.Optional(t.String()) }),
        detail: {
          summary: "The caller's channels and groups whose name starts with selector.name",
          tags: ["Rooms"],
        },
      },
    );
}

/** `spotlight` and `directory`. */
function searches(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/spotlight",
      async ({ me, query }) => {
        requireParams(query, ["query"]);
        return ok(await spotlight(services, me, query.query as string));
      },
      {
        access: true,
        query: t.Object({ query: t.Optional(t.String()) }),
        detail: {
          summary: "Quick search of users (@name) and public channels (#name) by text",
          tags: ["Miscellaneous"],
        },
      },
    )
    .get(
      "/directory",
      async ({ me, query }) => {
        const { offset, count } = pagination(services, query);
        const result = await browseDirectory(services, me, {
          text: query.text ?? "",
          type: query.type ?? "channels",
          workspace: query.workspace ?? "local",
          ...directorySort(query.sort),
          offset,
          limit: count,
        });
        if (!result) throw failure("Please verify the parameters");
        return ok({
          result: result.results,
          count: result.results.length,
          offset,
          total: result.total,
        });
      },
      {
        access: true,
        query: t.Object({
          text: t.Optional(t.String()),
          type: t.Optional(t.String()),
          workspace: t.Optional(t.String()),
          query: t.Optional(t.String()),
          ...PAGE_QUERY,
        }),
        detail: {
          summary: "Browse channels, users or teams, one sort field, paginated",
          tags: ["Miscellaneous"],
        },
      },
    );
}

/** The discovery routes: spotlight, directory and the room lookups. */
export function discoveryRoutes(services: Services, log: Logger) {
  return new Elysia().use(searches(services, log)).use(roomLookups(services, log));
}
