/**
 * The DDP methods Parley serves, by name. DDP sessions and REST's `method.call` tunnel
 * both run them through `callMethod`, so a method behaves the same on either transport.
 */
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Message } from "../core/models.ts";
import { passwordDigest } from "../core/password.ts";
import type { LoginResult } from "./accounts.ts";
import { HISTORY_METHODS } from "./history-methods.ts";
import { LIVECHAT_METHODS } from "./livechat-methods.ts";
import type { Services } from "./index.ts";
import {
  matchFailed,
  type MethodCaller,
  obj,
  optionalDate,
  optionalStr,
  str,
  type MethodDef,
  invalidUser,
  open,
  signedIn,
} from "./method-params.ts";
import { notifyEphemeral } from "./mentions.ts";
import { resetPassword, sendForgotPasswordEmail } from "./password-reset.ts";
import { MESSAGE_METHODS } from "./message-methods.ts";
import type { MessageDraft } from "./room-commands.ts";
import { DISCOVER_METHODS } from "./discover-methods.ts";
import { PERMISSION_METHODS } from "./permissions.ts";
import { PRESENCE_METHODS } from "./presence-methods.ts";
import { CUSTOM_STATUS_METHODS } from "./custom-user-status.ts";
import { ROLE_METHODS } from "./roles.ts";
import { ROOM_METHODS } from "./room-methods.ts";
import { privateSettingsForDdp, publicSettingsForDdp } from "./setting-changes.ts";
import { ROOM_SETTINGS_METHODS } from "./room-settings-methods.ts";
import { THREAD_METHODS } from "./thread-methods.ts";
import { SESSION_METHODS } from "./session-methods.ts";
import { TWO_FACTOR_METHODS } from "./two-factor-methods.ts";
import { roomView } from "./rooms.ts";
import { type Credentials, signIn } from "./sign-in.ts";
import { SUBSCRIPTION_METHODS } from "./subscription-methods.ts";

export type { MethodCaller } from "./method-params.ts";

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

/** The DDP answer to a successful login. */
export function loginAnswer(result: LoginResult, type: "resume" | "password") {
  return { id: result.user._id, token: result.token, tokenExpires: result.tokenExpires, type };
}

/** The credentials in DDP `login` parameters: a resume token, or a user with a password. */
async function credentialsOf(params: unknown, code?: string): Promise<Credentials> {
  const p = obj(params);
  if (p.totp !== undefined) {
    // Rocket.Chat's TOTP wrapper: `{totp: {login: <credentials>, code}}`.
    const totp = obj(p.totp);
    return credentialsOf(totp.login, str(totp.code));
  }
  if (typeof p.resume === "string") return { kind: "resume", token: p.resume };
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
  if (typeof password === "string") {
    return { kind: "password", selector, digest: await passwordDigest(password), code };
  }
  const hashed = obj(password);
  if (hashed.algorithm !== undefined && hashed.algorithm !== "sha-256") throw matchFailed();
  return { kind: "password", selector, digest: str(hashed.digest).toLowerCase(), code };
}

/**
 * Logs in from DDP `login` parameters (a resume token, a user with a password, or either
 * inside Rocket.Chat's `totp` wrapper with a code) for a client at `address`; see signIn.
 */
export async function login(
  services: Services,
  params: unknown,
  address: string,
): Promise<{ result: LoginResult; type: "resume" | "password" }> {
  const credentials = await credentialsOf(params);
  return { result: await signIn(services, credentials, address), type: credentials.kind };
}

/**
 * The methods that log their caller in, as Meteor's login methods do: `login`, and
 * `resetPassword` (the new password logs the caller in).
 */
export const LOGIN_METHODS: ReadonlySet<string> = new Set(["login", "resetPassword"]);

/** Runs login method `name` (one of LOGIN_METHODS) for a client at `address`. */
export async function runLoginMethod(
  services: Services,
  name: string,
  params: readonly unknown[],
  address: string,
): Promise<{ result: LoginResult; type: "resume" | "password" }> {
  if (name === "resetPassword") {
    return { result: await resetPassword(services, params[0], params[1]), type: "password" };
  }
  return login(services, params[0], address);
}

