/**
 * The hub delivers stream events to connections. A stream event is addressed to a topic
 * named `<stream>:<eventName>` (for example `stream-room-messages:GENERAL`); a connection
 * that subscribed to that event listens on that topic, so the frame is serialized once
 * and fanned out by the transport (Bun's native pub/sub in this process).
 */
import { stringifyEJSON } from "./ejson.ts";

/** What a connection is told about its own user, outside any stream. */
export type SessionSignal =
  /** The user became a member of a room: feeds of all their rooms add its topic. */
  | { readonly type: "room-access-granted"; readonly rid: string }
  /** The user lost access to a room: drop its topics. */
  | { readonly type: "room-access-revoked"; readonly rid: string }
  /** The user was logged out (token removed, deactivated): close the connection. */
  | { readonly type: "logged-out"; readonly hashedToken?: string };

export interface Hub {
  /** Sends `args` as event `eventName` of `stream` to every connection listening to it. */
  emit(stream: string, eventName: string, args: readonly unknown[]): void;
  /**
   * Sends the same `args` as each of `eventNames` of `stream`, as `emit` would one by one,
   * serializing `args` once (a room's update told to each of its members).
   */
  emitEach(stream: string, eventNames: readonly string[], args: readonly unknown[]): void;
  /** Delivers a signal to every connection of user `uid` in this process. */
  signal(uid: string, signal: SessionSignal): void;
}

/** The topic a connection listens on for one event of one stream. */
export function topicOf(stream: string, eventName: string): string {
  return `${stream}:${eventName}`;
}

/** The event name of `stream-room-messages` that carries the messages of all the user's rooms. */
export const MY_MESSAGES = "__my_messages__";

/**
 * The topic that carries room `rid`'s messages as `__my_messages__` events. A listener to
 * `__my_messages__` listens on this topic of each of its rooms, so every message is still
 * serialized once per event name, not once per listener.
 */
export function myMessagesTopic(rid: string): string {
  return `${topicOf("stream-room-messages", MY_MESSAGES)}/${rid}`;
}

/** The DDP frame of a stream event, as Rocket.Chat's streamer writes it. */
export function streamFrame(stream: string, eventName: string, args: readonly unknown[]): string {
  return frameOf(stream, eventName, stringifyEJSON(args));
}

/** The frame of `streamFrame` around arguments already serialized as EJSON. */
function frameOf(stream: string, eventName: string, argsJson: string): string {
  const names = `${JSON.stringify(stream)},"id":"id","fields":{"eventName":${JSON.stringify(eventName)}`;
  return `{"msg":"changed","collection":${names},"args":${argsJson}}}`;
}

/** The stream that carries one user's presence to the connections watching that user. */
export const USER_PRESENCE = "stream-user-presence";

/**
 * The frame of a presence event about user `uid`, as Rocket.Chat's presence streamer
 * writes it: the document id is the user's id, and `fields` repeats it as `uid` and as
 * `eventName` beside `args` (`[[username, statusCode, statusText]]`).
 */
export function presenceFrame(uid: string, args: readonly unknown[]): string {
  return JSON.stringify({
    msg: "changed",
    collection: USER_PRESENCE,
    id: uid,
    fields: { uid, args, eventName: uid },
  });
}

/** A Hub over a publish function (Bun's `server.publish`) and a per-user signal router. */
export class LocalHub implements Hub {
  constructor(
    private readonly publish: (topic: string, frame: string) => void,
    private readonly route: (uid: string, signal: SessionSignal) => void,
  ) {}

  emit(stream: string, eventName: string, args: readonly unknown[]): void {
    if (stream === USER_PRESENCE) {
      this.publish(topicOf(stream, eventName), presenceFrame(eventName, args));
      return;
    }
    this.publish(topicOf(stream, eventName), streamFrame(stream, eventName, args));
    if (stream === "stream-room-messages") {
      this.publish(myMessagesTopic(eventName), streamFrame(stream, MY_MESSAGES, args));
    } else if (stream === "stream-notify-user") {
      this.grantOnNewSubscription(eventName, args);
    }
  }

  emitEach(stream: string, eventNames: readonly string[], args: readonly unknown[]): void {
    if (stream === USER_PRESENCE || stream === "stream-room-messages") {
      for (const eventName of eventNames) this.emit(stream, eventName, args);
      return;
    }
    const argsJson = stringifyEJSON(args);
    for (const eventName of eventNames) {
      this.publish(topicOf(stream, eventName), frameOf(stream, eventName, argsJson));
      if (stream === "stream-notify-user") this.grantOnNewSubscription(eventName, args);
    }
  }

  /**
   * Every writer that makes a user a member announces the new subscription on
   * `<uid>/subscriptions-changed`, so the grant signal is derived from that one event
   * rather than trusted to each writer to send.
   */
  private grantOnNewSubscription(eventName: string, args: readonly unknown[]): void {
    const [uid, event] = eventName.split("/");
    const [action, sub] = args as [unknown, { rid?: unknown } | undefined];
    if (
      uid &&
      event === "subscriptions-changed" &&
      action === "inserted" &&
      typeof sub?.rid === "string"
    ) {
      this.route(uid, { type: "room-access-granted", rid: sub.rid });
    }
  }

  signal(uid: string, signal: SessionSignal): void {
    this.route(uid, signal);
  }
}
