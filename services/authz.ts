/**
 * Authorization service: the one place that answers "may this user do that here".
 * Permissions map to roles; a user holds global roles (`user.roles`) and, per room, the
 * roles on their subscription (owner, moderator, leader).
 */
import type { Clock } from "../core/clock.ts";
import { notAllowed } from "../core/errors.ts";
import type { Room, User } from "../core/models.ts";
import type { Collections } from "./collections.ts";
import { DEFAULT_PERMISSIONS, DEFAULT_ROLES } from "./permissions-table.ts";

/**
 * The global permissions a route or method needs besides a login: all of them, or one of
 * them with `any`.
 */
export interface Access {
  readonly permissions: readonly string[];
  readonly any?: boolean;
}

export class Authz {
  private readonly permissionRoles = new Map<string, ReadonlySet<string>>();

  constructor(
    private readonly db: Collections,
    private readonly clock: Clock,
  ) {}

  /**
   * Inserts the default roles and permissions that are missing, then caches the table.
   * A permission that exists keeps its roles. A default role that exists gets its default
   * description back when it has one, as Rocket.Chat does at every start.
   */
  async init(): Promise<void> {
    const now = this.clock.now();
    for (const { name, scope, description } of DEFAULT_ROLES) {
      await this.db.roles.updateOne(
        { _id: name },
        {
          $setOnInsert: {
            name,
            scope,
            description,
            protected: true,
            mandatory2fa: false,
            _updatedAt: now,
          },
        },
        { upsert: true },
      );
      if (description === "") continue;
      await this.db.roles.updateOne(
        { _id: name, description: { $ne: description } },
        { $set: { description, _updatedAt: now } },
      );
    }
    for (const [_id, roles] of Object.entries(DEFAULT_PERMISSIONS)) {
      await this.db.permissions.updateOne(
        { _id },
        { $setOnInsert: { roles: [...roles], _updatedAt: now } },
        { upsert: true },
      );
    }
    await this.reload();
  }

  /**
   * Reads the permission table from the store into the cache again: what the permission
   * routes call after they change which roles hold a permission.
   */
  async reload(): Promise<void> {
    const permissions = await this.db.permissions.find({});
    this.permissionRoles.clear();
    for (const p of permissions) this.permissionRoles.set(p._id, new Set(p.roles));
  }

  /** The roles `user` holds in room `rid` (global roles plus subscription roles). */
  async rolesOf(user: User, rid?: string): Promise<string[]> {
    if (!rid) return user.roles;
    const sub = await this.db.subscriptions.findOne(
      { rid, "u._id": user._id },
      { projection: { roles: 1 } },
    );
    return [...user.roles, ...(sub?.roles ?? [])];
  }

  /** Whether `user` holds `permission`, globally or in room `rid`. */
  async can(user: User, permission: string, rid?: string): Promise<boolean> {
    const allowed = this.permissionRoles.get(permission);
    if (!allowed || allowed.size === 0) return false;
    if (user.roles.some((r) => allowed.has(r))) return true;
    if (!rid) return false;
    return (await this.rolesOf(user, rid)).some((r) => allowed.has(r));
  }

  /** Throws the 403 `error-unauthorized` unless `user` holds `permission`. */
  async require(user: User, permission: string, rid?: string): Promise<void> {
    if (!(await this.can(user, permission, rid))) throw notAllowed();
  }

  /**
   * Throws the 403 unless `user` holds the rule's global permissions: all of them, or
   * one of them when `any` is set. No permissions means any logged-in user.
   */
  async requireRule(user: User, rule: Partial<Access>): Promise<void> {
    const wanted = rule.permissions ?? [];
    if (wanted.length === 0) return;
    const held = await Promise.all(wanted.map((p) => this.can(user, p)));
    if (rule.any ? !held.some(Boolean) : !held.every(Boolean)) throw notAllowed();
  }

  /**
   * Whether `user` may read `room`: a member always may; anyone with `view-c-room` may
   * read a public channel, except that a public channel of a private team is open only to
   * the team's members; whoever may read a discussion's parent may read the discussion,
   * as in Rocket.Chat; nobody else reads private groups or direct messages.
   */
  async canAccessRoom(room: Room, user: User | null): Promise<boolean> {
    if (user && (await this.isMember(room._id, user._id))) return true;
    if (user && typeof room.prid === "string" && (await this.canAccessParent(room.prid, user))) {
      return true;
    }
    if (room.t !== "c") return false;
    if (!user) return false;
    if (typeof room.teamId === "string" && !(await this.isPublicTeam(room.teamId))) {
      return this.isTeamMember(room.teamId, user._id);
    }
    return this.can(user, "view-c-room");
  }

  /** Whether team `teamId` exists and is public. */
  private async isPublicTeam(teamId: string): Promise<boolean> {
    const team = await this.db.teams.findOne({ _id: teamId }, { projection: { type: 1 } });
    return team?.type === 0;
  }

  /** Whether user `uid` belongs to team `teamId`. */
  async isTeamMember(teamId: string, uid: string): Promise<boolean> {
    const member = await this.db.teamMembers.findOne(
      { teamId, userId: uid },
      { projection: { _id: 1 } },
    );
    return member !== null;
  }

  /**
   * Whether `user` may read discussion parent `prid`, by membership or as a public channel.
   * The parent's own parent is not followed: discussions do not nest, so a longer chain
   * is bad data, which must not grant access or loop.
   */
  private async canAccessParent(prid: string, user: User): Promise<boolean> {
    const parent = await this.db.rooms.findOne({ _id: prid }, { projection: { _id: 1, t: 1 } });
    if (!parent) return false;
    if (await this.isMember(parent._id, user._id)) return true;
    return parent.t === "c" && (await this.can(user, "view-c-room"));
  }

  /** Whether user `uid` is subscribed to room `rid`. */
  async isMember(rid: string, uid: string): Promise<boolean> {
    return (
      (await this.db.subscriptions.findOne({ rid, "u._id": uid }, { projection: { _id: 1 } })) !==
      null
    );
  }
}
