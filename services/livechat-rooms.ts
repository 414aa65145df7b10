/**
 * What agents and managers do to conversations besides serving them, as Rocket.Chat's
 * Omnichannel API does: join one (`livechat/room.join`), edit its visitor and its details
 * (`livechat/room.saveInfo`, `livechat:saveInfo`), list conversations with filters
 * (`livechat/rooms`), sum up who serves how many (`livechat/queue`) and name the agent a
 * visitor would be given next (`livechat/agent.next/:token`).
 */
import { ClientError } from "../core/errors.ts";
import type { OmnichannelRoom } from "../core/livechat-models.ts";
import type { User } from "../core/models.ts";
import type { Filter, Projection, Sort } from "../store/types.ts";
import { escapeRegex } from "./discovery.ts";
import { agentData } from "./livechat-commands.ts";
import { DEFAULT_QUEUE, nextAgent } from "./livechat-queue.ts";
import type { CommandDeps } from "./room-commands.ts";

/** A custom field key the store may hold as a field name. */
export const CUSTOM_FIELD_KEY = /^[A-Za-z0-9_-]{1,100}$/;

/** A refusal Rocket.Chat answers with its code alone, as `{success: false, error: code}`. */
export function plainRefusal(code: string): ClientError {
  return new ClientError(code, code, { plain: true });
}

/**
 * Whether `user` may open omnichannel room `room`, as Rocket.Chat's room access rule for
 * livechat reads: holders of `view-livechat-rooms`, the agent serving it, and, while it
 * waits in a queue, any agent of that queue (its department's, or anyone's for the
 * default queue).
 */
export async function canSeeLivechatRoom(
  deps: CommandDeps,
  room: OmnichannelRoom,
  user: User,
): Promise<boolean> {
  if (await deps.authz.can(user, "view-livechat-rooms")) return true;
  if (room.servedBy?._id === user._id) return true;
  const inquiry = await deps.db.livechatInquiries.findOne({ rid: room._id, status: "queued" });
  if (!inquiry || !(await deps.authz.can(user, "view-l-room"))) return false;
  if (!inquiry.department) return true;
  const link = await deps.db.livechatDepartmentAgents.findOne(
    { departmentId: inquiry.department, agentId: user._id },
    { projection: { _id: 1 } },
  );
  return link !== null;
}

/**
 * `user` joins omnichannel room `rid` (subscribed, with a join message). Refuses with
 * `error-invalid-room`, `room-closed` or, when they may not see it, `error-not-allowed`.
 */
export async function joinLivechatRoom(deps: CommandDeps, rid: string, user: User): Promise<void> {
  const room = await deps.db.rooms.findOne({ _id: rid });
  if (!room || room.t !== "l") throw plainRefusal("error-invalid-room");
  if (!room.open) throw plainRefusal("room-closed");
  if (!(await canSeeLivechatRoom(deps, room as OmnichannelRoom, user))) {
    throw plainRefusal("error-not-allowed");
  }
  // Access was checked above, by the livechat rule, so the generic channel check is skipped.
  await deps.rooms.execute(rid, { kind: "join", user, asDefault: true });
}

/** What `livechat/room.saveInfo` changes of the visitor. */
export interface GuestData {
  readonly _id: string;
  readonly name?: string;
  readonly email?: string;
  readonly phone?: string;
  readonly livechatData?: Readonly<Record<string, string>>;
}

/** What `livechat/room.saveInfo` changes of the conversation. */
export interface RoomData {
  readonly _id: string;
  readonly topic?: string;
  readonly tags?: readonly string[];
  readonly livechatData?: Readonly<Record<string, unknown>>;
  readonly priorityId?: string;
  readonly slaId?: string;
}

/**
 * `$set` and `$unset` for custom fields `fields` under `prefix`: a trimmed value is set,
 * an empty one removed. Keys that are not plain names (letters, digits, `_`, `-`) and
 * values that are not strings are left out, as Rocket.Chat leaves out fields it does not
 * define.
 */
function customFieldChanges(prefix: string, fields: Readonly<Record<string, unknown>>) {
  const set: Record<string, string> = {};
  const unset: string[] = [];
  for (const [key, raw] of Object.entries(fields)) {
    if (!CUSTOM_FIELD_KEY.test(key) || typeof raw !== "string") continue;
    const value = raw.trim();
    if (value) set[`${prefix}.${key}`] = value;
    else unset.push(`${prefix}.${key}`);
  }
  return { set, unset };
}

/**
 * Saves what `user` edited of omnichannel room `roomData._id` and of its visitor
 * `guestData._id`, as Rocket.Chat's `livechat/room.saveInfo`: the visitor's name, e-mail
 * and phone; the room's topic (blank removes it) and tags (none removes them); custom
 * fields of both only for holders of `edit-livechat-room-customfields`. A visitor renamed
 * renames the room for its agents. Only the agent serving the room or a holder of
 * `save-others-livechat-room-info` may: `forbidden` says whom to refuse.
 *
 * Limitation: custom fields cannot be defined (Rocket.Chat's `livechat/custom-fields`),
 * so any plainly named field is kept and none is checked against a pattern; priorities
 * and SLAs (`priorityId`, `slaId`) are not kept.
 */
