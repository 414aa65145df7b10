/**
 * The DDP methods Parley serves, by name. DDP sessions and REST's `method.call` tunnel
 * both run them through `callMethod`, so a method behaves the same on either transport.
 */
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Room, Subscription, User } from "../core/models.ts";
import { passwordDigest } from "../core/password.ts";
import type { LoginResult } from "./accounts.ts";
import type { Services } from "./index.ts";
import type { MessageDraft } from "./room-commands.ts";

/**
 * Meteor's error object for a DDP `result` or `nosub` frame, and for the `message` of
 * REST's `method.call` tunnel: the one builder of DDP errors. A ClientError keeps its
 * code, reason and details; anything else is logged with `log` and answered as a
 * generic internal error 500, so that no internal detail leaks.
 */
export function meteorError(error: unknown, log: Logger): Record<string, unknown> {
  if (error instanceof ClientError) {
    return {
      isClientSafe: true,
      error: error.error,
      reason: error.reason,
      message: error.message,
      errorType: "Meteor.Error",
      ...(error.details && { details: error.details }),
    };
  }
  log.error({ err: error }, "method failed");
  return {
    isClientSafe: true,
    error: 500,
    reason: "Internal server error",
    message: "Internal server error [500]",
    errorType: "Meteor.Error",
  };
}

/** Who is calling. */
export interface MethodCaller {
  readonly user: User | null;
  readonly connectionId: string;
}

type Method = (services: Services, caller: MethodCaller, params: readonly unknown[]) => Promise<unknown>;

/** Meteor's answer to parameters that fail `check()`. */
function matchFailed(): ClientError {
  return new ClientError(400, "Match failed");
}

function str(value: unknown): string {
  if (typeof value !== "string") throw matchFailed();
  return value;
}

function optionalStr(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : str(value);
}

function obj(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw matchFailed();
  return value as Record<string, unknown>;
}

function optionalDate(value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw matchFailed();
  return value;
}

function loggedIn(caller: MethodCaller, method: string): User {
  if (!caller.user) throw new ClientError("error-invalid-user", "Invalid user", { details: { method } });
  return caller.user;
}

async function roomFor(services: Services, rid: string, method: string): Promise<Room> {
  const room = await services.rooms.byId(rid);
  if (!room) throw new ClientError("error-invalid-room", "Invalid room", { details: { method } });
  return room;
}

/** The DDP answer to a successful login. */
export function loginAnswer(result: LoginResult, type: "resume" | "password") {
  return { id: result.user._id, token: result.token, tokenExpires: result.tokenExpires, type };
}

/** Logs in from DDP `login` parameters: a resume token or a user with a password. */
export async function login(services: Services, params: unknown): Promise<{ result: LoginResult; type: "resume" | "password" }> {
  const p = obj(params);
  if (typeof p.resume === "string") return { result: await services.accounts.loginWithToken(p.resume), type: "resume" };
  const who = p.user;
  const selector =
    typeof who === "string"
      ? who.includes("@")
        ? { email: who }
        : { username: who }
      : typeof obj(who).username === "string"
        ? { username: obj(who).username as string }
        : { email: str(obj(who).email) };
  const password = p.password;
  let digest: string;
  if (typeof password === "string") {
    digest = await passwordDigest(password);
  } else {
    const hashed = obj(password);
    if (hashed.algorithm !== undefined && hashed.algorithm !== "sha-256") throw matchFailed();
    digest = str(hashed.digest).toLowerCase();
  }
  return { result: await services.accounts.loginWithPassword(selector, digest), type: "password" };
}

function createRoom(type: "c" | "p"): Method {
  return async (services, caller, params) => {
    const owner = loggedIn(caller, type === "c" ? "createChannel" : "createPrivateGroup");
    const [name, members = [], readOnly = false, customFields] = params;
    if (!Array.isArray(members) || typeof readOnly !== "boolean") throw matchFailed();
    const room = await services.rooms.create({
      type,
      name: str(name),
      owner,
      members: members.map(str),
      readOnly,
      ...(customFields !== undefined && { customFields: obj(customFields) }),
    });
    return { ...room, rid: room._id };
  };
}

/** Splits documents into Rocket.Chat's `{update, remove}` sync answer when a date is given. */
function sync<T extends { _updatedAt: Date }>(docs: T[], since: Date | undefined): T[] | { update: T[]; remove: [] } {
  return since ? { update: docs.filter((d) => d._updatedAt > since), remove: [] } : docs;
}

