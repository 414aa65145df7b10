/**
 * What a queue actor does: it holds the inquiries waiting in one department's queue (or
 * in the default queue of conversations without a department) in arrival order, tells
 * each waiting visitor their position, and routes them to agents by the workspace's
 * Livechat_Routing_Method:
 *
 * - `Auto_Selection` (default): the next inquiry goes to the routable agent of the queue,
 *   under their limits, who was given a conversation longest ago.
 * - `Load_Balancing`: it goes to the routable agent with the fewest open conversations.
 * - `Manual_Selection`: nothing is routed; agents take inquiries themselves.
 *
 * An inquiry whose `defaultAgent` is routable goes to that agent first. Taking an inquiry,
 * by routing or by hand, is one atomic store update from `queued` to `taken`, so an
 * inquiry is never served twice, even by two queue actors (or two processes) at once.
 */
import { ClientError } from "../core/errors.ts";
import type { LivechatInquiry } from "../core/livechat-models.ts";
import type { User } from "../core/models.ts";
import {
  agentLimit,
  isAgent,
  isRoutable,
  openChatsOf,
  type DepartmentPlace,
  recountOpenChats,
  releaseAgent,
  reserveAgent,
  routableFilter,
} from "./livechat-agents.ts";
import type { CommandDeps } from "./room-commands.ts";

/** The key of the default queue among the department ids. */
export const DEFAULT_QUEUE = "";

/** One waiting inquiry as the queue orders it. */
export interface Waiting {
  readonly _id: string;
  readonly rid: string;
  readonly queuedAt: Date;
}

/** What a queue actor remembers between commands. */
export interface QueueState {
  /** The department id, or DEFAULT_QUEUE. */
  readonly key: string;
  /** The waiting inquiries, first come first. */
  readonly waiting: readonly Waiting[];
  /** The position each waiting inquiry was last told (by inquiry id). */
  readonly told: ReadonlyMap<string, number>;
}

/** The commands a queue actor runs, one at a time. */
export type QueueCommand =
  /** A new (or returned, or forwarded) inquiry is queued here: add it, then route. */
  | { readonly kind: "enqueue"; readonly inquiryId: string }
  /** An agent takes an inquiry by hand. */
  | { readonly kind: "take"; readonly inquiryId: string; readonly agent: User }
  /** Agents may have become free: route what waits. */
  | { readonly kind: "route" }
  /** The conversation of room `rid` ended while waiting: drop its inquiry. */
  | { readonly kind: "remove"; readonly rid: string }
  /** Inquiry `inquiryId` was taken outside the queue (forwarded to an agent): stop waiting for it. */
  | { readonly kind: "forget"; readonly inquiryId: string }
  /** Agent `agentId` is no longer routable: their waiting work goes to others. */
  | { readonly kind: "agentGone"; readonly agentId: string };

/** The answer of each command. */
export type QueueReply<C extends QueueCommand> = C extends { kind: "take" }
  ? LivechatInquiry
  : C extends { kind: "enqueue" }
    ? LivechatInquiry | null
    : number;

function departmentFilter(key: string) {
  return key === DEFAULT_QUEUE ? { department: { $exists: false } } : { department: key };
}

/**
 * Recounts every agent's open conversations from the rooms, unless a conversation is being
 * taken somewhere right now: such a conversation is already counted on its agent while its
 * room does not name them yet, so a recount then would count it one short. A queue actor
 * runs this when it starts, so that a count left one too high by a crash between counting
 * a conversation on its agent and serving it does not outlive the actor's restart.
 */
async function recountUnlessTaking(deps: CommandDeps): Promise<void> {
  const taken = await deps.db.livechatInquiries.find(
    { status: "taken" },
    { projection: { rid: 1 } },
  );
  const midTake = await deps.db.rooms.countDocuments({
    _id: { $in: taken.map((i) => i.rid) },
    open: true,
    servedBy: { $exists: false },
  });
  if (midTake === 0) await recountOpenChats(deps);
}

/** Reads a queue's waiting inquiries from the store, first come first. */
export async function loadQueueState(deps: CommandDeps, key: string): Promise<QueueState> {
  const { db } = deps;
  // An inquiry marked taken whose room nobody serves was interrupted mid-take (a crash
  // between the two writes): it waits again.
  const taken = await db.livechatInquiries.find({ status: "taken", ...departmentFilter(key) });
  for (const inquiry of taken) {
    const room = await db.rooms.findOne({ _id: inquiry.rid }, { projection: { servedBy: 1 } });
    if (room && !room.servedBy) {
      await db.livechatInquiries.updateOne(
        { _id: inquiry._id, status: "taken" },
        { $set: { status: "queued" } },
      );
    }
  }
  await recountUnlessTaking(deps);
  const queued = await db.livechatInquiries.find(
    { status: "queued", ...departmentFilter(key) },
    { sort: { queuedAt: 1 }, projection: { _id: 1, rid: 1, queuedAt: 1 } },
  );
  return {
    key,
    waiting: queued.map(({ _id, rid, queuedAt }) => ({ _id, rid, queuedAt })),
    told: new Map(),
  };
}

