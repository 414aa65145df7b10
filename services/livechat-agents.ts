/**
 * Omnichannel agents and managers: users holding the `livechat-agent` or
 * `livechat-manager` role. An agent takes conversations while their `statusLivechat` is
 * `available` and their presence is not offline (and not away either, unless
 * Livechat_enabled_when_agent_idle is on). Each agent counts their open conversations
 * (`openLivechats`, and per department `openLivechatsIn`), and taking one more is one
 * atomic store update that refuses to go past the agent's limit or their department's, so
 * two queues (or processes) routing at once never overload an agent.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import type { Filter } from "../store/types.ts";
import type { Deps } from "./context.ts";
import type { Settings } from "./settings.ts";

/** The two Omnichannel roles an administrator hands out through `livechat/users/:type`. */
export const LIVECHAT_ROLES = { agent: "livechat-agent", manager: "livechat-manager" } as const;

export type LivechatUserType = keyof typeof LIVECHAT_ROLES;

/** Whether an agent takes conversations: Rocket.Chat's two values of `statusLivechat`. */
export type AgentAvailability = "available" | "not-available";

/** What the Omnichannel routes show of an agent or a manager. */
export function agentView(user: User): Record<string, unknown> {
  return {
    _id: user._id,
    username: user.username,
    ...(user.name !== undefined && { name: user.name }),
    ...(user.emails && { emails: user.emails }),
    status: user.status,
    statusLivechat: user.statusLivechat ?? "not-available",
    ...(user.livechat !== undefined && { livechat: user.livechat }),
  };
}

/** Whether `user` holds the agent role. */
export function isAgent(user: Pick<User, "roles">): boolean {
  return user.roles.includes(LIVECHAT_ROLES.agent);
}

/**
 * The store filter of agents who may be given a conversation now: active agents who are
 * available and present (online, busy, or away when idle agents take chats).
 */
export function routableFilter(settings: Settings): Filter {
  const idleTakes = settings.get<boolean>("Livechat_enabled_when_agent_idle") !== false;
  return {
    roles: LIVECHAT_ROLES.agent,
    active: true,
    statusLivechat: "available",
    status: { $in: idleTakes ? ["online", "busy", "away"] : ["online", "busy"] },
  };
}

/** Whether `user` may be given a conversation now (see routableFilter). */
export function isRoutable(settings: Settings, user: User): boolean {
  const idleTakes = settings.get<boolean>("Livechat_enabled_when_agent_idle") !== false;
  const present = idleTakes ? user.status !== "offline" : ["online", "busy"].includes(user.status);
  return user.active && isAgent(user) && user.statusLivechat === "available" && present;
}

/**
 * How many open conversations `agent` may serve at once: their own limit when set
 * (`livechat.maxNumberSimultaneousChat`), else Livechat_maximum_chats_per_agent; 0 means
 * no limit.
 */
export function agentLimit(settings: Settings, agent: User): number {
  const own = Number(
    (agent.livechat as { maxNumberSimultaneousChat?: unknown } | undefined)
      ?.maxNumberSimultaneousChat,
  );
  if (Number.isInteger(own) && own > 0) return own;
  return settings.get<number>("Livechat_maximum_chats_per_agent") ?? 0;
}

/** The open conversations `agent` serves, as counted on the account. */
export function openChatsOf(agent: User): number {
  return typeof agent.openLivechats === "number" ? agent.openLivechats : 0;
}

/** Where a conversation an agent takes counts: its department, and that department's limit. */
export interface DepartmentPlace {
  readonly id: string;
  /** The department's `maxNumberSimultaneousChat` (0: no limit). */
  readonly limit: number;
}

/** The field of an agent's account counting their open conversations of department `id`. */
function departmentCount(id: string): string {
  return `openLivechatsIn.${id}`;
}

/** Whether `count` is under `limit` (0: no limit), as a store filter on field `count`. */
function under(count: string, limit: number): Filter {
  if (limit <= 0) return {};
  return { $or: [{ [count]: { $exists: false } }, { [count]: { $lt: limit } }] };
}

/**
 * Counts one more open conversation for agent `agentId` unless that would pass `limit`
 * (0: no limit) or, for a conversation of a department, the department's own limit, in
 * one atomic update. Resolves whether the agent took it.
 */
export async function reserveAgent(
  deps: Pick<Deps, "db">,
  agentId: string,
  limit: number,
  department?: DepartmentPlace,
): Promise<boolean> {
  const checks = [under("openLivechats", limit)];
  if (department) checks.push(under(departmentCount(department.id), department.limit));
  const filter: Filter = { _id: agentId, $and: checks };
  const updated = await deps.db.users.findOneAndUpdate(filter, {
    $inc: { openLivechats: 1, ...(department && { [departmentCount(department.id)]: 1 }) },
  });
  return updated !== null;
}

/**
 * Counts one open conversation fewer for agent `agentId`, and for its department
 * `departmentId` when given (never below zero).
 */
export async function releaseAgent(
  deps: Pick<Deps, "db">,
  agentId: string,
  departmentId?: string,
): Promise<void> {
  await deps.db.users.updateOne(
    { _id: agentId, openLivechats: { $gt: 0 } },
    { $inc: { openLivechats: -1 } },
  );
  if (!departmentId) return;
  const count = departmentCount(departmentId);
  await deps.db.users.updateOne({ _id: agentId, [count]: { $gt: 0 } }, { $inc: { [count]: -1 } });
}

/**
 * Recounts every agent's open conversations, in all and per department, from the rooms
 * they serve: run at start-up, so that a count left wrong by a crash between a room's
 * change and its agent's count does not outlive a restart.
 */
export async function recountOpenChats(deps: Pick<Deps, "db">): Promise<void> {
  const { db } = deps;
  const agents = await db.users.find(
    { roles: LIVECHAT_ROLES.agent },
    { projection: { _id: 1, openLivechats: 1, openLivechatsIn: 1 } },
  );
  for (const agent of agents) {
    const rooms = await db.rooms.find(
      { t: "l", open: true, "servedBy._id": agent._id },
      { projection: { departmentId: 1 } },
    );
    const perDepartment: Record<string, number> = {};
    for (const room of rooms) {
      if (typeof room.departmentId !== "string") continue;
      perDepartment[room.departmentId] = (perDepartment[room.departmentId] ?? 0) + 1;
    }
    const same =
      rooms.length === agent.openLivechats &&
      JSON.stringify(perDepartment) === JSON.stringify(agent.openLivechatsIn ?? {});
    if (same) continue;
    await db.users.updateOne(
      { _id: agent._id },
      { $set: { openLivechats: rooms.length, openLivechatsIn: perDepartment } },
    );
  }
}

/** Rocket.Chat's refusal when the user named is not an agent. */
export function notAnAgent(): ClientError {
  return new ClientError("error-user-is-not-agent", "User is not a livechat agent");
}
