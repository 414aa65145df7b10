/**
 * Omnichannel conversations: what the widget, the REST routes and the DDP methods do to a
 * visitor's room. Opening a room creates it with its inquiry and hands the inquiry to its
 * queue's actor, which routes it; taking, returning, forwarding and closing change the room
 * through its room actor and the queue through its queue actor, and keep each agent's
 * count of open conversations. When an agent stops being routable (unavailable, or their
 * presence goes offline), the inquiries waiting for them go to other agents.
 */
import { ClientError } from "../core/errors.ts";
import type {
  LivechatInquiry,
  LivechatVisitor,
  OmnichannelRoom,
  ServedBy,
} from "../core/livechat-models.ts";
import type { User, UserRef } from "../core/models.ts";
import type { CommandDeps } from "./room-commands.ts";
import { agentData, roomClosed } from "./livechat-commands.ts";
import {
  type AgentAvailability,
  agentLimit,
  isAgent,
  isRoutable,
  notAnAgent,
  releaseAgent,
  reserveAgent,
  routableFilter,
} from "./livechat-agents.ts";
import { DEFAULT_QUEUE } from "./livechat-queue.ts";
import { departmentIdOf } from "./livechat-visitors.ts";

/** The queue of a department id (or of none). */
export function queueKeyOf(department: string | undefined): string {
  return department ?? DEFAULT_QUEUE;
}

/** Rocket.Chat's refusal when Omnichannel is off. */
function disabled(): ClientError {
  return new ClientError("error-not-allowed", "Livechat is disabled", { plain: true });
}

export class Livechat {
  constructor(private readonly deps: CommandDeps) {}

  /** Throws unless Livechat_enabled is on. */
  assertEnabled(): void {
    if (this.deps.settings.get<boolean>("Livechat_enabled") === false) throw disabled();
  }

  /** Whether an agent (of `department`, if given) could take a conversation now. */
  async online(department?: string): Promise<boolean> {
    const { db, settings } = this.deps;
    if (settings.get<boolean>("Livechat_accept_chats_with_no_agents") === true) return true;
    let filter = routableFilter(settings);
    if (department) {
      const members = await db.livechatDepartmentAgents.find(
        { departmentId: department },
        { projection: { agentId: 1 } },
      );
      filter = { ...filter, _id: { $in: members.map((m) => m.agentId) } };
    }
    return (await db.users.countDocuments(filter)) > 0;
  }

  /** The visitor's open room, if they have one. */
  openRoomOf(visitor: LivechatVisitor): Promise<OmnichannelRoom | null> {
    return this.deps.db.rooms.findOne({
      t: "l",
      "v.token": visitor.token,
      open: true,
    }) as Promise<OmnichannelRoom | null>;
  }

  /** Room `rid` of `visitor`; `invalid-room` when it is not theirs or not an omnichannel room. */
  async visitorRoom(visitor: LivechatVisitor, rid: unknown): Promise<OmnichannelRoom> {
    if (typeof rid !== "string") throw new ClientError("invalid-room", "Invalid room");
    const room = await this.deps.db.rooms.findOne({ _id: rid, t: "l", "v.token": visitor.token });
    if (!room) throw new ClientError("invalid-room", "Invalid room");
    return room as OmnichannelRoom;
  }

  /** An open omnichannel room by id; `error-invalid-room` or `room-closed` otherwise. */
  async openRoomById(rid: string): Promise<OmnichannelRoom> {
    const room = await this.deps.db.rooms.findOne({ _id: rid });
    if (!room || room.t !== "l") throw new ClientError("error-invalid-room", "Invalid room");
    if (!room.open) throw roomClosed();
    return room as OmnichannelRoom;
  }