/** Tells observing agents about a change of `inquiry` (on the queue observer stream). */
export function observe(
  deps: CommandDeps,
  inquiry: LivechatInquiry,
  type: "added" | "removed" | "changed",
) {
  const event = { ...inquiry, type };
  deps.hub.emit("stream-livechat-inquiry-queue-observer", "public", [event]);
  if (inquiry.department) {
    deps.hub.emit("stream-livechat-inquiry-queue-observer", `department/${inquiry.department}`, [
      event,
    ]);
  }
  const clientAction = type === "added" ? "inserted" : type === "removed" ? "removed" : "updated";
  deps.hub.emit("stream-livechat-inquiry-queue-observer", inquiry._id, [
    { _id: inquiry._id, clientAction },
  ]);
}

/** Tells each waiting visitor whose position changed their new position. */
function tellPositions(deps: CommandDeps, state: QueueState): QueueState {
  const told = new Map<string, number>();
  state.waiting.forEach((w, index) => {
    const position = index + 1;
    told.set(w._id, position);
    if (state.told.get(w._id) === position) return;
    // Rocket.Chat's shape, which the widget shows: its place (`spot`, from 1) and the
    // queue's message, whose text (an enterprise setting) it leaves out.
    deps.hub.emit("stream-livechat-room", w.rid, [
      {
        type: "queueData",
        data: { spot: position, message: { user: { _id: "rocket.cat", username: "rocket.cat" } } },
      },
    ]);
  });
  return { ...state, told };
}

function without(state: QueueState, inquiryId: string): QueueState {
  return { ...state, waiting: state.waiting.filter((w) => w._id !== inquiryId) };
}

/**
 * Serves `inquiry` by `agent`: counts the conversation on the agent (refused past
 * `limit`, or past the limit of its department `place`), marks the inquiry taken if it is
 * still queued, and has the room's actor subscribe the agent. Resolves to the taken
 * inquiry, or to why it was not.
 */
async function serve(
  deps: CommandDeps,
  inquiry: LivechatInquiry,
  agent: User,
  limit: number,
  place: DepartmentPlace | undefined,
): Promise<LivechatInquiry | "full" | "gone"> {
  const { db } = deps;
  if (!(await reserveAgent(deps, agent._id, limit, place))) return "full";
  const now = deps.clock.now();
  const taken = await db.livechatInquiries.findOneAndUpdate(
    { _id: inquiry._id, status: "queued" },
    { $set: { status: "taken", takenAt: now, _updatedAt: now }, $unset: { defaultAgent: "" } },
  );
  if (!taken) {
    await releaseAgent(deps, agent._id, place?.id);
    return "gone";
  }
  try {
    await deps.rooms.execute(taken.rid, { kind: "livechat.serve", agent });
  } catch (error) {
    await releaseAgent(deps, agent._id, place?.id);
    if (error instanceof ClientError) {
      await settleUnserved(deps, taken);
      return "gone";
    }
    await db.livechatInquiries.updateOne({ _id: taken._id }, { $set: { status: "queued" } });
    throw error;
  }
  await db.users.updateOne({ _id: agent._id }, { $set: { lastRoutingTime: now } });
  observe(deps, taken, "removed");
  return taken;
}

/**
 * After the room of `taken` refused to be served: a closed conversation's inquiry is
 * dropped; one that someone else serves already keeps it taken; one that still waits for
 * an agent gets it back, queued, so that no open conversation is ever left without one.
 */
async function settleUnserved(deps: CommandDeps, taken: LivechatInquiry): Promise<void> {
  const { db } = deps;
  const room = await db.rooms.findOne({ _id: taken.rid }, { projection: { open: 1, servedBy: 1 } });
  if (room?.open && !room.servedBy) {
    await db.livechatInquiries.updateOne({ _id: taken._id }, { $set: { status: "queued" } });
    return;
  }
  if (!room?.open) await db.livechatInquiries.deleteOne({ _id: taken._id });
  observe(deps, taken, "removed");
}

/** Where a conversation of queue `key` counts on its agent: its department, if any, and its limit. */
function placeOf(key: string, limit: number): DepartmentPlace | undefined {
  return key === DEFAULT_QUEUE ? undefined : { id: key, limit };
}

