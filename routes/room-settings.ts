/**
 * The settings routes of `channels.*` and `groups.*`, built once for both prefixes:
 * `rename`, `setTopic`, `setDescription`, `setPurpose`, `setAnnouncement`, `setReadOnly`,
 * `setType`, `setCustomFields`, and for channels `setDefault` and `setJoinCode`. Each
 * runs Rocket.Chat's saveRoomSettings in the room's actor; the parameter checks, the
 * "same as before" refusals and the answers follow each prefix's Rocket.Chat handler,
 * which differ in small ways noted where they do.
 */
import { Elysia, t } from "elysia";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { apiBase, ok } from "./http.ts";
import { requireOneOf, requireParams } from "./room-params.ts";
import {
  CHANNELS,
  failure,
  GROUPS,
  pathOf,
  ROOM_REF,
  type RoomKind,
  roomAnswer,
  saveSettings,
  TypedFailure,
} from "./room-scope.ts";

const Text = t.Optional(t.Union([t.String(), t.Null()]));

/** A text setting route: `field` of the body saved as Rocket.Chat's `setting`. */
interface TextRoute {
  readonly path: "setTopic" | "setDescription" | "setPurpose";
  readonly field: "topic" | "description" | "purpose" | "announcement";
  readonly setting: "roomTopic" | "roomDescription" | "roomAnnouncement";
  /** The room field compared for channels' "same as before" refusal, and its wording. */
  readonly current: "topic" | "description" | "announcement";
  readonly same: string;
}

const TOPIC: TextRoute = {
  path: "setTopic",
  field: "topic",
  setting: "roomTopic",
  current: "topic",
  same: "topic",
};
const DESCRIPTION: TextRoute = {
  path: "setDescription",
  field: "description",
  setting: "roomDescription",
  current: "description",
  same: "description",
};
const PURPOSE: TextRoute = {
  path: "setPurpose",
  field: "purpose",
  setting: "roomDescription",
  current: "description",
  same: "purpose (description)",
};

/** One of `setTopic`, `setDescription` and `setPurpose`, which answer the value they saved. */
function textRoute(services: Services, log: Logger, kind: RoomKind, route: TextRoute) {
  return new Elysia({ prefix: "/api/v1" }).use(apiBase(services, log)).post(
    pathOf(kind, route.path),
    async ({ me, body }) => {
      const value = (body as Record<string, string | null | undefined>)[route.field];
      if (value === undefined) throw failure(`The bodyParam "${route.field}" is required`);
      const room = await kind.find(services, body, me, true);
      // Rocket.Chat's groups.* save an unchanged value again, which changes nothing.
      if (kind === CHANNELS && room[route.current] === value) {
        throw failure(`The channel ${route.same} is the same as what it would be changed to.`);
      }
      await saveSettings(services, room, me, { [route.setting]: value ?? "" });
      return ok({ [route.field]: value ?? "" });
    },
    {
      access: true,
      body: t.Object({ ...ROOM_REF, [route.field]: Text }),
      detail: { summary: `Set a ${kind.noun}'s ${route.field}`, tags: kind.tags },
    },
  );
}

/** `setAnnouncement`: channels check their parameters as a schema, groups by hand. */
function announcementRoute(services: Services, log: Logger, kind: RoomKind) {
  return new Elysia({ prefix: "/api/v1" }).use(apiBase(services, log)).post(
    pathOf(kind, "setAnnouncement"),
    async ({ me, body }) => {
      if (kind === CHANNELS) {
        requireOneOf(body, ["roomId", "roomName"]);
        requireParams(body, ["announcement"]);
      } else if (body.announcement === undefined) {
        throw failure('The bodyParam "announcement" is required');
      }
      const room = await kind.find(services, body, me, true);
      const announcement = body.announcement ?? "";
      await saveSettings(services, room, me, { roomAnnouncement: announcement });
      return ok({ announcement });
    },
    {
      access: true,
      body: t.Object({ ...ROOM_REF, announcement: Text }),
      detail: { summary: `Set a ${kind.noun}'s announcement`, tags: kind.tags },
    },
  );
}