  /**
   * The visitor's open room, or a new one (`newRoom`) with its inquiry queued and routed.
   * Refuses with `no-agent-online` when no agent could take it and
   * Livechat_accept_chats_with_no_agents is off.
   */
  async openRoom(
    visitor: LivechatVisitor,
    options: { rid?: string; agentId?: string; source: "widget" | "api" },
  ): Promise<{ room: OmnichannelRoom; newRoom: boolean }> {
    this.assertEnabled();
    const existing = await this.openRoomOf(visitor);
    if (existing) return { room: existing, newRoom: false };
    const department = visitor.department;
    if (!(await this.online(department))) {
      throw new ClientError("no-agent-online", "Sorry, no online agents");
    }
    const { db, clock, ids } = this.deps;
    const now = clock.now();
    const v = {
      _id: visitor._id,
      username: visitor.username,
      token: visitor.token,
      status: "online",
      ...(visitor.name !== undefined && { name: visitor.name }),
    };
    const room: OmnichannelRoom = {
      _id: options.rid ?? ids.id(),
      t: "l",
      fname: visitor.name ?? visitor.username,
      ts: now,
      _updatedAt: now,
      msgs: 0,
      usersCount: 0,
      v,
      open: true,
      waitingResponse: true,
      cl: false,
      source: { type: options.source },
      ...(department && { departmentId: department }),
    };
    await db.rooms.insertOne(room).catch((error: unknown) => {
      throw new ClientError("invalid-room", "Invalid room", { cause: error });
    });
    const defaultAgent = options.agentId ? await this.defaultAgent(options.agentId) : undefined;
    const inquiry: LivechatInquiry = {
      _id: ids.id(),
      rid: room._id,
      name: room.fname as string,
      message: "",
      ts: now,
      v,
      t: "l",
      status: "queued",
      queuedAt: now,
      estimatedWaitingTimeQueue: 0,
      priorityWeight: 99999,
      source: room.source,
      _updatedAt: now,
      ...(department && { department }),
      ...(defaultAgent && { defaultAgent }),
    };
    await db.livechatInquiries.insertOne(inquiry);
    await db.livechatVisitors.updateOne(
      { _id: visitor._id },
      { $set: { lastChat: { _id: room._id, ts: now } } },
    );
    await this.deps.queues.execute(queueKeyOf(department), {
      kind: "enqueue",
      inquiryId: inquiry._id,
    });
    return { room: (await db.rooms.findOne({ _id: room._id })) as OmnichannelRoom, newRoom: true };
  }

  private async defaultAgent(agentId: string) {
    const agent = await this.deps.db.users.findOne({ _id: agentId });
    return agent && isAgent(agent) ? { agentId: agent._id, username: agent.username } : undefined;
  }

  /** The agent serving `room`, as the widget shows them; null when nobody serves it. */
  async agentOf(room: OmnichannelRoom): Promise<Record<string, unknown> | null> {
    if (!room.servedBy) return null;
    const agent = await this.deps.db.users.findOne({ _id: room.servedBy._id });
    return agent ? agentData(this.deps, agent) : null;
  }

  /** The inquiry of `inquiryId`; `error-not-found`-like refusal when there is none. */
  async inquiry(inquiryId: string): Promise<LivechatInquiry> {
    const inquiry = await this.deps.db.livechatInquiries.findOne({ _id: inquiryId });
    if (!inquiry) {
      throw new ClientError("error-not-allowed", "Inquiry already taken", {
        details: { method: "livechat:takeInquiry" },
      });
    }
    return inquiry;
  }

  /** Agent `agent` takes inquiry `inquiryId` by hand (atomically: once, by one agent). */
  async take(inquiryId: string, agent: User): Promise<LivechatInquiry> {
    this.assertEnabled();
    if (!isAgent(agent)) throw notAnAgent();
    const inquiry = await this.inquiry(inquiryId);
    return this.deps.queues.execute(queueKeyOf(inquiry.department), {
      kind: "take",
      inquiryId,
      agent,
    });
  }

  /** Counts the conversation off its previous agent and lets their queues route again. */
  private async freed(previous: ServedBy | undefined): Promise<void> {
    if (!previous) return;
    await releaseAgent(this.deps, previous._id);
    await this.routeFor(previous._id, "route");
  }

  /**
   * Sends a command to each queue agent `agentId` may serve: their departments' and the
   * default one.
   */
  private async routeFor(agentId: string, kind: "route" | "agentGone"): Promise<void> {
    const links = await this.deps.db.livechatDepartmentAgents.find(
      { agentId },
      { projection: { departmentId: 1 } },
    );
    const keys = [DEFAULT_QUEUE, ...links.map((l) => l.departmentId)];
    for (const key of keys) {
      this.deps.queues.tell(key, kind === "route" ? { kind } : { kind, agentId });
    }
  }

  /**
   * Closes room `rid`: by an agent (`closer: "user"`) or by its visitor. Takes its
   * inquiry out of its queue and frees its agent.
   */
  async close(
    rid: string,
    closer: "user" | "visitor",
    by: UserRef,
    options: { comment?: string; tags?: readonly string[] } = {},
  ): Promise<OmnichannelRoom> {
    const room = await this.openRoomById(rid);
    const result = await this.deps.rooms.execute(rid, {
      kind: "livechat.close",
      closer,
      by,
      ...(options.comment !== undefined && { comment: options.comment }),
      ...(options.tags && { tags: options.tags }),
    });
    await this.deps.queues.execute(queueKeyOf(room.departmentId), { kind: "remove", rid });
    await this.freed(result.previousAgent);
    return result.room;
  }

  /** Whether `user` may act on room `room` as its agent: serving it, or holding `others`. */
  async assertServes(user: User, room: OmnichannelRoom, others: string): Promise<void> {
    if (room.servedBy?._id === user._id) return;
    if (await this.deps.authz.can(user, others)) return;
    throw new ClientError("error-not-authorized", "Not authorized");
  }

