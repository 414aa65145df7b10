/**
 * Who may listen to which stream event, which topics carry it, and what a client may emit
 * itself. Rules follow Rocket.Chat's streamer: a subscription that fails its read rule is
 * refused with `not-allowed`; an unknown stream is a 404.
 */
import { ClientError } from "../core/errors.ts";
import { MY_MESSAGES, myMessagesTopic, topicOf } from "../core/hub.ts";
import type { User } from "../core/models.ts";
import type { Services } from "./index.ts";
import { seesPrivilegedSettings } from "./setting-changes.ts";

/** The streams Parley serves. */
export const STREAMS = new Set([
  "stream-room-messages",
  "stream-notify-room",
  "stream-notify-user",
  "stream-notify-logged",
  "stream-notify-all",
  "stream-livechat-room",
  "stream-livechat-inquiry-queue-observer",
]);

/** A stream event a client asked to send to the other listeners of its topic. */
export interface ClientEmit {
  readonly topic: string;
  readonly eventName: string;
  readonly args: readonly unknown[];
}

function notAllowed(): ClientError {
  return new ClientError("not-allowed", "Not allowed");
}

/** The room id an event name of a room stream refers to (`<rid>` or `<rid>/<event>`). */
export function roomOfEvent(stream: string, eventName: string): string | undefined {
  if (stream === "stream-room-messages") return eventName === MY_MESSAGES ? undefined : eventName;
  if (stream === "stream-notify-room") return eventName.split("/")[0];
  return undefined;
}

/** Whether a subscription to `eventName` of `stream` is the per-user feed of every room's messages. */
export function isMyMessages(stream: string, eventName: string): boolean {
  return stream === "stream-room-messages" && eventName === MY_MESSAGES;
}

/** Whether a subscription stays allowed after logout: only `stream-notify-all` is public. */
export function isPublicStream(stream: string): boolean {
  return stream === "stream-notify-all";
}

/**
 * The topics a listener to `eventName` of `stream` receives, after checking that `user`
 * may read it. Throws ClientError `not-allowed` when not, and 404 for an unknown stream.
 * `__my_messages__` listens to every room the user is a member of. Limitation: Rocket.Chat
 * also feeds it the public channels the user may read without having joined them; here a
 * bot that wants every public channel must join them (or subscribe to each by id).
 */
export async function authorizeListen(
  services: Services,
  user: User | null,
  stream: string,
  eventName: unknown,
  options?: unknown,
): Promise<string[]> {
  if (!STREAMS.has(stream)) throw new ClientError(404, `Subscription '${stream}' not found`);
  if (typeof eventName !== "string" || eventName === "") throw notAllowed();
  if (stream === "stream-notify-all") return [topicOf(stream, eventName)];
  if (await visitorListens(services, stream, eventName, options))
    return [topicOf(stream, eventName)];
  if (!user) throw notAllowed();
  if (stream === "stream-livechat-inquiry-queue-observer") {
    if (!(await services.authz.can(user, "view-l-room"))) throw notAllowed();
    return [topicOf(stream, eventName)];
  }
  // As Rocket.Chat: a conversation's own stream (its agent, queue position, the visitor's
  // presence) is for its visitor alone, who was let in above by their token.
  if (stream === "stream-livechat-room") throw notAllowed();
  switch (stream) {
    case "stream-notify-logged":
      // Limitation: the check runs once, at subscription; a user who later loses the
      // permission keeps hearing setting changes until they resubscribe or reconnect.
      if (
        eventName === "private-settings-changed" &&
        !(await seesPrivilegedSettings(services, user))
      ) {
        throw notAllowed();
      }
      return [topicOf(stream, eventName)];
    case "stream-notify-user":
      if (eventName.split("/")[0] !== user._id) throw notAllowed();
      return [topicOf(stream, eventName)];
    case "stream-notify-room": {
      // Typing and read receipts are for members only, public channel or not.
      const rid = roomOfEvent(stream, eventName) as string;
      if (!(await services.authz.isMember(rid, user._id))) throw notAllowed();
      return [topicOf(stream, eventName)];
    }
    default: {
      if (eventName === MY_MESSAGES) {
        const subs = await services.deps.db.subscriptions.find(
          { "u._id": user._id },
          { projection: { rid: 1 } },
        );
        return subs.map((s) => myMessagesTopic(s.rid));
      }
      const room = await services.rooms.byId(eventName);
      if (!room || !(await services.authz.canAccessRoom(room, user))) throw notAllowed();
      return [topicOf(stream, eventName)];
    }
  }
}

