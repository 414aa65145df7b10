/**
 * A session's stream subscriptions: opening and closing them, and keeping the socket's
 * topics in step when the user joins or loses a room or logs out. Every change computes
 * the session's new subscriptions first and then moves the socket from the old set of
 * topics to the new one, so a topic two subscriptions share stays until neither needs it.
 */
import { stringifyEJSON } from "../core/ejson.ts";
import { myMessagesTopic } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import type { Services } from "../services/index.ts";
import { meteorError } from "../services/methods.ts";
import { authorizeListen, isMyMessages, isPublicStream, roomOfEvent } from "../services/streams.ts";
import type { DdpMessage, SessionData, SessionSub, SessionTransport } from "./session.ts";

type Subs = Record<string, SessionSub>;

/** Answers a frame the session cannot use, as Meteor does, without closing the socket. */
export function badRequest(
  transport: SessionTransport,
  message: unknown,
  reason = "Bad request",
): void {
  transport.send(JSON.stringify({ msg: "error", reason, offendingMessage: message }));
}

function topicsOf(subs: Readonly<Subs>): Set<string> {
  return new Set(Object.values(subs).flatMap((sub) => sub.topics));
}

/** Moves the socket from the topics of `before` to those of `subs`; returns the new data. */
function withSubs(
  transport: SessionTransport,
  before: SessionData,
  subs: Readonly<Subs>,
): SessionData {
  const had = topicsOf(before.subs);
  const has = topicsOf(subs);
  for (const topic of has) if (!had.has(topic)) transport.subscribe(topic);
  for (const topic of had) if (!has.has(topic)) transport.unsubscribe(topic);
  return { ...before, subs };
}

/** Ends the subscriptions that `keep` rejects, telling the client with `nosub`. */
function endSubs(
  transport: SessionTransport,
  data: SessionData,
  keep: (sub: SessionSub) => boolean,
): SessionData {
  const subs: Subs = {};
  for (const [id, sub] of Object.entries(data.subs)) {
    if (keep(sub)) subs[id] = sub;
    else transport.send(JSON.stringify({ msg: "nosub", id }));
  }
  return withSubs(transport, data, subs);
}

/**
 * Opens subscription `message` (`{msg:"sub", id, name, params:[eventName, options]}`) for
 * `user`: `ready` when the stream's read rule passes, `nosub` with a Meteor error when not.
 */
export async function openSub(
  services: Services,
  transport: SessionTransport,
  data: SessionData,
  user: User | null,
  message: DdpMessage,
  log: Logger,
): Promise<SessionData> {
  const { id, name, params = [] } = message;
  if (typeof id !== "string" || typeof name !== "string" || !Array.isArray(params)) {
    badRequest(transport, message);
    return data;
  }
  try {
    const eventName = params[0];
    const topics = await authorizeListen(services, user, name, eventName);
    const next = withSubs(transport, data, {
      ...data.subs,
      [id]: { name, eventName: eventName as string, topics },
    });
    transport.send(JSON.stringify({ msg: "ready", subs: [id] }));
    return next;
  } catch (error) {
    transport.send(stringifyEJSON({ msg: "nosub", id, error: meteorError(error, log) }));
    return data;
  }
}

/** Closes subscription `id` at the client's request; `nosub` answers even an unknown id. */
export function closeSub(transport: SessionTransport, data: SessionData, id: unknown): SessionData {
  if (typeof id !== "string") {
    badRequest(transport, { msg: "unsub", id });
    return data;
  }
  const { [id]: _closed, ...subs } = data.subs;
  transport.send(JSON.stringify({ msg: "nosub", id }));
  return withSubs(transport, data, subs);
}

/** The user joined room `rid`: every `__my_messages__` feed of the session starts carrying it. */
export function grantRoom(
  transport: SessionTransport,
  data: SessionData,
  rid: string,
): SessionData {
  const topic = myMessagesTopic(rid);
  const subs: Subs = {};
  for (const [id, sub] of Object.entries(data.subs)) {
    const grows = isMyMessages(sub.name, sub.eventName) && !sub.topics.includes(topic);
    subs[id] = grows ? { ...sub, topics: [...sub.topics, topic] } : sub;
  }
  return withSubs(transport, data, subs);
}

/**
 * The user lost room `rid`: its own subscriptions end with `nosub`, and the
 * `__my_messages__` feeds stop carrying it.
 */
export function revokeRoom(
  transport: SessionTransport,
  data: SessionData,
  rid: string,
): SessionData {
  const topic = myMessagesTopic(rid);
  const ended = endSubs(transport, data, (sub) => roomOfEvent(sub.name, sub.eventName) !== rid);
  const subs: Subs = {};
  for (const [id, sub] of Object.entries(ended.subs)) {
    subs[id] = sub.topics.includes(topic)
      ? { ...sub, topics: sub.topics.filter((t) => t !== topic) }
      : sub;
  }
  return withSubs(transport, ended, subs);
}

/** The session logged out: every subscription that needs a user ends with `nosub`. */
export function endPrivateSubs(transport: SessionTransport, data: SessionData): SessionData {
  return endSubs(transport, data, (sub) => isPublicStream(sub.name));
}