  /** Sends room `rid` back to its queue (or department `departmentId`'s) to wait for an agent. */
  async returnToQueue(rid: string, by: User, departmentId?: string): Promise<boolean> {
    const room = await this.openRoomById(rid);
    if (!room.servedBy) return false;
    const department = departmentId ?? room.departmentId;
    const result = await this.deps.rooms.execute(rid, {
      kind: "livechat.unserve",
      by: { _id: by._id, username: by.username },
      scope: "queue",
      ...(department !== undefined && { departmentId: department }),
    });
    await this.requeue(result.room, department);
    await this.freed(result.previousAgent);
    return true;
  }

  /** Puts the inquiry of `room` back in `department`'s queue and routes it. */
  private async requeue(room: OmnichannelRoom, department: string | undefined): Promise<void> {
    const { db, clock } = this.deps;
    const now = clock.now();
    const set = {
      status: "queued",
      queuedAt: now,
      _updatedAt: now,
      ...(department !== undefined && { department }),
    };
    const unset = {
      takenAt: "",
      defaultAgent: "",
      ...(department === undefined && { department: "" }),
    };
    await db.livechatInquiries.updateOne({ rid: room._id }, { $set: set, $unset: unset });
    const inquiry = await db.livechatInquiries.findOne({ rid: room._id });
    if (!inquiry) return;
    await this.deps.queues.execute(queueKeyOf(department), {
      kind: "enqueue",
      inquiryId: inquiry._id,
    });
  }

  /**
   * Forwards room `rid` to agent `userId` (who must be routable and have room for it) or
   * to department `departmentId` (whose queue then routes it), as `by`.
   */
  async forward(
    rid: string,
    by: User,
    target: { userId?: string; departmentId?: string; comment?: string },
  ): Promise<void> {
    this.assertEnabled();
    const room = await this.openRoomById(rid);
    const actor = { _id: by._id, username: by.username };
    if (target.userId) {
      const agent = await this.deps.db.users.findOne({ _id: target.userId });
      if (!agent || !isAgent(agent)) throw notAnAgent();
      if (room.servedBy?._id === agent._id) {
        throw new ClientError(
          "error-selected-agent-room-agent-are-same",
          "The selected agent and the room agent are the same",
        );
      }
      if (!isRoutable(this.deps.settings, agent)) {
        throw new ClientError("error-user-is-offline", "User is offline or not available");
      }
      if (!(await reserveAgent(this.deps, agent._id, agentLimit(this.deps.settings, agent)))) {
        throw new ClientError("error-max-number-simultaneous-chats-reached", "Not allowed");
      }
      const result = await this.deps.rooms
        .execute(rid, {
          kind: "livechat.transfer",
          to: agent,
          by: actor,
          ...(target.comment && { comment: target.comment }),
        })
        .catch(async (error: unknown) => {
          await releaseAgent(this.deps, agent._id);
          throw error;
        });
      await this.freed(result.previousAgent);
      return;
    }
    if (!target.departmentId) {
      throw new ClientError("error-invalid-params", "A userId or a departmentId is required");
    }
    const departmentId = await departmentIdOf(this.deps, target.departmentId);
    const department = await this.deps.db.livechatDepartments.findOne({ _id: departmentId });
    if (!department?.enabled) {
      throw new ClientError("error-invalid-department", "Invalid department");
    }
    const result = await this.deps.rooms.execute(rid, {
      kind: "livechat.unserve",
      by: actor,
      scope: "department",
      departmentId,
      ...(target.comment && { comment: target.comment }),
    });
    await this.requeue(result.room, departmentId);
    await this.freed(result.previousAgent);
  }

  /** Sets agent `agent`'s availability and routes or reroutes their queues accordingly. */
  async setAvailability(agent: User, status: AgentAvailability): Promise<void> {
    if (!isAgent(agent)) throw notAnAgent();
    await this.deps.db.users.updateOne(
      { _id: agent._id },
      { $set: { statusLivechat: status, _updatedAt: this.deps.clock.now() } },
    );
    await this.routeFor(agent._id, status === "available" ? "route" : "agentGone");
  }

  /**
   * Told by presence that `user`'s status changed: an agent who became present may take
   * what waits; one who went offline (or idle, when idle agents take none) is not routed
   * to, and the inquiries waiting for them go to others.
   */
  presenceChanged(user: User): void {
    if (!user.roles?.includes("livechat-agent")) return;
    const routable = isRoutable(this.deps.settings, {
      ...user,
      active: true,
      statusLivechat: "available",
    });
    this.routeFor(user._id, routable ? "route" : "agentGone").catch((error: unknown) =>
      this.deps.log.error({ err: error, userId: user._id }, "rerouting after presence failed"),
    );
  }
}
