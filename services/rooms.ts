/**
 * Room service: creating channels, private groups and direct messages, finding rooms by
 * id or name, and the subscriptions that make a user a member. Changes to an existing
 * room go through its room actor (see room-commands.ts); creation happens here because a
 * room that does not exist yet has no actor and no other writer.
 */
import { ClientError } from "../core/errors.ts";
import type { Room, RoomType, Subscription, User } from "../core/models.ts";
import { DuplicateKeyError, type Filter, type Sort } from "../store/types.ts";
import type { Authz } from "./authz.ts";
import { assertClientValue } from "./client-values.ts";
import type { Deps } from "./context.ts";
import { CUSTOM_FIELDS_MAX_CHARS } from "./message-validation.ts";
import { claimRoomName } from "./room-name-claims.ts";
import type { Settings } from "./settings.ts";

export interface NewRoom {
  readonly type: "c" | "p";
  readonly name: string;
  readonly owner: User;
  /** Usernames to add besides the owner. */
  readonly members?: readonly string[];
  readonly readOnly?: boolean;
  /** Leave the owner out of the members (bots creating rooms for others). */
  readonly excludeSelf?: boolean;
  readonly customFields?: Record<string, unknown>;
  /** Mark the room as default: every new user joins it. */
  readonly isDefault?: boolean;
  readonly _id?: string;
}

/** A room named by id or by name, as REST parameters name it. */
export interface RoomRef {
  readonly roomId?: string;
  readonly roomName?: string;
}

/** One page of a listing: where it starts, how long it is and its order. */
export interface PageRequest {
  readonly offset: number;
  readonly count: number;
  readonly sort?: Sort;
}

/** Escapes `text` for use inside a regular expression. */
function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The name of the room for error texts, as Rocket.Chat words them per room type. */
function kindOf(type: RoomType): string {
  return type === "p" ? "group" : type === "d" ? "direct message" : "channel";
}

/** Builds the subscription that makes `user` a member of `room`. */
export function newSubscription(
  deps: Pick<Deps, "ids" | "clock">,
  room: Room,
  user: User,
  extra: Partial<Subscription> = {},
): Subscription {
  const now = deps.clock.now();
  return {
    _id: deps.ids.id(),
    rid: room._id,
    u: {
      _id: user._id,
      username: user.username,
      ...(user.name !== undefined && { name: user.name }),
    },
    name: room.name ?? user.username,
    fname: room.fname ?? room.name ?? user.username,
    t: room.t,
    ts: now,
    ls: now,
    _updatedAt: now,
    open: true,
    alert: false,
    unread: 0,
    userMentions: 0,
    groupMentions: 0,
    ...extra,
  };
}

/** What a room looks like on the wire: secrets such as the join code left out. */
export function roomView(room: Room): Record<string, unknown> {
  const { joinCode: _joinCode, ...rest } = room;
  return rest;
}

export class Rooms {
  constructor(
    private readonly deps: Deps,
    private readonly authz: Authz,
    private readonly settings: Settings,
  ) {}