/** The department's limit of open conversations per agent (0: none) and its agents' ids. */
async function departmentOf(deps: CommandDeps, key: string) {
  if (key === DEFAULT_QUEUE) return { limit: 0, agentIds: undefined };
  const [department, members] = await Promise.all([
    deps.db.livechatDepartments.findOne({ _id: key }),
    deps.db.livechatDepartmentAgents.find({ departmentId: key }, { projection: { agentId: 1 } }),
  ]);
  const limit = Number(department?.maxNumberSimultaneousChat ?? 0);
  return {
    limit: Number.isInteger(limit) && limit > 0 ? limit : 0,
    agentIds: members.map((m) => m.agentId),
  };
}

/** An agent the routing pass may give conversations to, with what it has so far. */
interface Candidate {
  readonly agent: User;
  readonly limit: number;
  open: number;
  inDepartment: number;
  lastRouted: number;
  /** Refused a conversation during this pass (another queue or process filled them). */
  full: boolean;
}

async function candidatesOf(
  deps: CommandDeps,
  key: string,
): Promise<{ list: Candidate[]; departmentLimit: number }> {
  const { limit: departmentLimit, agentIds } = await departmentOf(deps, key);
  const filter = { ...routableFilter(deps.settings), ...(agentIds && { _id: { $in: agentIds } }) };
  const agents = await deps.db.users.find(filter);
  const list: Candidate[] = [];
  for (const agent of agents) {
    const inDepartment =
      departmentLimit > 0
        ? await deps.db.rooms.countDocuments({
            t: "l",
            open: true,
            "servedBy._id": agent._id,
            departmentId: key,
          })
        : 0;
    list.push({
      agent,
      limit: agentLimit(deps.settings, agent),
      open: openChatsOf(agent),
      inDepartment,
      lastRouted: agent.lastRoutingTime instanceof Date ? agent.lastRoutingTime.getTime() : 0,
      full: false,
    });
  }
  return { list, departmentLimit };
}

function hasRoom(c: Candidate, departmentLimit: number): boolean {
  return (
    !c.full &&
    (c.limit === 0 || c.open < c.limit) &&
    (departmentLimit === 0 || c.inDepartment < departmentLimit)
  );
}

/** The candidate the routing method picks, among those with room for one more. */
function pick(
  method: string,
  list: readonly Candidate[],
  departmentLimit: number,
  preferred?: string,
) {
  const free = list.filter((c) => hasRoom(c, departmentLimit));
  const chosen = free.find((c) => c.agent._id === preferred);
  if (chosen) return chosen;
  const byName = (a: Candidate, b: Candidate) => a.agent.username.localeCompare(b.agent.username);
  const order =
    method === "Load_Balancing"
      ? (a: Candidate, b: Candidate) => a.open - b.open || byName(a, b)
      : (a: Candidate, b: Candidate) =>
          a.lastRouted - b.lastRouted || a.open - b.open || byName(a, b);
  return [...free].sort(order)[0];
}

/**
 * The agent the routing method would give queue `key`'s next conversation to now, without
 * giving it; undefined under Manual_Selection or when no agent has room for one more.
 */
export async function nextAgent(deps: CommandDeps, key: string): Promise<User | undefined> {
  const method = deps.settings.get<string>("Livechat_Routing_Method") ?? "Auto_Selection";
  if (method === "Manual_Selection") return undefined;
  const { list, departmentLimit } = await candidatesOf(deps, key);
  return pick(method, list, departmentLimit)?.agent;
}

/** Routes what waits, first come first, while agents have room. Resolves how many were served. */
async function route(
  deps: CommandDeps,
  state: QueueState,
): Promise<{ state: QueueState; served: number }> {
  const method = deps.settings.get<string>("Livechat_Routing_Method") ?? "Auto_Selection";
  if (method === "Manual_Selection" || state.waiting.length === 0) return { state, served: 0 };
  const { list, departmentLimit } = await candidatesOf(deps, state.key);
  let next = state;
  let served = 0;
  for (const waiting of state.waiting) {
    if (!list.some((c) => hasRoom(c, departmentLimit))) break;
    const inquiry = await deps.db.livechatInquiries.findOne({ _id: waiting._id });
    // Taken meanwhile, or moved to another department's queue.
    if (
      !inquiry ||
      inquiry.status !== "queued" ||
      (inquiry.department ?? DEFAULT_QUEUE) !== state.key
    ) {
      next = without(next, waiting._id);
      continue;
    }
    const candidate = pick(method, list, departmentLimit, inquiry.defaultAgent?.agentId);
    if (!candidate) continue;
    const place = placeOf(state.key, departmentLimit);
    const outcome = await serve(deps, inquiry, candidate.agent, candidate.limit, place);
    if (outcome === "full") {
      // Another queue gave this agent a conversation meanwhile: count them full here.
      candidate.full = true;
      continue;
    }
    next = without(next, waiting._id);
    if (outcome === "gone") continue;
    candidate.open += 1;
    candidate.inDepartment += 1;
    candidate.lastRouted = deps.clock.now().getTime() + served;
    served += 1;
  }
  return { state: next, served };
}

