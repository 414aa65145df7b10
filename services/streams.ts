/**
 * Who may listen to which stream event, and which topic carries it. A subscription that
 * passes gets its topic; one that fails is refused with `not-allowed`, as Rocket.Chat's
 * streamer does.
 */
import { ClientError } from "../core/errors.ts";
import { topicOf } from "../core/hub.ts";
import type { User } from "../core/models.ts";
import type { Services } from "./index.ts";

/** The streams Parley serves. */
export const STREAMS = new Set([
  "stream-room-messages",
  "stream-notify-room",
  "stream-notify-user",
  "stream-notify-logged",
  "stream-notify-all",
]);

function notAllowed(): ClientError {
  return new ClientError("not-allowed", "Not allowed");
}

/** The room id an event name of a room stream refers to (`<rid>` or `<rid>/<event>`). */
export function roomOfEvent(stream: string, eventName: string): string | undefined {
  if (stream === "stream-room-messages") return eventName;
  if (stream === "stream-notify-room") return eventName.split("/")[0];
  return undefined;
}

/**
 * The topics a listener to `eventName` of `stream` receives, after checking that `user`
 * may read it. Throws ClientError `not-allowed` when not, and 404 for an unknown stream.
 */
export async function authorizeListen(
  services: Services,
  user: User | null,
  stream: string,
  eventName: string,
): Promise<string[]> {
  if (!STREAMS.has(stream)) throw new ClientError(404, `Subscription '${stream}' not found`);
  if (typeof eventName !== "string" || eventName === "") throw notAllowed();
  if (stream === "stream-notify-all") return [topicOf(stream, eventName)];
  if (!user) throw notAllowed();
  switch (stream) {
    case "stream-notify-logged":
      return [topicOf(stream, eventName)];
    case "stream-notify-user":
      if (eventName.split("/")[0] !== user._id) throw notAllowed();
      return [topicOf(stream, eventName)];
    default: {
      if (eventName === "__my_messages__") return [];
      const rid = roomOfEvent(stream, eventName) as string;
      const room = await services.rooms.byId(rid);
      if (!room || !(await services.authz.canAccessRoom(room, user))) throw notAllowed();
      return [topicOf(stream, eventName)];
    }
  }
}

/**
 * Checks that `user` may emit `eventName` on `stream` (typing indicators on
 * `stream-notify-room`), returning the topic. Throws ClientError `not-allowed` otherwise.
 */
export async function authorizeEmit(
  services: Services,
  user: User | null,
  stream: string,
  eventName: string,
): Promise<string> {
  const [rid, event] = eventName.split("/");
  if (stream !== "stream-notify-room" || !user || !rid || !["user-activity", "typing"].includes(event ?? "")) {
    throw notAllowed();
  }
  const room = await services.rooms.byId(rid);
  if (!room || !(await services.authz.canAccessRoom(room, user))) throw notAllowed();
  return topicOf(stream, eventName);
}
