/**
 * The routes `channels.*` and `groups.*` both have, built once for both prefixes: a room's
 * record, the caller's rooms, history, messages and members, creation, invitations and
 * removals. The route skeletons (paths, schemas, answers) are shared; each prefix brings
 * how it finds the room and checks the caller, which follow its Rocket.Chat handler and
 * differ in ways noted in `channels.ts` and `groups.ts`.
 */
import { Elysia, type TSchema, t } from "elysia";
import type { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Room, User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import { roomView } from "../services/rooms.ts";
import { apiBase, ok, pagination } from "./http.ts";
import {
  type HistoryParams,
  HISTORY_QUERY,
  MEMBERS_QUERY,
  MESSAGES_QUERY,
  PAGE_QUERY,
  parseSort,
  readHistory,
  readMembers,
  readMessages,
  userFromParams,
  usersFromParams,
} from "./room-params.ts";
import { pathOf, ROOM_REF, type RoomKind, roomAnswer, USER_REF } from "./room-scope.ts";

/** `roomId` or `roomName` as a route received them (a type, so the param checks take it). */
type RoomRef = { roomId?: string; roomName?: string };

/** The `detail` summaries of the shared routes of one prefix. */
interface Summaries {
  readonly info: string;
  readonly joined: string;
  readonly history: string;
  readonly messages: string;
  readonly members: string;
  readonly create: string;
  readonly invite: string;
  readonly kick: string;
}

/** What a prefix brings to the shared routes. */
export interface RoomRoutesSpec {
  readonly kind: RoomKind;
  /** The room type the prefix lists and creates. */
  readonly type: "c" | "p";
  /** The key listings carry the rooms under. */
  readonly listKey: "channels" | "groups";
  /** The route listing the caller's rooms: `list.joined` or `list`. */
  readonly joinedPath: string;
  readonly summaries: Summaries;
  /** The room `info` describes, as the caller may read it. */
  infoRoom(services: Services, ref: RoomRef, me: User): Promise<Room>;
  /** The room `history` reads, with the defaults of the prefix. */
  historyRoom(services: Services, ref: RoomRef, me: User): Promise<Room>;
  readonly historyDefaults: { readonly countDefault?: number; readonly threadsByDefault: boolean };
  /** The parameters that name the room of `messages`. */
  readonly messagesRef: Partial<typeof ROOM_REF>;
  /** The room `messages` reads, as the caller may read it. */
  messagesRoom(services: Services, ref: RoomRef, me: User): Promise<Room>;
  /** The room `members` lists, as the caller may read it. */
  membersRoom(services: Services, ref: RoomRef, me: User): Promise<Room>;
  /** The schema of `extraData` in `create`. */
  readonly createExtraData: TSchema;
  /** Checks the caller may create a room; throws otherwise. */
  mayCreate(services: Services, me: User): Promise<void>;
  /** The failure of `create` without a name. */
  nameRequired(): ClientError;
  /** The room `invite` adds to, as the caller may manage it. */
  inviteRoom(services: Services, ref: RoomRef, me: User): Promise<Room>;
  /** The failure of `invite` when no named user exists. */
  emptyInvite(): ClientError;
  /** The parameters that name the user of `kick`. */
  readonly kickUserRef: Partial<typeof USER_REF>;
  /** The room `kick` removes from, as the caller may manage it, its parameters checked. */
  kickRoom(services: Services, body: RoomRef & { userId?: string }, me: User): Promise<Room>;
  /** The answer of `kick`. */
  kickAnswer(services: Services, rid: string): Promise<unknown>;
}

/** `info`, the caller's rooms, `history`, `messages` and `members` of one prefix. */
export function sharedReads(services: Services, log: Logger, spec: RoomRoutesSpec) {
  const { kind, summaries } = spec;
  return {
    info: new Elysia({ prefix: "/api/v1" }).use(apiBase(services, log)).get(
      pathOf(kind, "info"),
      async ({ me, query }) => {
        const room = await spec.infoRoom(services, query, me);
        return ok({ [kind.key]: roomView(room) });
      },
      {
        access: true,
        query: t.Object(ROOM_REF),
        detail: { summary: summaries.info, tags: kind.tags },
      },
    ),
    rest: new Elysia({ prefix: "/api/v1" })
      .use(apiBase(services, log))
      .get(
        pathOf(kind, spec.joinedPath),
        async ({ me, query }) => {
          const { count, offset } = pagination(services, query);
          const ids = await services.rooms.subscribedRoomIds(me._id, [spec.type]);
          if (ids.length === 0) return ok({ [spec.listKey]: [], offset, count: 0, total: 0 });
          const sort = parseSort(query.sort);
          const { rooms, total } = await services.rooms.list(
            { t: spec.type, ids },
            { offset, count, ...(sort && { sort }) },
          );
          return ok({ [spec.listKey]: rooms.map(roomView), offset, count: rooms.length, total });
        },
        {
          access: true,
          query: t.Object(PAGE_QUERY),
          detail: { summary: summaries.joined, tags: kind.tags },
        },
      )
      .get(
        pathOf(kind, "history"),
        async ({ me, query }) => {
          const room = await spec.historyRoom(services, query, me);
          return ok(
            await readHistory(services, room, me, query as HistoryParams, spec.historyDefaults),
          );
        },
        {
          access: true,
          query: t.Object({ ...ROOM_REF, ...HISTORY_QUERY }),
          detail: { summary: summaries.history, tags: kind.tags },
        },
      )
      .get(
        pathOf(kind, "messages"),
        async ({ me, query }) => {
          const room = await spec.messagesRoom(services, query, me);
          return ok(await readMessages(services, room, query));
        },
        {
          access: true,
          query: t.Object({ ...spec.messagesRef, ...MESSAGES_QUERY }),
          detail: { summary: summaries.messages, tags: kind.tags },
        },
      )
      .get(
        pathOf(kind, "members"),
        async ({ me, query }) => {
          const room = await spec.membersRoom(services, query, me);
          return ok(await readMembers(services, room, query));
        },
        {
          access: true,
          query: t.Object({ ...ROOM_REF, ...MEMBERS_QUERY }),
          detail: { summary: summaries.members, tags: kind.tags },
        },
      ),
  };
}

/** `create` of one prefix. */
export function createRoute(services: Services, log: Logger, spec: RoomRoutesSpec) {
  const { kind } = spec;
  return new Elysia({ prefix: "/api/v1" }).use(apiBase(services, log)).post(
    pathOf(kind, "create"),
    async ({ me, body }) => {
      await spec.mayCreate(services, me);
      if (!body.name) throw spec.nameRequired();
      const room = await services.rooms.create({
        type: spec.type,
        name: body.name,
        owner: me,
        members: body.members ?? [],
        readOnly: body.readOnly ?? false,
        excludeSelf: body.excludeSelf ?? false,
        ...(body.customFields && { customFields: body.customFields }),
      });
      return roomAnswer(services, kind, room._id);
    },
    {
      access: true,
      body: t.Object({
        name: t.Optional(t.String()),
        members: t.Optional(t.Array(t.String())),
        readOnly: t.Optional(t.Boolean()),
        excludeSelf: t.Optional(t.Boolean()),
        customFields: t.Optional(t.Record(t.String(), t.Unknown())),
        extraData: t.Optional(spec.createExtraData),
      }),
      detail: { summary: spec.summaries.create, tags: kind.tags },
    },
  );
}

/** `invite` and `kick` of one prefix. */
export function membershipRoutes(services: Services, log: Logger, spec: RoomRoutesSpec) {
  const { kind } = spec;
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      pathOf(kind, "invite"),
      async ({ me, body }) => {
        const room = await spec.inviteRoom(services, body, me);
        const users = await usersFromParams(services, body);
        if (users.length === 0) throw spec.emptyInvite();
        await services.deps.rooms.execute(room._id, { kind: "add", by: me, users });
        return roomAnswer(services, kind, room._id);
      },
      {
        access: true,
        body: t.Object({
          ...ROOM_REF,
          ...USER_REF,
          userIds: t.Optional(t.Array(t.String())),
          usernames: t.Optional(t.Array(t.String())),
        }),
        detail: { summary: spec.summaries.invite, tags: kind.tags },
      },
    )
    .post(
      pathOf(kind, "kick"),
      async ({ me, body }) => {
        const room = await spec.kickRoom(services, body, me);
        const target = await userFromParams(services, body);
        await services.deps.rooms.execute(room._id, { kind: "remove", by: me, user: target });
        return spec.kickAnswer(services, room._id);
      },
      {
        access: true,
        body: t.Object({ ...ROOM_REF, ...spec.kickUserRef }),
        detail: { summary: spec.summaries.kick, tags: kind.tags },
      },
    );
}