async function enqueue(deps: CommandDeps, state: QueueState, inquiryId: string) {
  const inquiry = await deps.db.livechatInquiries.findOne({ _id: inquiryId });
  if (!inquiry || inquiry.status !== "queued") return { state, reply: inquiry };
  const waiting = [
    ...state.waiting.filter((w) => w._id !== inquiry._id),
    { _id: inquiry._id, rid: inquiry.rid, queuedAt: inquiry.queuedAt },
  ].sort((a, b) => a.queuedAt.getTime() - b.queuedAt.getTime());
  observe(deps, inquiry, "added");
  const routed = await route(deps, { ...state, waiting });
  return {
    state: routed.state,
    reply: await deps.db.livechatInquiries.findOne({ _id: inquiryId }),
  };
}

/** Rocket.Chat's refusals of `livechat:takeInquiry`, carrying the method's name. */
function takeRefusal(error: string, reason?: string): ClientError {
  return new ClientError(error, reason, { details: { method: "livechat:takeInquiry" } });
}

/** Rocket.Chat's refusal of an inquiry someone took first. */
export function inquiryTaken(): ClientError {
  return takeRefusal("error-inquiry-taken", "Inquiry already taken");
}

async function take(deps: CommandDeps, state: QueueState, inquiryId: string, agent: User) {
  const inquiry = await deps.db.livechatInquiries.findOne({ _id: inquiryId });
  if (!inquiry) throw takeRefusal("error-not-found", "Inquiry not found");
  if (inquiry.status !== "queued") throw inquiryTaken();
  const acceptsAnyone = deps.settings.get<boolean>("Livechat_accept_chats_with_no_agents") === true;
  if (!isRoutable(deps.settings, agent) && !(acceptsAnyone && isAgent(agent))) {
    throw takeRefusal(
      "error-agent-status-service-offline",
      "Agent status is offline or Omnichannel service is not active",
    );
  }
  const { limit: departmentLimit } = await departmentOf(deps, state.key);
  const place = placeOf(state.key, departmentLimit);
  const outcome = await serve(deps, inquiry, agent, agentLimit(deps.settings, agent), place);
  // Rocket.Chat rethrows what stops a take as a Meteor.Error of that code alone.
  if (outcome === "full") throw new ClientError("error-max-number-simultaneous-chats-reached");
  if (outcome === "gone") throw inquiryTaken();
  return { state: without(state, inquiryId), reply: outcome };
}

async function remove(deps: CommandDeps, state: QueueState, rid: string) {
  const inquiry = await deps.db.livechatInquiries.findOne({ rid });
  if (!inquiry) return { state: state, reply: 0 };
  await deps.db.livechatInquiries.deleteOne({ _id: inquiry._id });
  if (inquiry.status === "queued") observe(deps, inquiry, "removed");
  return { state: without(state, inquiry._id), reply: 1 };
}

function forget(state: QueueState, inquiryId: string) {
  const waiting = state.waiting.some((w) => w._id === inquiryId);
  return { state: without(state, inquiryId), reply: waiting ? 1 : 0 };
}

async function agentGone(deps: CommandDeps, state: QueueState, agentId: string) {
  const { modifiedCount } = await deps.db.livechatInquiries.updateMany(
    { status: "queued", "defaultAgent.agentId": agentId, ...departmentFilter(state.key) },
    { $unset: { defaultAgent: "" } },
  );
  const routed = await route(deps, state);
  return { state: routed.state, reply: modifiedCount };
}

/** Runs one queue command; resolves to the queue's new state and the caller's answer. */
export async function executeQueueCommand(
  deps: CommandDeps,
  state: QueueState,
  command: QueueCommand,
): Promise<{ state: QueueState; reply: unknown }> {
  let result: { state: QueueState; reply: unknown };
  switch (command.kind) {
    case "enqueue":
      result = await enqueue(deps, state, command.inquiryId);
      break;
    case "take":
      result = await take(deps, state, command.inquiryId, command.agent);
      break;
    case "route": {
      const routed = await route(deps, state);
      result = { state: routed.state, reply: routed.served };
      break;
    }
    case "remove":
      result = await remove(deps, state, command.rid);
      break;
    case "forget":
      result = forget(state, command.inquiryId);
      break;
    case "agentGone":
      result = await agentGone(deps, state, command.agentId);
      break;
  }
  return { state: tellPositions(deps, result.state), reply: result.reply };
}
