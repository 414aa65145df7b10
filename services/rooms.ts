/**
 * Room service: creating channels, private groups and direct messages, finding rooms by
 * id or name, and the subscriptions that make a user a member. Changes to an existing
 * room go through its room actor (see room-commands.ts); creation happens here because a
 * room that does not exist yet has no actor and no other writer.
 */
import { ClientError } from "../core/errors.ts";
import type { Room, RoomType, Subscription, User } from "../core/models.ts";
import { DuplicateKeyError } from "../store/types.ts";
import type { Authz } from "./authz.ts";
import type { Deps } from "./context.ts";
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
    u: { _id: user._id, username: user.username, ...(user.name !== undefined && { name: user.name }) },
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
    await this.authz.require(input.owner, input.type === "c" ? "create-c" : "create-p");
    const name = this.validName(input.name);
    if (await db.rooms.findOne({ name }, { projection: { _id: 1 } })) {
      throw new ClientError("error-duplicate-channel-name", `A channel with name '${name}' exists`, {
        details: { function: "RocketChat.createRoom", channel_name: name },
      });
    }
    const members = await this.usersByUsername(input.members ?? []);
    const everyone = input.excludeSelf ? members : [input.owner, ...members.filter((m) => m._id !== input.owner._id)];

    const now = clock.now();
    const room: Room = {
      _id: input._id ?? ids.id(),
      t: input.type,
      name,
      fname: name,
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
        throw new ClientError("error-duplicate-channel-name", `A channel with name '${name}' exists`, { cause: error });
      }
      throw error;
    }
    const subs = everyone.map((user) =>
      newSubscription(this.deps, room, user, user._id === input.owner._id ? { roles: ["owner"] } : {}),
    );
    await db.subscriptions.insertMany(subs);
    for (const sub of subs) {
      hub.emit("stream-notify-user", `${sub.u._id}/rooms-changed`, ["inserted", room]);
      hub.emit("stream-notify-user", `${sub.u._id}/subscriptions-changed`, ["inserted", sub]);
    }
    return room;
  }

  /**
   * Opens (or finds) the direct message between `me` and `usernames`. One other user
   * gives a 1:1 room whose id is both user ids sorted and joined; more give a group DM.
   */
  async createDirect(me: User, usernames: readonly string[], excludeSelf = false): Promise<Room> {
    const { db, clock, ids, hub } = this.deps;
    await this.authz.require(me, "create-d");
    const others = await this.usersByUsername(usernames.filter((u) => u !== me.username || usernames.length === 1));
    const members = excludeSelf ? others : [me, ...others.filter((u) => u._id !== me._id)];
    if (members.length === 0) throw new ClientError("error-invalid-user", "Invalid user");
    const uids = members.map((u) => u._id).sort();
    const rid = members.length <= 2 ? uids.join("") : undefined;

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
      usernames: members.map((u) => u.username).sort(),
      uids,
    };
    if (!existing) await db.rooms.insertOne(room);

    for (const member of members) {
      const peers = members.filter((m) => m._id !== member._id);
      const shown = peers.length === 0 ? [member] : peers;
      const sub = newSubscription(this.deps, room, member, {
        name: shown.map((u) => u.username).join(", "),
        fname: shown.map((u) => u.name ?? u.username).join(", "),
      });
      // `open` is set on every call, so it must stay out of $setOnInsert: the same path
      // in two operators is a conflict that the store (like MongoDB) refuses.
      const { open: _open, ...onInsert } = sub;
      const result = await db.subscriptions.updateOne(
        { rid: room._id, "u._id": member._id },
        { $setOnInsert: onInsert, $set: { open: true } },
        { upsert: true },
      );
      if (result.upsertedId) {
        hub.emit("stream-notify-user", `${member._id}/rooms-changed`, ["inserted", room]);
        hub.emit("stream-notify-user", `${member._id}/subscriptions-changed`, ["inserted", sub]);
      }
    }
    return room;
  }

  /**
   * Finds a room by id or by name, of the given types. Throws Rocket.Chat's
   * `error-room-not-found` naming the parameters, as channels.* and groups.* do.
   */
  async find(ref: { roomId?: string; roomName?: string }, types: readonly RoomType[]): Promise<Room> {
    const { roomId, roomName } = ref;
    if (!roomId?.trim() && !roomName?.trim()) {
      throw new ClientError("error-room-param-not-provided", 'The parameter "roomId" or "roomName" is required');
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

  /** Users by username, in the order given; throws `error-invalid-user` for an unknown one. */
  async usersByUsername(usernames: readonly string[]): Promise<User[]> {
    const users: User[] = [];
    for (const username of new Set(usernames)) {
      const user = await this.deps.db.users.findOne({ username });
      if (!user) throw new ClientError("error-invalid-user", `Invalid user`, { details: { username } });
      users.push(user);
    }
    return users;
  }

  private validName(raw: string): string {
    const name = raw.trim();
    const pattern = this.settings.get<string>("UTF8_Channel_Names_Validation") ?? "[0-9a-zA-Z-_.]+";
    if (!name || !new RegExp(`^${pattern}$`).test(name)) {
      throw new ClientError("error-invalid-room-name", `${name} is not a valid room name`, {
        details: { function: "RocketChat.createRoom", channel_name: name },
      });
    }
    return name;
  }
}