export async function saveLivechatInfo(
  deps: CommandDeps,
  user: User,
  guestData: GuestData,
  roomData: RoomData,
  forbidden: () => ClientError,
): Promise<void> {
  const { db, authz } = deps;
  const room = await db.rooms.findOne({ _id: roomData._id });
  if (!room || room.t !== "l") throw plainRefusal("error-invalid-room");
  const served = (room as OmnichannelRoom).servedBy?._id === user._id;
  if (!served && !(await authz.can(user, "save-others-livechat-room-info"))) throw forbidden();
  const visitor = await db.livechatVisitors.findOne({ _id: guestData._id });
  if (!visitor) throw plainRefusal("error-invalid-visitor");
  const editsFields = await authz.can(user, "edit-livechat-room-customfields");

  const guestFields = customFieldChanges(
    "livechatData",
    editsFields ? (guestData.livechatData ?? {}) : {},
  );
  const name = guestData.name?.trim();
  const email = guestData.email?.trim();
  const phone = guestData.phone?.trim();
  await db.livechatVisitors.updateOne(
    { _id: visitor._id },
    {
      $set: {
        ...guestFields.set,
        ...(name && { name }),
        ...(email && { visitorEmails: [{ address: email }] }),
        ...(phone && { phone: [{ phoneNumber: phone }] }),
        _updatedAt: deps.clock.now(),
      },
      ...(guestFields.unset.length > 0 && {
        $unset: Object.fromEntries(guestFields.unset.map((key) => [key, ""])),
      }),
    },
  );

  const roomFields = customFieldChanges(
    "livechatData",
    editsFields ? (roomData.livechatData ?? {}) : {},
  );
  const topic = roomData.topic?.trim();
  const tags = roomData.tags?.length ? [...roomData.tags] : undefined;
  const unset = [
    ...roomFields.unset,
    ...(roomData.topic !== undefined && !topic ? ["topic"] : []),
    ...(tags ? [] : ["tags"]),
  ];
  await deps.rooms.execute(room._id, {
    kind: "livechat.saveInfo",
    set: { ...roomFields.set, ...(topic && { topic }), ...(tags && { tags }) },
    unset,
    ...(name && { name }),
  });
}

/** The filters of `livechat/rooms`, parsed. */
export interface RoomFilters {
  readonly agents?: readonly string[];
  readonly roomName?: string;
  readonly departmentId?: readonly string[];
  readonly open?: boolean;
  readonly queued?: boolean;
  readonly createdAt?: DateRange;
  readonly closedAt?: DateRange;
  readonly tags?: readonly string[];
  readonly customFields?: Readonly<Record<string, string>>;
}

/** A date range of `livechat/rooms`: either end may be open. */
export interface DateRange {
  readonly start?: Date;
  readonly end?: Date;
}

function rangeFilter(range: DateRange): Record<string, Date> {
  return {
    ...(range.start && { $gte: range.start }),
    ...(range.end && { $lte: range.end }),
  };
}

/** The store filter of `filters`, as Rocket.Chat's room search builds it. */
function roomFilter(filters: RoomFilters): Filter {
  const and: Filter[] = [];
  if (filters.agents) {
    and.push({
      $or: [
        { "servedBy._id": { $in: [...filters.agents] } },
        { "servedBy.username": { $in: [...filters.agents] } },
      ],
    });
  }
  for (const [key, value] of Object.entries(filters.customFields ?? {})) {
    and.push({ [`livechatData.${key}`]: { $regex: escapeRegex(value), $options: "i" } });
  }
  return {
    t: "l",
    ...(filters.roomName && { fname: { $regex: escapeRegex(filters.roomName), $options: "i" } }),
    ...(filters.departmentId && { departmentId: { $in: [...filters.departmentId] } }),
    ...(filters.open !== undefined && { open: { $exists: filters.open } }),
    // An open conversation is listed as open only once an agent serves it.
    ...(filters.open === true && { servedBy: { $exists: true } }),
    ...(filters.queued && { open: true, servedBy: { $exists: false } }),
    ...(filters.createdAt && { ts: rangeFilter(filters.createdAt) }),
    ...(filters.closedAt && { closedAt: rangeFilter(filters.closedAt) }),
    ...(filters.tags && { tags: { $in: [...filters.tags] } }),
    ...(and.length > 0 && { $and: and }),
  };
}

/**
 * One page of omnichannel rooms matching `filters`, newest first unless `sort` says
 * otherwise, each with its department's `_id` and `name` as `department`.
 */
export async function listLivechatRooms(
  deps: CommandDeps,
  filters: RoomFilters,
  page: { offset: number; count: number; sort?: Sort; fields?: Projection },
) {
  const { db } = deps;
  const filter = roomFilter(filters);
  const [found, total] = await Promise.all([
    db.rooms.find(filter, {
      sort: page.sort ?? { ts: -1 },
      skip: page.offset,
      limit: page.count,
      ...(page.fields && { projection: page.fields }),
    }),
    db.rooms.countDocuments(filter),
  ]);
  const departmentIds = [...new Set(found.map((r) => r.departmentId).filter(isString))];
  const departments = departmentIds.length
    ? await db.livechatDepartments.find(
        { _id: { $in: departmentIds } },
        { projection: { _id: 1, name: 1 } },
      )
    : [];
  const rooms = found.map((room) => {
    const department = departments.find((d) => d._id === room.departmentId);
    return department ? { ...room, department } : room;
  });
  return { rooms, count: rooms.length, offset: page.offset, total };
}