  /**
   * Creates a public channel or private group owned by `owner`, with its members
   * subscribed. Throws ClientError for a missing permission, an invalid or taken name, or
   * an unknown member.
   */
  async create(input: NewRoom): Promise<Room> {
    const { db, clock, ids, hub } = this.deps;
    if (!(await this.authz.can(input.owner, input.type === "c" ? "create-c" : "create-p"))) {
      const method = input.type === "c" ? "createChannel" : "createPrivateGroup";
      throw new ClientError("error-not-allowed", "Not allowed", { details: { method } });
    }
    const { room, everyone } = await claimRoomName(
      this.deps,
      this.settings,
      input.name,
      undefined,
      async (names) => {
        if (input.customFields) {
          assertClientValue(input.customFields, "customFields", CUSTOM_FIELDS_MAX_CHARS);
        }
        const members = await this.usersByUsername(input.members ?? []);
        const everyone = input.excludeSelf
          ? members
          : [input.owner, ...members.filter((m) => m._id !== input.owner._id)];
        const now = clock.now();
        const room: Room = {
          _id: input._id ?? ids.id(),
          t: input.type,
          ...names,
          u: { _id: input.owner._id, username: input.owner.username },
          ts: now,
          _updatedAt: now,
          msgs: 0,
          usersCount: everyone.length,
          ro: input.readOnly ?? false,
          default: input.isDefault ?? false,
          sysMes: true,
          ...(input.customFields && { customFields: input.customFields }),
        };
        try {
          await db.rooms.insertOne(room);
        } catch (error) {
          if (error instanceof DuplicateKeyError) {
            throw new ClientError(
              "error-duplicate-channel-name",
              `A channel with name '${names.name}' exists`,
              { cause: error },
            );
          }
          throw error;
        }
        return { room, everyone };
      },
    );
    const subs = everyone.map((user) =>
      newSubscription(
        this.deps,
        room,
        user,
        user._id === input.owner._id ? { roles: ["owner"] } : {},
      ),
    );
    await db.subscriptions.insertMany(subs);
    for (const sub of subs) {
      hub.emit("stream-notify-user", `${sub.u._id}/rooms-changed`, ["inserted", roomView(room)]);
      hub.emit("stream-notify-user", `${sub.u._id}/subscriptions-changed`, ["inserted", sub]);
    }
    return room;
  }

  /**
   * Opens (or finds) the direct message between `me` and `usernames`, as Rocket.Chat's
   * createDirectMessage does. One other user gives a 1:1 room whose id is both user ids
   * sorted and joined; more give a group DM, and `me` alone a DM with oneself (unless
   * `Message_AllowDirectMessagesToYourself` is off). At most `DirectMesssage_maxUsers`
   * members, `me` included. Members are listed by display name; each one's subscription
   * is named after the others. The caller's subscription is opened; the others' open on
   * creation only in a group DM, as a 1:1 DM shows up for its peer with the first message.
   */
  async createDirect(me: User, usernames: readonly string[], excludeSelf = false): Promise<Room> {
    const { db, clock, ids, hub } = this.deps;
    const toSelf = usernames.length === 1 && usernames[0] === me.username;
    if (toSelf && this.settings.get<boolean>("Message_AllowDirectMessagesToYourself") === false) {
      throw new ClientError("error-invalid-user", "Invalid user", {
        details: { method: "createDirectMessage" },
      });
    }
    if (!(await this.authz.can(me, "create-d"))) {
      throw new ClientError("error-not-allowed", "Not allowed", {
        details: { method: "createDirectMessage" },
      });
    }
    const others = await this.usersByUsername(usernames.filter((u) => u !== me.username || toSelf));
    const members = (excludeSelf ? others : [me, ...others.filter((u) => u._id !== me._id)]).sort(
      (a, b) => (a.name || a.username).localeCompare(b.name || b.username),
    );
    if (members.length === 0) throw new ClientError("error-invalid-user", "Invalid user");
    const maxUsers = this.settings.get<number>("DirectMesssage_maxUsers") || 1;
    if (members.length > maxUsers) {
      throw new ClientError(
        "error-direct-message-max-user-exceeded",
        `You cannot add more than ${maxUsers} users, including yourself to a direct message`,
        { details: { method: "createDirectRoom" } },
      );
    }
    // An administrator opening a DM between others shows it to them at once.
    const openToAll = excludeSelf && (await this.authz.can(me, "view-room-administration"));
    const uids = members.map((u) => u._id).sort();
    // Only a 1:1 DM has an id made of its members'; a DM with oneself gets a random one.
    const rid = uids.length === 2 ? uids.join("") : undefined;

    const existing = rid
      ? await db.rooms.findOne({ _id: rid })
      : await db.rooms.findOne({ t: "d", uids: { $size: uids.length, $all: uids } });
    const now = clock.now();
    const room: Room = existing ?? {
      _id: rid ?? ids.id(),
      t: "d",
      ts: now,
      _updatedAt: now,
      msgs: 0,
      usersCount: members.length,
      usernames: members.map((u) => u.username),
      uids,
    };
    if (!existing) await db.rooms.insertOne(room);

    for (const member of members) {
      const peers = members.filter((m) => m._id !== member._id);
      const shown = peers.length === 0 ? [member] : peers;
      const sub = newSubscription(this.deps, room, member, {
        name: shown.map((u) => u.username).join(", "),
        fname: shown.map((u) => u.name || u.username).join(", "),
        open: member._id === me._id || members.length > 2 || openToAll,
      });
      // The caller's `open` is set on every call, so it must stay out of $setOnInsert: the
      // same path in two operators is a conflict that the store (like MongoDB) refuses.
      const { open, ...onInsert } = sub;
      const result = await db.subscriptions.updateOne(
        { rid: room._id, "u._id": member._id },
        member._id === me._id
          ? { $setOnInsert: onInsert, $set: { open: true } }
          : { $setOnInsert: { ...onInsert, open } },
        { upsert: true },
      );
      if (result.upsertedId) {
        hub.emit("stream-notify-user", `${member._id}/rooms-changed`, ["inserted", roomView(room)]);
        hub.emit("stream-notify-user", `${member._id}/subscriptions-changed`, ["inserted", sub]);
      }
    }
    return room;
  }

