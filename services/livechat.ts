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
import { AgentLeaveWatcher, type LeaveTimers } from "./livechat-agent-leave.ts";
import { DEFAULT_QUEUE, observe } from "./livechat-queue.ts";
import { plainRefusal } from "./livechat-rooms.ts";
import { sendRequestedTranscript } from "./livechat-transcripts.ts";
import type { Mailer } from "./mailer.ts";
import { withStoreLock } from "./store-locks.ts";

/** The queue of a department id (or of none). */
export function queueKeyOf(department: string | undefined): string {
  return department ?? DEFAULT_QUEUE;
}

/** The settings whose change may let agents take conversations that wait. */
const ROUTING_SETTINGS = new Set([
  "Livechat_Routing_Method",
  "Livechat_maximum_chats_per_agent",
  "Livechat_enabled_when_agent_idle",
  "Livechat_enabled",
]);

/** Rocket.Chat's refusal when Omnichannel is off. */
function disabled(): ClientError {
  return new ClientError("error-not-allowed", "Livechat is disabled", { plain: true });
}

export class Livechat {
  /** What becomes of an agent's conversations when they leave service. */
  private readonly leave: AgentLeaveWatcher;

  constructor(
    private readonly deps: CommandDeps,
    private readonly mailer: Mailer,
    timers?: LeaveTimers,
  ) {
    this.leave = new AgentLeaveWatcher(
      deps,
      {
        close: async (room, agent, comment) => {
          const by = { _id: agent._id, username: agent.username };
          await this.close(room._id, "user", by, { comment });
        },
        forward: (room, agent, departmentId) => this.forward(room._id, agent, { departmentId }),
      },
      timers,
    );
  }

  /** Forgets the agents waiting for their leave action (the process is stopping). */
  stop(): void {
    this.leave.stop();
  }

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
   * The visitor's open room, or a new one (`newRoom`, its id chosen here) with its inquiry
   * queued and routed. Refuses with `no-agent-online` when no agent could take it and
   * Livechat_accept_chats_with_no_agents is off.
   */
  async openRoom(
    visitor: LivechatVisitor,
    options: { agentId?: string; source: "widget" | "api" },
  ): Promise<{ room: OmnichannelRoom; newRoom: boolean }> {
    this.assertEnabled();
    // One visitor, one open room: the check and the creation hold the visitor's lock, in
    // every process sharing the store, so calls racing each other find the room made first.
    return withStoreLock(this.deps, `livechat-room:${visitor.token}`, () =>
      this.openRoomLocked(visitor, options),
    );
  }