function isString(value: unknown): value is string {
  return typeof value === "string";
}

/** One line of `livechat/queue`: how many open conversations an agent serves in a department. */
interface QueueLine {
  readonly chats: number;
  readonly user: { _id?: string; username?: string; status?: string };
  readonly department: { _id?: string; name?: string };
}

/** The value at dotted `path` of `value`, for sorting. */
function at(value: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

/**
 * Who serves how many open conversations, per agent and department, as Rocket.Chat's
 * `livechat/queue` sums them: only agents in service (present and available) unless
 * `includeOfflineAgents`, optionally one agent's or one department's; most chats first
 * unless `sort` says otherwise.
 */
export async function queueSummary(
  deps: CommandDeps,
  options: { agentId?: string; departmentId?: string; includeOfflineAgents: boolean },
  page: { offset: number; count: number; sort?: Sort },
) {
  const { db } = deps;
  const rooms = await db.rooms.find(
    {
      t: "l",
      open: true,
      servedBy: { $exists: true },
      ...(options.departmentId && { departmentId: options.departmentId }),
    },
    { projection: { servedBy: 1, departmentId: 1 } },
  );
  const groups = new Map<string, { agentId: string; departmentId?: string; chats: number }>();
  for (const room of rooms as OmnichannelRoom[]) {
    const agentId = room.servedBy?._id as string;
    const key = JSON.stringify([agentId, room.departmentId ?? null]);
    const group = groups.get(key) ?? {
      agentId,
      ...(room.departmentId && { departmentId: room.departmentId }),
      chats: 0,
    };
    group.chats += 1;
    groups.set(key, group);
  }
  const agentIds = [...new Set([...groups.values()].map((g) => g.agentId))];
  const departmentIds = [...new Set([...groups.values()].map((g) => g.departmentId))].filter(
    isString,
  );
  const [users, departments] = await Promise.all([
    db.users.find(
      { _id: { $in: agentIds } },
      { projection: { username: 1, status: 1, statusLivechat: 1 } },
    ),
    db.livechatDepartments.find({ _id: { $in: departmentIds } }, { projection: { name: 1 } }),
  ]);
  const lines: QueueLine[] = [];
  for (const group of groups.values()) {
    const user = users.find((u) => u._id === group.agentId);
    if (options.agentId && user?._id !== options.agentId) continue;
    const inService = user?.status !== "offline" && user?.statusLivechat === "available";
    if (!options.includeOfflineAgents && (!user || !inService)) continue;
    const department = departments.find((d) => d._id === group.departmentId);
    lines.push({
      chats: group.chats,
      user: user ? { _id: user._id, username: user.username, status: user.status } : {},
      department: department ? { _id: department._id, name: department.name } : {},
    });
  }
  const sort = Object.entries(page.sort ?? { chats: -1 });
  lines.sort((a, b) => {
    for (const [path, dir] of sort) {
      const order = compare(at(a, path), at(b, path)) * dir;
      if (order !== 0) return order;
    }
    return 0;
  });
  const queue = lines.slice(page.offset, page.offset + page.count);
  return { queue, count: queue.length, offset: page.offset, total: lines.length };
}

/**
 * The first enabled department shown on the registration form that has an agent in
 * service, which Rocket.Chat assigns a visitor who chose none.
 */
async function requiredDepartment(deps: CommandDeps): Promise<string | undefined> {
  const departments = await deps.db.livechatDepartments.find(
    { enabled: true, showOnRegistration: true, numAgents: { $gt: 0 } },
    { projection: { _id: 1 } },
  );
  for (const department of departments) {
    if (await nextAgent(deps, department._id)) return department._id;
  }
  return undefined;
}

/**
 * The agent the visitor of `token` would be given next, as `livechat/agent.next/:token`
 * shows them: nothing when the visitor already has an open conversation; else the agent
 * the routing method picks in `department` (or the department Rocket.Chat would assign);
 * `agent-not-found` when none would be, as under Manual_Selection.
 */
export async function nextAgentFor(
  deps: CommandDeps,
  token: string,
  department?: string,
): Promise<Record<string, unknown> | undefined> {
  const open = await deps.db.rooms.findOne(
    { t: "l", "v.token": token, open: true },
    { projection: { _id: 1 } },
  );
  if (open) return undefined;
  const key = department || (await requiredDepartment(deps)) || DEFAULT_QUEUE;
  const agent = await nextAgent(deps, key);
  if (!agent) throw plainRefusal("agent-not-found");
  if (deps.settings.get<boolean>("Livechat_show_agent_info") === false) return { hiddenInfo: true };
  return agentData(deps, agent);
}