/**
 * Documents as `view` shows them: all of them, or, when a date is given, Rocket.Chat's
 * `{update, remove}` answer with those changed since. Deletions are not tracked, so
 * `remove` is always empty (Limitation: a client syncing from a date does not learn of
 * rooms it left; it must reload the full list to drop them).
 */
function sync<T extends { _updatedAt: Date }, V>(
  docs: T[],
  since: Date | undefined,
  view: (doc: T) => V,
) {
  return since
    ? { update: docs.filter((d) => d._updatedAt > since).map(view), remove: [] }
    : docs.map(view);
}

/**
 * The first unread message and how many unread ones the page did not load, when the
 * reader's last-seen time `ls` is older than the oldest message of the page.
 */
async function unreadBeyond(services: Services, rid: string, page: Message[], ls: Date) {
  const oldest = page.at(-1);
  if (!oldest || oldest.ts <= ls) return { unreadNotLoaded: 0 };
  const filter = { rid, _hidden: { $ne: true }, ts: { $gt: ls, $lt: oldest.ts } };
  const [firstUnread] = await services.deps.db.messages.find(filter, { sort: { ts: 1 }, limit: 1 });
  const unreadNotLoaded = await services.deps.db.messages.countDocuments(filter);
  return { ...(firstUnread && { firstUnread }), unreadNotLoaded };
}

/** The most messages one `loadHistory` call answers. */
const HISTORY_CAP = 1000;

