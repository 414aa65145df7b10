/**
 * What becomes of the conversations an agent serves when the agent leaves service, as
 * Rocket.Chat's Livechat_agent_leave_action decides. An agent is in service while their
 * presence is not offline and they are available; one who leaves it and has not come back
 * Livechat_agent_leave_action_timeout seconds later (60 by default) has each open
 * conversation they serve:
 *
 * - `none` (default): kept, waiting for them to come back;
 * - `close`: closed in their name, with Livechat_agent_leave_comment as its comment;
 * - `forward`: forwarded to its visitor's department, whose queue gives it to another
 *   agent. A conversation whose visitor has no department, or already is in it, stays.
 *
 * Coming back in service before the time is up cancels the action. The waiting is kept in
 * the memory of the process that saw the agent leave, as Rocket.Chat keeps it: a restart
 * forgets it, and the action then waits until the agent leaves service again.
 */
import type { OmnichannelRoom } from "../core/livechat-models.ts";
import type { User } from "../core/models.ts";
import type { Deps } from "./context.ts";
import { isAgent } from "./livechat-agents.ts";
import type { Settings } from "./settings.ts";

/** The timers the watcher waits with: the platform's by default, a simulated pair in tests. */
export interface LeaveTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

const platformTimers: LeaveTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** What the watcher does to one conversation; the Omnichannel service provides it. */
export interface LeaveActions {
  close(room: OmnichannelRoom, agent: User, comment: string): Promise<void>;
  forward(room: OmnichannelRoom, agent: User, departmentId: string): Promise<void>;
}

/** The leave action configured now: `none`, `close` or `forward`. */
function actionOf(settings: Settings): "none" | "close" | "forward" {
  const action = settings.get<string>("Livechat_agent_leave_action");
  return action === "close" || action === "forward" ? action : "none";
}

/** Whether `agent` is in service: present (not offline) and available. */
export function inService(agent: User): boolean {
  return agent.status !== "offline" && agent.statusLivechat === "available";
}

/** Watches agents leaving service and runs the leave action on their conversations. */
export class AgentLeaveWatcher {
  private readonly waiting = new Map<string, unknown>();

  constructor(
    private readonly deps: Pick<Deps, "db" | "log"> & { readonly settings: Settings },
    private readonly actions: LeaveActions,
    private readonly timers: LeaveTimers = platformTimers,
  ) {}

  /**
   * Told that agent `agentId`'s presence or availability changed: starts the wait when
   * they left service (and a leave action is set), cancels it when they came back.
   */
  async changed(agentId: string): Promise<void> {
    const agent = await this.deps.db.users.findOne({ _id: agentId });
    if (!agent || !isAgent(agent) || inService(agent)) {
      this.cancel(agentId);
      return;
    }
    if (actionOf(this.deps.settings) === "none" || this.waiting.has(agentId)) return;
    const seconds = Number(this.deps.settings.get<number>("Livechat_agent_leave_action_timeout"));
    const ms = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
    const timer = this.timers.setTimeout(() => {
      this.waiting.delete(agentId);
      this.act(agentId).catch((error: unknown) =>
        this.deps.log.error({ err: error, userId: agentId }, "agent leave action failed"),
      );
    }, ms);
    this.waiting.set(agentId, timer);
  }

  /** Forgets every wait (the process is stopping). */
  stop(): void {
    for (const timer of this.waiting.values()) this.timers.clearTimeout(timer);
    this.waiting.clear();
  }

  private cancel(agentId: string): void {
    const timer = this.waiting.get(agentId);
    if (timer === undefined) return;
    this.timers.clearTimeout(timer);
    this.waiting.delete(agentId);
  }

  /** Runs the leave action on every open conversation `agentId` serves, if still out of service. */
  private async act(agentId: string): Promise<void> {
    const { db, log } = this.deps;
    const agent = await db.users.findOne({ _id: agentId });
    // Another process may have seen the agent come back.
    if (!agent || inService(agent)) return;
    const action = actionOf(this.deps.settings);
    if (action === "none") return;
    const rooms = (await db.rooms.find({
      t: "l",
      open: true,
      "servedBy._id": agentId,
    })) as OmnichannelRoom[];
    const comment = this.deps.settings.get<string>("Livechat_agent_leave_comment") ?? "";
    for (const room of rooms) {
      try {
        if (action === "close") {
          await this.actions.close(room, agent, comment);
          continue;
        }
        const visitor = await db.livechatVisitors.findOne(
          { _id: room.v._id },
          { projection: { department: 1 } },
        );
        const department = visitor?.department;
        if (department && department !== room.departmentId) {
          await this.actions.forward(room, agent, department);
        }
      } catch (error) {
        // One conversation that cannot be closed or forwarded does not keep the others.
        log.warn({ err: error, userId: agentId, rid: room._id, action }, "leave action skipped");
      }
    }
  }
}