/** `rename`, `setReadOnly`, `setType` and `setCustomFields`, which answer the room. */
function roomRoutes(services: Services, log: Logger, kind: RoomKind) {
  const sameAs = (what: string) =>
    failure(`The ${kind.noun} ${what} is the same as what it would be changed to.`);
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      pathOf(kind, "rename"),
      async ({ me, body }) => {
        if (!body.name?.trim()) throw failure('The bodyParam "name" is required');
        const room = await kind.find(services, body, me, true);
        if (kind === CHANNELS && room.name === body.name) {
          throw failure("The channel name is the same as what it would be renamed to.");
        }
        await saveSettings(services, room, me, { roomName: body.name });
        return roomAnswer(services, kind, room._id);
      },
      {
        access: true,
        body: t.Object({ ...ROOM_REF, name: t.Optional(t.String()) }),
        detail: { summary: `Rename a ${kind.noun}`, tags: kind.tags },
      },
    )
    .post(
      pathOf(kind, "setReadOnly"),
      async ({ me, body }) => {
        if (kind === CHANNELS) requireParams(body, ["roomId", "readOnly"]);
        else if (body.readOnly === undefined) throw failure('The bodyParam "readOnly" is required');
        const room = await kind.find(services, body, me, true);
        if (room.ro === body.readOnly) throw sameAs("read only setting");
        await saveSettings(services, room, me, { readOnly: body.readOnly });
        return roomAnswer(services, kind, room._id);
      },
      {
        access: true,
        body: t.Object({ ...ROOM_REF, readOnly: t.Optional(t.Boolean()) }),
        detail: { summary: `Make a ${kind.noun} read-only, or not`, tags: kind.tags },
      },
    )
    .post(
      pathOf(kind, "setType"),
      async ({ me, body }) => {
        if (!body.type?.trim()) throw failure('The bodyParam "type" is required');
        const room = await kind.find(services, body, me, true);
        if (room.t === body.type) throw sameAs("type");
        await saveSettings(services, room, me, { roomType: body.type });
        return roomAnswer(services, kind, room._id);
      },
      {
        access: true,
        body: t.Object({ ...ROOM_REF, type: t.Optional(t.String()) }),
        detail: { summary: `Make a ${kind.noun} public (c) or private (p)`, tags: kind.tags },
      },
    )
    .post(
      pathOf(kind, "setCustomFields"),
      async ({ me, body }) => {
        const { customFields } = body;
        if (!customFields || typeof customFields !== "object") {
          throw failure('The bodyParam "customFields" is required with a type like object.');
        }
        const room = await kind.find(services, body, me, true);
        await saveSettings(services, room, me, { roomCustomFields: customFields });
        return roomAnswer(services, kind, room._id);
      },
      {
        access: true,
        body: t.Object({ ...ROOM_REF, customFields: t.Optional(t.Unknown()) }),
        detail: { summary: `Replace a ${kind.noun}'s custom fields`, tags: kind.tags },
      },
    );
}

/** `channels.setDefault` and `channels.setJoinCode`, which groups do not have. */
function channelOnlyRoutes(services: Services, log: Logger) {
  const kind = CHANNELS;
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/channels.setDefault",
      async ({ me, body }) => {
        // Rocket.Chat gives these two failures each other's errorType; kept as it answers.
        if (body.default === undefined) {
          throw new TypedFailure(
            'The bodyParam "default" is required',
            "error-channels-setdefault-is-same",
          );
        }
        const room = await kind.find(services, body, me, true);
        if (room.default === body.default) {
          throw new TypedFailure(
            "The channel default setting is the same as what it would be changed to.",
            "error-channels-setdefault-missing-default-param",
          );
        }
        const value = ["true", "1"].includes(String(body.default).toLowerCase());
        await saveSettings(services, room, me, { default: value });
        return roomAnswer(services, kind, room._id);
      },
      {
        access: true,
        body: t.Object({ ...ROOM_REF, default: t.Optional(t.Union([t.Boolean(), t.String()])) }),
        detail: {
          summary: "Make a channel one every new user joins (view-room-administration)",
          tags: kind.tags,
        },
      },
    )
    .post(
      "/channels.setJoinCode",
      async ({ me, body }) => {
        if (!body.joinCode?.trim()) throw failure('The bodyParam "joinCode" is required');
        const room = await kind.find(services, body, me, true);
        await saveSettings(services, room, me, { joinCode: body.joinCode });
        return roomAnswer(services, kind, room._id);
      },
      {
        access: true,
        body: t.Object({ ...ROOM_REF, joinCode: t.Optional(t.String()) }),
        detail: { summary: "Set the code joining a channel needs", tags: kind.tags },
      },
    );
}

/** The settings routes of one prefix. */
function kindRoutes(services: Services, log: Logger, kind: RoomKind) {
  return new Elysia()
    .use(textRoute(services, log, kind, TOPIC))
    .use(textRoute(services, log, kind, DESCRIPTION))
    .use(textRoute(services, log, kind, PURPOSE))
    .use(announcementRoute(services, log, kind))
    .use(roomRoutes(services, log, kind));
}

/** The settings routes of `channels.*` and `groups.*`. */
export function roomSettingsRoutes(services: Services, log: Logger) {
  return new Elysia()
    .use(channelOnlyRoutes(services, log))
    .use(kindRoutes(services, log, CHANNELS))
    .use(kindRoutes(services, log, GROUPS));
}