const METHODS: Record<string, MethodDef> = {
  ...ROOM_METHODS,
  ...ROOM_SETTINGS_METHODS,
  ...MESSAGE_METHODS,
  ...DISCOVER_METHODS,
  ...THREAD_METHODS,
  ...HISTORY_METHODS,
  ...SUBSCRIPTION_METHODS,
  ...PERMISSION_METHODS,
  ...ROLE_METHODS,
  ...TWO_FACTOR_METHODS,
  ...SESSION_METHODS,
  ...PRESENCE_METHODS,
  ...CUSTOM_STATUS_METHODS,
  ...LIVECHAT_METHODS,
  login: open(async (services, caller, params) => {
    const { result, type } = await runLoginMethod(services, "login", params, caller.address ?? "");
    return loginAnswer(result, type);
  }),
  resetPassword: open(async (services, caller, params) => {
    const address = caller.address ?? "";
    const { result, type } = await runLoginMethod(services, "resetPassword", params, address);
    return loginAnswer(result, type);
  }),
  sendForgotPasswordEmail: open((services, _caller, [to]) =>
    sendForgotPasswordEmail(services, str(to)),
  ),
  sendMessage: signedIn(async (services, caller, [message]) => {
    const user = caller.user;
    const m = obj(message);
    const rid = str(m.rid);
    const draft: MessageDraft = {
      ...(m._id !== undefined && { _id: str(m._id) }),
      msg: optionalStr(m.msg) ?? "",
      ...(m.tmid !== undefined && { tmid: str(m.tmid) }),
      ...(m.tshow === true && { tshow: true }),
      ...(m.alias !== undefined && { alias: str(m.alias) }),
      ...(m.emoji !== undefined && { emoji: str(m.emoji) }),
      ...(m.avatar !== undefined && { avatar: str(m.avatar) }),
    };
    if (!(await services.rooms.byId(rid))) {
      throw new ClientError("error-invalid-room", "Invalid room", {
        details: { method: "sendMessage" },
      });
    }
    try {
      return await services.deps.rooms.execute(rid, { kind: "send", user, draft });
    } catch (error) {
      if (error instanceof ClientError)
        // Rocket.Chat also shows the refusal in the room, privately, on `<uid>/message`.
        notifyEphemeral(services.deps, user._id, rid, { msg: error.reason ?? String(error.error) });
      throw error;
    }
  }),
  updateMessage: signedIn(async (services, caller, [message]) => {
    const user = caller.user;
    const m = obj(message);
    const original = await services.messages.byId(str(m._id));
    // Rocket.Chat answers nothing for a message that does not exist.
    if (!original) return undefined;
    if (m.rid !== undefined && m.rid !== original.rid) {
      const details = { method: "updateMessage" };
      throw new ClientError("error-invalid-update-key", "Cannot update the message rid", {
        details,
      });
    }
    await services.deps.rooms.execute(original.rid, {
      kind: "update",
      user,
      msgId: original._id,
      text: str(m.msg),
    });
    return undefined;
  }),
  deleteMessage: signedIn(async (services, caller, [message]) => {
    const user = caller.user;
    const original = await services.messages.byId(str(obj(message)._id));
    if (!original) throw new ClientError("error-action-not-allowed", "Not allowed");
    await services.deps.rooms.execute(original.rid, { kind: "delete", user, msgId: original._id });
    return undefined;
  }),
  loadHistory: signedIn(
    async (services, caller, [rid, end, limit = 20, ls, showThreadMessages = true]) => {
      const room = await services.rooms.byId(str(rid));
      // Rocket.Chat answers `false`, not an error, for a room that is missing or not readable.
      if (!room || !(await services.authz.canAccessRoom(room, caller.user))) return false;
      if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0) throw matchFailed();
      const latest = optionalDate(end);
      const messages = await services.messages.history(room._id, {
        ...(latest && { latest }),
        // Rocket.Chat hands the limit to MongoDB, where 0 means no limit at all; here 0 takes
        // the cap, the nearest bounded answer, as REST's `count=0` does.
        count: limit === 0 ? HISTORY_CAP : Math.min(limit, HISTORY_CAP),
        showThreadMessages: showThreadMessages !== false,
      });
      const lastSeen = typeof ls === "string" ? new Date(ls) : optionalDate(ls);
      if (!lastSeen || Number.isNaN(lastSeen.getTime())) return { messages, unreadNotLoaded: 0 };
      return { messages, ...(await unreadBeyond(services, room._id, messages, lastSeen)) };
    },
  ),
  "subscriptions/get": open(async (services, caller, [updatedSince]) => {
    if (!caller.user) return [];
    const subs = await services.deps.db.subscriptions.find({ "u._id": caller.user._id });
    return sync(subs, optionalDate(updatedSince), (sub) => sub);
  }),
  "rooms/get": open(async (services, caller, [updatedSince]) => {
    if (!caller.user) return [];
    const rids = await services.deps.db.subscriptions.find(
      { "u._id": caller.user._id },
      { projection: { rid: 1 } },
    );
    const rooms = await services.deps.db.rooms.find({ _id: { $in: rids.map((s) => s.rid) } });
    return sync(rooms, optionalDate(updatedSince), roomView);
  }),
  "public-settings/get": open((services, _caller, [since]) =>
    publicSettingsForDdp(services, since),
  ),
  /** Every setting as stored for those who may see privileged ones; else none. */
  "private-settings/get": open((services, caller, [since]) =>
    privateSettingsForDdp(services, caller.user, since),
  ),
};

/** Whether a method of that name exists. */
export function hasMethod(name: string): boolean {
  return Object.hasOwn(METHODS, name);
}

/**
 * Runs method `name`: the one place that checks who may call a method, as its table
 * declares it. Rejects with ClientError 404 "Method '<name>' not found" for an unknown
 * method, with the method's refusal of an anonymous caller or a missing permission, and
 * with whatever ClientError the method raises.
 */
export async function callMethod(
  services: Services,
  caller: MethodCaller,
  name: string,
  params: readonly unknown[],
): Promise<unknown> {
  const method = Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
  if (!method) throw new ClientError(404, `Method '${name}' not found`);
  if (method.access === "open") return method.run(services, caller, params);
  const { user } = caller;
  if (!user) throw method.rule.refusal?.() ?? invalidUser(name);
  await services.authz.requireRule(user, method.rule);
  return method.run(services, { ...caller, user }, params);
}

/** The declared access of every method, by name: what the access tests walk. */
export function methodAccess(): Record<string, Omit<MethodDef, "run">> {
  return Object.fromEntries(
    Object.entries(METHODS).map(([name, { run: _, ...access }]) => [name, access]),
  );
}