  /**
   * Finds a room by id or by name, of the given types. Throws Rocket.Chat's
   * `error-room-not-found` naming the parameters, as channels.* and groups.* do.
   */
  async find(
    ref: { roomId?: string; roomName?: string },
    types: readonly RoomType[],
  ): Promise<Room> {
    const { roomId, roomName } = ref;
    if (!roomId?.trim() && !roomName?.trim()) {
      throw new ClientError(
        "error-room-param-not-provided",
        'The parameter "roomId" or "roomName" is required',
      );
    }
    const room = roomId
      ? await this.deps.db.rooms.findOne({ _id: roomId })
      : await this.deps.db.rooms.findOne({ name: roomName });
    if (!room || !types.includes(room.t)) {
      const kind = kindOf(types[0] ?? "c");
      throw new ClientError(
        "error-room-not-found",
        `The required "roomId" or "roomName" param provided does not match any ${kind}`,
      );
    }
    return room;
  }

  /** The room with id `rid`, or null. */
  byId(rid: string): Promise<Room | null> {
    return this.deps.db.rooms.findOne({ _id: rid });
  }

  /** `user`'s subscription to `rid`, or null. */
  subscription(rid: string, uid: string): Promise<Subscription | null> {
    return this.deps.db.subscriptions.findOne({ rid, "u._id": uid });
  }

  /**
   * Finds a public channel as channels.* routes do: a missing room, a room of another
   * type and a call naming neither parameter all answer `error-room-not-found`. With
   * `checkArchived`, an archived channel answers `error-room-archived`.
   */
  async findChannel(ref: RoomRef, checkArchived = false): Promise<Room> {
    const { rooms } = this.deps.db;
    let room: Room | null = null;
    if (ref.roomId !== undefined) room = await rooms.findOne({ _id: ref.roomId });
    else if (ref.roomName !== undefined) room = await rooms.findOne({ name: ref.roomName });
    if (!room || room.t !== "c") {
      throw new ClientError(
        "error-room-not-found",
        'The required "roomId" or "roomName" param provided does not match any channel',
      );
    }
    if (checkArchived && room.archived) {
      throw new ClientError("error-room-archived", `The channel, ${room.name}, is archived`);
    }
    return room;
  }

  /**
   * Finds a private group that `user` may read. A group the user cannot read answers
   * exactly like one that does not exist, so a non-member learns nothing about it.
   * With `checkArchived`, an archived group answers `error-room-archived`.
   */
  async findGroup(ref: RoomRef, user: User, checkArchived = false): Promise<Room> {
    const room = await this.find(ref, ["p"]);
    if (!(await this.authz.canAccessRoom(room, user))) {
      throw new ClientError(
        "error-room-not-found",
        'The required "roomId" or "roomName" param provided does not match any group',
      );
    }
    if (checkArchived && room.archived) {
      const name = room.prid ? room.fname : room.name;
      throw new ClientError("error-room-archived", `The private group, ${name}, is archived`);
    }
    return room;
  }