  private async openRoomLocked(
    visitor: LivechatVisitor,
    options: { agentId?: string; source: "widget" | "api" },
  ): Promise<{ room: OmnichannelRoom; newRoom: boolean }> {
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
      _id: ids.id(),
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
    await db.rooms.insertOne(room);
    const defaultAgent = options.agentId ? await this.defaultAgent(options.agentId) : undefined;
    const inquiry = this.newInquiry(room, "queued", department);
    await db.livechatInquiries.insertOne({ ...inquiry, ...(defaultAgent && { defaultAgent }) });
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

  /** A new inquiry of `room`, in `status`, waiting in `department`'s queue (or the default one). */
  private newInquiry(
    room: OmnichannelRoom,
    status: "queued" | "taken",
    department: string | undefined,
  ): LivechatInquiry {
    const now = this.deps.clock.now();
    return {
      _id: this.deps.ids.id(),
      rid: room._id,
      name: room.fname ?? room.v.username,
      message: "",
      ts: now,
      v: room.v,
      t: "l",
      status,
      queuedAt: now,
      ...(status === "taken" && { takenAt: now }),
      estimatedWaitingTimeQueue: 0,
      priorityWeight: 99999,
      source: room.source,
      _updatedAt: now,
      ...(department && { department }),
    };
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

  /**
   * Agent `agent` takes inquiry `inquiryId` by hand (atomically: once, by one agent). Refuses
   * as Rocket.Chat does: `error-not-found`, `error-inquiry-taken`,
   * `error-agent-status-service-offline` (not an agent, or not available and present) and
   * `error-max-number-simultaneous-chats-reached`.
   */
  async take(inquiryId: string, agent: User): Promise<LivechatInquiry> {
    this.assertEnabled();
    const inquiry = await this.deps.db.livechatInquiries.findOne({ _id: inquiryId });
    if (!inquiry) {
      throw new ClientError("error-not-found", "Inquiry not found", {
        details: { method: "livechat:takeInquiry" },
      });
    }
    return this.deps.queues.execute(queueKeyOf(inquiry.department), {
      kind: "take",
      inquiryId,
      agent,
    });
  }

  /**
   * Counts the conversation (of department `departmentId` while they served it) off its
   * previous agent and lets their queues route again.
   */
  private async freed(previous: ServedBy | undefined, departmentId?: string): Promise<void> {
    if (!previous) return;
    await releaseAgent(this.deps, previous._id, departmentId);
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
   * inquiry out of its queue, frees its agent, and mails the transcript an agent asked for.
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
    await this.freed(result.previousAgent, room.departmentId);
    await sendRequestedTranscript(this.deps, this.mailer, rid);
    return result.room;
  }

  /**
   * Closes room `rid` as agent or manager `user` asks (`livechat/room.closeByUser`,
   * `livechat:closeRoom`), with Rocket.Chat's checks in its order: an omnichannel room
   * (`error-invalid-room`), still open (`error-room-already-closed`), one the user is
   * subscribed to unless they hold `close-others-livechat-room` (`error-not-authorized`),
   * and a comment while Livechat_request_comment_when_closing_conversation is on
   * (`error-comment-is-required`). `refuse` builds each refusal in the caller's shape.
   */
  async closeByAgent(
    rid: string,
    user: User,
    options: { comment?: string; tags?: readonly string[] },
    refuse: (code: string) => ClientError,
  ): Promise<void> {
    const { db, authz, settings } = this.deps;
    const room = await db.rooms.findOne({ _id: rid });
    if (!room || room.t !== "l") throw refuse("error-invalid-room");
    if (!room.open) throw refuse("error-room-already-closed");
    const sub = await db.subscriptions.findOne(
      { rid, "u._id": user._id },
      { projection: { _id: 1 } },
    );
    if (!sub && !(await authz.can(user, "close-others-livechat-room"))) {
      throw refuse("error-not-authorized");
    }
    const commentRequired =
      settings.get<boolean>("Livechat_request_comment_when_closing_conversation") !== false;
    if (commentRequired && !options.comment?.trim()) throw refuse("error-comment-is-required");
    await this.close(rid, "user", { _id: user._id, username: user.username }, options);
  }

  /**
   * Sends room `rid` back to its queue (or department `departmentId`'s) to wait for an
   * agent, as `livechat:returnAsInquiry` does. Resolves false when nobody serves it.
   */
  async returnToQueue(rid: string, by: User, departmentId?: string): Promise<boolean> {
    const details = { method: "livechat:returnAsInquiry" };
    const found = await this.deps.db.rooms.findOne({ _id: rid });
    if (!found || found.t !== "l") {
      throw new ClientError("error-invalid-room", "Invalid room", { details });
    }
    const room = found as OmnichannelRoom;
    if (!room.open) throw new ClientError("room-closed", "Room closed", { details });
    if (departmentId && !(await this.deps.db.livechatDepartments.findOne({ _id: departmentId }))) {
      throw new ClientError("error-invalid-department", "Invalid department", { details });
    }
    if (!room.servedBy) return false;
    const department = departmentId ?? room.departmentId;
    const result = await this.deps.rooms.execute(rid, {
      kind: "livechat.unserve",
      by: { _id: by._id, username: by.username },
      scope: "queue",
      ...(department !== undefined && { departmentId: department }),
    });
    await this.requeue(result.room, department);
    await this.freed(result.previousAgent, room.departmentId);
    return true;
  }

  /**
   * Puts the inquiry of `room` back in `department`'s queue and routes it, to `preferred`
   * first when given.
   */
  private async requeue(
    room: OmnichannelRoom,
    department: string | undefined,
    preferred?: User,
  ): Promise<void> {
    const { db, clock } = this.deps;
    const now = clock.now();
    const set = {
      status: "queued" as const,
      queuedAt: now,
      _updatedAt: now,
      ...(department !== undefined && { department }),
      ...(preferred && { defaultAgent: { agentId: preferred._id, username: preferred.username } }),
    };
    const unset = {
      takenAt: "",
      ...(!preferred && { defaultAgent: "" }),
      ...(department === undefined && { department: "" }),
    };
    const found = await db.livechatInquiries.findOneAndUpdate(
      { rid: room._id },
      { $set: set, $unset: unset },
    );
    const inquiry = found ?? { ...this.newInquiry(room, "queued", department), ...set };
    // A conversation left without its inquiry is given a new one rather than left unroutable.
    if (!found) await db.livechatInquiries.insertOne(inquiry);
    await this.deps.queues.execute(queueKeyOf(department), {
      kind: "enqueue",
      inquiryId: inquiry._id,
    });
  }

  /**
   * Forwards room `rid` to department `departmentId` (whose queue then routes it, to agent
   * `userId` first when given) or else to agent `userId` (who must be routable and have
   * room for it), as `by`. Refuses with Rocket.Chat's plain codes: `error-invalid-room`,
   * `This_conversation_is_already_closed`, `error-invalid-visitor`,
   * `error-invalid-department`, `error-forwarding-chat-same-department`,
   * `error-user-is-offline`, `error-user-not-belong-to-department`,
   * `error-selected-agent-room-agent-are-same`,
   * `error-max-number-simultaneous-chats-reached`, and `error-forwarding-chat` when there
   * is no target.
   */
  async forward(
    rid: string,
    by: User,
    target: { userId?: string; departmentId?: string; comment?: string },
  ): Promise<void> {
    this.assertEnabled();
    const { db } = this.deps;
    const found = await db.rooms.findOne({ _id: rid });
    if (!found || found.t !== "l") throw plainRefusal("error-invalid-room");
    const room = found as OmnichannelRoom;
    if (!room.open) throw plainRefusal("This_conversation_is_already_closed");
    if (!(await db.livechatVisitors.findOne({ _id: room.v._id }, { projection: { _id: 1 } }))) {
      throw plainRefusal("error-invalid-visitor");
    }
    const actor = { _id: by._id, username: by.username };
    if (target.departmentId) {
      await this.forwardToDepartment(room, actor, { ...target, departmentId: target.departmentId });
      return;
    }
    if (!target.userId) throw plainRefusal("error-forwarding-chat");
    await this.forwardToAgent(room, actor, target.userId, target.comment);
  }

  /**
   * Hands `room` to agent `userId`, who takes its inquiry as a take would (a conversation
   * still waiting leaves its queue). As in Rocket.Chat, only the agent's own limit applies:
   * a forward to an agent is not a conversation of the department's queue.
   */
  private async forwardToAgent(
    room: OmnichannelRoom,
    actor: UserRef,
    userId: string,
    comment: string | undefined,
  ): Promise<void> {
    const { db, clock } = this.deps;
    const agent = await this.onlineAgent(userId);
    if (room.servedBy?._id === agent._id) {
      throw plainRefusal("error-selected-agent-room-agent-are-same");
    }
    const place = room.departmentId ? { id: room.departmentId, limit: 0 } : undefined;
    const limit = agentLimit(this.deps.settings, agent);
    if (!(await reserveAgent(this.deps, agent._id, limit, place))) {
      throw plainRefusal("error-max-number-simultaneous-chats-reached");
    }
    const now = clock.now();
    const claim = { $set: { status: "taken", takenAt: now, _updatedAt: now } };
    const before = await db.livechatInquiries.findOneAndUpdate(
      { rid: room._id },
      { ...claim, $unset: { defaultAgent: "" } },
      { returnDocument: "before" },
    );
    if (!before)
      await db.livechatInquiries.insertOne(this.newInquiry(room, "taken", room.departmentId));
    const result = await this.deps.rooms
      .execute(room._id, {
        kind: "livechat.transfer",
        to: agent,
        by: actor,
        ...(comment && { comment }),
      })
      .catch(async (error: unknown) => {
        await releaseAgent(this.deps, agent._id, place?.id);
        if (before?.status === "queued") {
          await db.livechatInquiries.updateOne(
            { _id: before._id, status: "taken" },
            { $set: { status: "queued" }, $unset: { takenAt: "" } },
          );
        }
        throw error;
      });
    if (before?.status === "queued") {
      observe(this.deps, before, "removed");
      await this.deps.queues.execute(queueKeyOf(before.department), {
        kind: "forget",
        inquiryId: before._id,
      });
    }
    await this.freed(result.previousAgent, room.departmentId);
  }

  /** Agent `userId` if they could be given a conversation now; `error-user-is-offline` otherwise. */
  private async onlineAgent(userId: string): Promise<User> {
    const agent = await this.deps.db.users.findOne({ _id: userId });
    if (!agent || !isRoutable(this.deps.settings, agent))
      throw plainRefusal("error-user-is-offline");
    return agent;
  }

  private async forwardToDepartment(
    room: OmnichannelRoom,
    actor: UserRef,
    target: { userId?: string; departmentId: string; comment?: string },
  ): Promise<void> {
    const { db } = this.deps;
    const department = await db.livechatDepartments.findOne({ _id: target.departmentId });
    if (!department?.enabled) throw plainRefusal("error-invalid-department");
    if (room.departmentId === department._id) {
      throw plainRefusal("error-forwarding-chat-same-department");
    }
    let preferred: User | undefined;
    if (target.userId) {
      preferred = await this.onlineAgent(target.userId);
      const member = await db.livechatDepartmentAgents.findOne(
        { departmentId: department._id, agentId: preferred._id },
        { projection: { _id: 1 } },
      );
      if (!member) throw plainRefusal("error-user-not-belong-to-department");
    }
    const result = await this.deps.rooms.execute(room._id, {
      kind: "livechat.unserve",
      by: actor,
      scope: "department",
      departmentId: department._id,
      ...(target.comment && { comment: target.comment }),
    });
    await this.requeue(result.room, department._id, preferred);
    await this.freed(result.previousAgent, room.departmentId);
  }

  /**
   * Told that setting `id` changed: a change that may let agents take more (a higher
   * Livechat_maximum_chats_per_agent, a switch away from Manual_Selection, idle agents
   * accepted again) has every queue with inquiries waiting route them now.
   */
  settingChanged(id: string): void {
    if (!ROUTING_SETTINGS.has(id)) return;
    this.routeWaiting().catch((error: unknown) =>
      this.deps.log.error({ err: error, setting: id }, "routing after a setting change failed"),
    );
  }

  /** Tells every queue that has inquiries waiting to route them. */
  private async routeWaiting(): Promise<void> {
    const waiting = await this.deps.db.livechatInquiries.find(
      { status: "queued" },
      { projection: { department: 1 } },
    );
    const keys = new Set(waiting.map((inquiry) => queueKeyOf(inquiry.department)));
    for (const key of keys) this.deps.queues.tell(key, { kind: "route" });
  }

  /** Sets agent `agent`'s availability and routes or reroutes their queues accordingly. */
  async setAvailability(agent: User, status: AgentAvailability): Promise<void> {
    if (!isAgent(agent)) throw notAnAgent();
    await this.deps.db.users.updateOne(
      { _id: agent._id },
      { $set: { statusLivechat: status, _updatedAt: this.deps.clock.now() } },
    );
    await this.routeFor(agent._id, status === "available" ? "route" : "agentGone");
    await this.leave.changed(agent._id);
  }

  /**
   * Told by presence that `user`'s status changed: an agent who became present may take
   * what waits; one who went offline (or idle, when idle agents take none) is not routed
   * to, and the inquiries waiting for them go to others. An agent who left service starts
   * the wait of the leave action (see livechat-agent-leave.ts).
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
    this.leave
      .changed(user._id)
      .catch((error: unknown) =>
        this.deps.log.error({ err: error, userId: user._id }, "watching the agent's leave failed"),
      );
  }
}