const METHODS: Record<string, Method> = {
  async login(services, _caller, [params]) {
    const { result, type } = await login(services, params);
    return loginAnswer(result, type);
  },
  async sendMessage(services, caller, [message]) {
    const user = loggedIn(caller, "sendMessage");
    const m = obj(message);
    const rid = str(m.rid);
    const draft: MessageDraft = {
      ...(m._id !== undefined && { _id: str(m._id) }),
      msg: optionalStr(m.msg) ?? "",
      ...(m.tmid !== undefined && { tmid: str(m.tmid) }),
      ...(m.alias !== undefined && { alias: str(m.alias) }),
      ...(m.emoji !== undefined && { emoji: str(m.emoji) }),
      ...(m.avatar !== undefined && { avatar: str(m.avatar) }),
    };
    await roomFor(services, rid, "sendMessage");
    return services.deps.rooms.execute(rid, { kind: "send", user, draft });
  },
  async updateMessage(services, caller, [message]) {
    const user = loggedIn(caller, "updateMessage");
    const m = obj(message);
    const original = await services.messages.byId(str(m._id));
    if (!original || (m.rid !== undefined && m.rid !== original.rid)) {
      throw new ClientError("error-invalid-message", "Invalid message", { details: { method: "updateMessage" } });
    }
    return services.deps.rooms.execute(original.rid, { kind: "update", user, msgId: original._id, text: str(m.msg) });
  },
  async deleteMessage(services, caller, [message]) {
    const user = loggedIn(caller, "deleteMessage");
    const original = await services.messages.byId(str(obj(message)._id));
    if (!original) throw new ClientError("error-invalid-message", "Invalid message", { details: { method: "deleteMessage" } });
    await services.deps.rooms.execute(original.rid, { kind: "delete", user, msgId: original._id });
    return { _id: original._id };
  },
  async loadHistory(services, caller, [rid, end, limit = 20]) {
    const room = await roomFor(services, str(rid), "loadHistory");
    await services.messages.assertCanRead(room, caller.user);
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0) throw matchFailed();
    const latest = optionalDate(end);
    const messages = await services.messages.history(room._id, { ...(latest && { latest }), count: Math.min(limit, 1000) });
    return { messages };
  },
  async joinRoom(services, caller, [rid, joinCode]) {
    const user = loggedIn(caller, "joinRoom");
    const room = await roomFor(services, str(rid), "joinRoom");
    const code = optionalStr(joinCode);
    await services.deps.rooms.execute(room._id, { kind: "join", user, ...(code !== undefined && { joinCode: code }) });
    return true;
  },
  async leaveRoom(services, caller, [rid]) {
    const user = loggedIn(caller, "leaveRoom");
    const room = await roomFor(services, str(rid), "leaveRoom");
    await services.deps.rooms.execute(room._id, { kind: "leave", user });
    return true;
  },
  createChannel: createRoom("c"),
  createPrivateGroup: createRoom("p"),
  async createDirectMessage(services, caller, params) {
    const user = loggedIn(caller, "createDirectMessage");
    const room = await services.rooms.createDirect(user, params.map(str));
    return { ...room, rid: room._id };
  },
  async readMessages(services, caller, [rid]) {
    const user = loggedIn(caller, "readMessages");
    await services.messages.markRead(str(rid), user);
    return null;
  },
  async "subscriptions/get"(services, caller, [updatedSince]) {
    const user = loggedIn(caller, "subscriptions/get");
    const subs: Subscription[] = await services.deps.db.subscriptions.find({ "u._id": user._id });
    return sync(subs, optionalDate(updatedSince));
  },
  async "rooms/get"(services, caller, [updatedSince]) {
    const user = loggedIn(caller, "rooms/get");
    const subs = await services.deps.db.subscriptions.find({ "u._id": user._id }, { projection: { rid: 1 } });
    const rooms = await services.deps.db.rooms.find({ _id: { $in: subs.map((s) => s.rid) } });
    return sync(rooms, optionalDate(updatedSince));
  },
  async "public-settings/get"(services) {
    return services.settings.publicSettings();
  },
};

/** Whether a method of that name exists. */
export function hasMethod(name: string): boolean {
  return Object.hasOwn(METHODS, name);
}

/**
 * Runs method `name`. Throws ClientError 404 "Method '<name>' not found" for an unknown
 * method, and whatever ClientError the method raises.
 */
export function callMethod(services: Services, caller: MethodCaller, name: string, params: readonly unknown[]): Promise<unknown> {
  const method = Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
  if (!method) return Promise.reject(new ClientError(404, `Method '${name}' not found`));
  return method(services, caller, params);
}