  /**
   * The direct message `nameOrId` names for `me`. A user's id or username names the DM
   * with that user, which is opened when it does not exist yet (as Rocket.Chat does);
   * anything else must be a direct message's id. Throws `invalid-channel` otherwise.
   */
  async findDirect(me: User, nameOrId: string): Promise<Room> {
    const { users, rooms } = this.deps.db;
    const peer = await users.findOne({ $or: [{ _id: nameOrId }, { username: nameOrId }] });
    if (peer) {
      const uids = [...new Set([me._id, peer._id])].sort();
      const existing = await rooms.findOne({ t: "d", uids: { $size: uids.length, $all: uids } });
      return existing ?? (await this.createDirect(me, [peer.username]));
    }
    const room = await rooms.findOne({ _id: nameOrId });
    if (!room || room.t !== "d") throw new ClientError("invalid-channel");
    return room;
  }

  /** Ids of the rooms of the given types that user `uid` is subscribed to. */
  async subscribedRoomIds(uid: string, types: readonly RoomType[]): Promise<string[]> {
    const subs = await this.deps.db.subscriptions.find(
      { "u._id": uid, t: { $in: [...types] } },
      { projection: { rid: 1 } },
    );
    return subs.map((s) => s.rid);
  }

  /**
   * One page of the rooms of type `t`, optionally only those with the given ids and those
   * matching `extra`, sorted by name unless said otherwise; `total` counts every match.
   */
  async list(
    filter: { readonly t: RoomType; readonly ids?: readonly string[]; readonly extra?: Filter },
    page: PageRequest,
  ): Promise<{ rooms: Room[]; total: number }> {
    const query = {
      t: filter.t,
      ...(filter.ids && { _id: { $in: [...filter.ids] } }),
      ...(filter.extra && { $and: [filter.extra] }),
    };
    const [rooms, total] = await Promise.all([
      this.deps.db.rooms.find(query, {
        sort: page.sort ?? { name: 1 },
        skip: page.offset,
        limit: page.count,
      }),
      this.deps.db.rooms.countDocuments(query),
    ]);
    return { rooms, total };
  }

  /**
   * One page of the active members of room `rid`, connected users first, then by
   * username (as Rocket.Chat lists them). `filter` keeps users whose username or name
   * contains it, ignoring case; `status` keeps users in one of those statuses.
   */
  async members(
    rid: string,
    page: PageRequest & { readonly filter?: string; readonly status?: readonly string[] },
  ): Promise<{ members: User[]; total: number }> {
    const subs = await this.deps.db.subscriptions.find({ rid }, { projection: { "u._id": 1 } });
    const pattern = page.filter ? escapeRegex(page.filter) : undefined;
    const query = {
      _id: { $in: subs.map((s) => s.u._id) },
      active: true,
      ...(page.status && { status: { $in: [...page.status] } }),
      ...(pattern && {
        $or: [
          { username: { $regex: pattern, $options: "i" } },
          { name: { $regex: pattern, $options: "i" } },
        ],
      }),
    };
    const sort = page.sort ?? { statusConnection: -1, username: 1 };
    const [members, total] = await Promise.all([
      this.deps.db.users.find(query, { sort, skip: page.offset, limit: page.count }),
      this.deps.db.users.countDocuments(query),
    ]);
    return { members, total };
  }

  /** The subscriptions of user `uid`, by room type and then name, as users.info lists them. */
  subscriptionsOf(uid: string): Promise<Subscription[]> {
    return this.deps.db.subscriptions.find({ "u._id": uid }, { sort: { t: 1, name: 1 } });
  }

  /** Users by username, in the order given; throws `error-invalid-user` for an unknown one. */
  async usersByUsername(usernames: readonly string[]): Promise<User[]> {
    const users: User[] = [];
    for (const username of new Set(usernames)) {
      const user = await this.deps.db.users.findOne({ username });
      if (!user)
        throw new ClientError("error-invalid-user", `Invalid user`, { details: { username } });
      users.push(user);
    }
    return users;
  }
}
