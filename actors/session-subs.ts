/**
 * A session's stream subscriptions. Opening and closing them, and what a signal about a
 * user does to them, are pure functions from one SessionData to the next; `applyChange`
 * is the one place that moves the socket from the old data to the new: its topics, the
 * `ready` and `nosub` answers, and which users' signals reach it. A topic two
 * subscriptions share stays until neither needs it.
 */
import { stringifyEJSON } from "../core/ejson.ts";
import { ClientError } from "../core/errors.ts";
import { myMessagesTopic, type SessionSignal, topicOf, USER_PRESENCE } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import { meteorError } from "../services/methods.ts";
import { authorizeListen, isMyMessages, isPublicStream, roomOfEvent } from "../services/streams.ts";
import type {
  DdpMessage,
  SessionData,
  SessionOutcome,
  SessionSub,
  SessionTransport,
} from "./session.ts";

type Subs = Record<string, SessionSub>;

/** The frame that answers a message the session cannot use, as Meteor does; the socket stays open. */
export function badRequest(message: unknown, reason = "Bad request"): string {
  return JSON.stringify({ msg: "error", reason, offendingMessage: message });
}

function topicsOf(data: SessionData): Set<string> {
  return new Set(Object.values(data.subs).flatMap((sub) => sub.topics));
}