/**
 * The visitor token a subscription carries in its options, as the livechat widget sends
 * it: `{useCollection: false, args: [{token, visitorToken}]}`.
 */
export function visitorTokenOf(options: unknown): string | undefined {
  const args = (options as { args?: unknown } | null | undefined)?.args;
  const extra = (Array.isArray(args) ? args[0] : options) as
    | { token?: unknown; visitorToken?: unknown }
    | null
    | undefined;
  const token = extra?.visitorToken ?? extra?.token;
  return typeof token === "string" && token !== "" ? token : undefined;
}

/**
 * Whether a subscription is a livechat visitor's to their own room: the room's messages,
 * its typing and deletions, and `stream-livechat-room`, for the token the room was opened
 * with.
 */
async function visitorListens(
  services: Services,
  stream: string,
  eventName: string,
  options: unknown,
): Promise<boolean> {
  const token = visitorTokenOf(options);
  if (!token) return false;
  const rid = stream === "stream-livechat-room" ? eventName : roomOfEvent(stream, eventName);
  if (!rid) return false;
  const room = await services.deps.db.rooms.findOne({ _id: rid, t: "l" }, { projection: { v: 1 } });
  return (room?.v as { token?: string } | undefined)?.token === token;
}

/**
 * Whether the emitter may announce `username`'s typing in room `rid`: a member as their
 * shown name, or the visitor of an omnichannel room as their guest name, with their
 * token as the last argument (as the livechat widget sends it).
 */
async function mayTypeAs(
  services: Services,
  user: User | null,
  rid: string,
  username: unknown,
  extra: unknown,
): Promise<boolean> {
  if (user) {
    const shown = services.settings.get<boolean>("UI_Use_Real_Name") ? user.name : user.username;
    return username === shown && (await services.authz.isMember(rid, user._id));
  }
  const token = visitorTokenOf(extra);
  if (!token) return false;
  const room = await services.deps.db.rooms.findOne({ _id: rid, t: "l" }, { projection: { v: 1 } });
  const visitor = room?.v as { token?: string; username?: string } | undefined;
  return visitor?.token === token && visitor.username === username;
}

/**
 * What a client's own emit on `stream` becomes: typing indicators on `stream-notify-room`
 * (`<rid>/user-activity` or the older `<rid>/typing`), each also re-sent under the other
 * name as Rocket.Chat does, so old and new clients see each other type. `user` must be a
 * member of the room and `args[0]` their own username. Throws ClientError `not-allowed`.
 */
export async function authorizeEmit(
  services: Services,
  user: User | null,
  stream: string,
  eventName: string,
  args: readonly unknown[],
): Promise<ClientEmit[]> {
  const [rid, event] = eventName.split("/");
  if (
    stream !== "stream-notify-room" ||
    !rid ||
    (event !== "user-activity" && event !== "typing")
  ) {
    throw notAllowed();
  }
  const [username, activity, extra] = args;
  if (!(await mayTypeAs(services, user, rid, username, extra))) throw notAllowed();

  const activityTopic = topicOf(stream, `${rid}/user-activity`);
  const typingTopic = topicOf(stream, `${rid}/typing`);
  if (event === "typing") {
    const typing = activity === true;
    const activities = typing ? ["user-typing"] : [];
    return [
      { topic: typingTopic, eventName: `${rid}/typing`, args: [username, typing] },
      {
        topic: activityTopic,
        eventName: `${rid}/user-activity`,
        args: [username, activities, extra],
      },
    ];
  }
  if (!Array.isArray(activity) || !activity.every((a) => typeof a === "string")) throw notAllowed();
  const emits: ClientEmit[] = [{ topic: activityTopic, eventName: `${rid}/user-activity`, args }];
  if (activity.length === 0 || activity.includes("user-typing")) {
    const typing = activity.includes("user-typing");
    emits.push({ topic: typingTopic, eventName: `${rid}/typing`, args: [username, typing] });
  }
  return emits;
}