/** The users whose signals `data` depends on: its login and the owners of its subscriptions. */
function usersOf(data: SessionData): Set<string> {
  const users = new Set<string>();
  if (data.userId) users.add(data.userId);
  for (const sub of Object.values(data.subs)) if (sub.userId) users.add(sub.userId);
  return users;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

/**
 * Moves the socket from `before` to `after`: subscribes the topics `after` adds, sends
 * `ready` for its new subscriptions and `nosub` for those it ends, unsubscribes topics no
 * longer needed, and routes the signals of `after`'s users to this session. `requested`
 * names subscriptions the client asked for that `after` may not hold (refused after they
 * were authorized): they too are answered with `nosub`.
 */
export function applyChange(
  transport: SessionTransport,
  before: SessionData,
  after: SessionData,
  requested: readonly string[] = [],
): void {
  const had = topicsOf(before);
  const has = topicsOf(after);
  for (const topic of has) if (!had.has(topic)) transport.subscribe(topic);
  const users = usersOf(after);
  if (!sameSet(usersOf(before), users)) transport.listenAs([...users]);

  const ready = Object.keys(after.subs).filter((id) => !(id in before.subs));
  if (ready.length > 0) transport.send(JSON.stringify({ msg: "ready", subs: ready }));
  const ended = new Set(Object.keys(before.subs).filter((id) => !(id in after.subs)));
  for (const id of requested) if (!(id in after.subs) && !(id in before.subs)) ended.add(id);
  for (const id of ended) transport.send(JSON.stringify({ msg: "nosub", id }));

  for (const topic of had) if (!has.has(topic)) transport.unsubscribe(topic);
}

/**
 * Routes the signals about user `uid` to the session as well as those `data` depends on,
 * for a login that is not applied yet; `applyChange` settles the routing once it is.
 */
export function listenAlso(transport: SessionTransport, data: SessionData, uid: string): void {
  const users = usersOf(data);
  if (!users.has(uid)) transport.listenAs([...users, uid]);
}

/** Routes to the session the signals about the users `data` depends on, and only those. */
export function listenFor(transport: SessionTransport, data: SessionData): void {
  transport.listenAs([...usersOf(data)]);
}

/** Unsubscribes every topic of `data`, for a session that is closing. */
export function dropTopics(transport: SessionTransport, data: SessionData): void {
  for (const topic of topicsOf(data)) transport.unsubscribe(topic);
}

/**
 * Authorizes subscription `message` (`{msg:"sub", id, name, params:[eventName, options]}`)
 * for `user`: the data with it added when the stream's read rule passes (it becomes
 * `ready` when the session applies the data), a `nosub` with a Meteor error when not. An
 * id that is already open is ignored, as Meteor does.
 */
export async function openSub(
  services: Services,
  data: SessionData,
  user: User | null,
  message: DdpMessage,
  log: Logger,
): Promise<SessionOutcome> {
  const { id, name, params = [] } = message;
  if (typeof id !== "string" || typeof name !== "string" || !Array.isArray(params))
    return { data, frames: [badRequest(message)] };
  if (Object.hasOwn(data.subs, id)) return { data, frames: [] };
  try {
    if (name === USER_PRESENCE) return openPresenceSub(data, user, id, params);
    const eventName = params[0];
    const topics = await authorizeListen(services, user, name, eventName, params[1]);
    const userId = isPublicStream(name) ? null : (user?._id ?? null);
    const sub: SessionSub = { name, eventName: eventName as string, topics, userId };
    return { data: { ...data, subs: { ...data.subs, [id]: sub } }, frames: [] };
  } catch (error) {
    const nosub = stringifyEJSON({ msg: "nosub", id, error: meteorError(error, log) });
    return { data, frames: [nosub] };
  }
}

/** The user ids in `value` when it is a list; non-strings are ignored. */
function idList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/**
 * The users a `stream-user-presence` subscription adds and removes. Rocket.Chat's web client
 * sends `{added, removed}` as the options; `@rocket.chat/ddp-client` streams wrap extra
 * arguments as `{args: [...]}`; a non-empty event name is one more user to watch.
 */
function presenceChange(eventName: string, options: unknown) {
  const given = (options ?? {}) as { added?: unknown; removed?: unknown; args?: unknown };
  const wrapped = (Array.isArray(given.args) ? (given.args[0] ?? {}) : {}) as typeof given;
  const added = [...idList(given.added), ...idList(wrapped.added)];
  if (eventName !== "") added.push(eventName);
  const removed = new Set([...idList(given.removed), ...idList(wrapped.removed)]);
  return {
    added: added.filter((uid) => !removed.has(uid)).map((uid) => topicOf(USER_PRESENCE, uid)),
    removed: new Set([...removed].map((uid) => topicOf(USER_PRESENCE, uid))),
  };
}

/**
 * Opens `stream-user-presence` subscription `id`: the session listens to the presence
 * topic of each user it names, so a status change reaches only the connections watching
 * that user. As in Rocket.Chat, the first subscription with an empty event name is the
 * connection's main one; later ones with an empty name only add users to it and remove
 * users from it, and are answered with `nosub` at once. Logged-in users only.
 */
function openPresenceSub(
  data: SessionData,
  user: User | null,
  id: string,
  params: readonly unknown[],
): SessionOutcome {
  const [eventName, options] = params;
  if (!user || typeof eventName !== "string") {
    throw new ClientError("not-allowed", "Not allowed");
  }
  const { added, removed } = presenceChange(eventName, options);
  const main =
    eventName === ""
      ? Object.entries(data.subs).find(
          ([, sub]) => sub.name === USER_PRESENCE && sub.eventName === "",
        )
      : undefined;
  if (main) {
    const [mainId, sub] = main;
    const topics = [...new Set([...sub.topics, ...added])].filter((t) => !removed.has(t));
    return {
      data: { ...data, subs: { ...data.subs, [mainId]: { ...sub, topics } } },
      frames: [JSON.stringify({ msg: "nosub", id })],
    };
  }
  const sub: SessionSub = {
    name: USER_PRESENCE,
    eventName,
    topics: [...new Set(added)],
    userId: user._id,
  };
  return { data: { ...data, subs: { ...data.subs, [id]: sub } }, frames: [] };
}

/** Closes subscription `id` at the client's request; `nosub` answers even an unknown id. */
export function closeSub(data: SessionData, id: unknown): SessionOutcome {
  if (typeof id !== "string") return { data, frames: [badRequest({ msg: "unsub", id })] };
  if (!Object.hasOwn(data.subs, id))
    return { data, frames: [JSON.stringify({ msg: "nosub", id })] };
  const { [id]: _closed, ...subs } = data.subs;
  return { data: { ...data, subs }, frames: [] };
}

function keepSubs(data: SessionData, keep: (sub: SessionSub) => boolean): SessionData {
  const subs: Subs = {};
  for (const [id, sub] of Object.entries(data.subs)) if (keep(sub)) subs[id] = sub;
  return { ...data, subs };
}

function mapSubs(data: SessionData, change: (sub: SessionSub) => SessionSub): SessionData {
  const subs: Subs = {};
  for (const [id, sub] of Object.entries(data.subs)) subs[id] = change(sub);
  return { ...data, subs };
}

/** `data` without the subscriptions that need a logged-in user, for a logout or a change of user. */
export function withoutPrivateSubs(data: SessionData): SessionData {
  return keepSubs(data, (sub) => isPublicStream(sub.name));
}

/**
 * Whether `signal` about user `uid` logs out the session with `data`: it is about the
 * session's user and names the session's token, or no token (the user was deactivated).
 */
export function logsOut(data: SessionData, uid: string, signal: SessionSignal): boolean {
  return (
    signal.type === "logged-out" &&
    data.userId === uid &&
    (!signal.hashedToken || signal.hashedToken === data.hashedToken)
  );
}

/**
 * The session's data after `signal` about user `uid`. Only subscriptions authorized for
 * `uid` change, whichever user the session is logged in as now. A grant adds room `rid` to
 * the `__my_messages__` feeds; a revocation ends the subscriptions to `rid` and drops it
 * from the feeds. A logout is the caller's to act on (see `logsOut`); it changes nothing here.
 */
export function afterSignal(data: SessionData, uid: string, signal: SessionSignal): SessionData {
  if (signal.type === "logged-out") return data;
  const topic = myMessagesTopic(signal.rid);
  const owned = (sub: SessionSub) => sub.userId === uid;
  if (signal.type === "room-access-granted") {
    return mapSubs(data, (sub) =>
      owned(sub) && isMyMessages(sub.name, sub.eventName) && !sub.topics.includes(topic)
        ? { ...sub, topics: [...sub.topics, topic] }
        : sub,
    );
  }
  const kept = keepSubs(
    data,
    (sub) => !owned(sub) || roomOfEvent(sub.name, sub.eventName) !== signal.rid,
  );
  return mapSubs(kept, (sub) =>
    owned(sub) && sub.topics.includes(topic)
      ? { ...sub, topics: sub.topics.filter((t) => t !== topic) }
      : sub,
  );
}
