/**
 * The hub delivers stream events to connections. A stream event is addressed to a topic
 * named `<stream>:<eventName>` (for example `stream-room-messages:GENERAL`); a connection
 * that subscribed to that event listens on that topic, so the frame is serialized once
 * and fanned out by the transport (Bun's native pub/sub in this process).
 */
import { stringifyEJSON } from "./ejson.ts";

/** What a connection is told about its own user, outside any stream. */
export type SessionSignal =
  /** The user lost access to a room: drop its topics. */
  | { readonly type: "room-access-revoked"; readonly rid: string }
  /** The user was logged out (token removed, deactivated): close the connection. */
  | { readonly type: "logged-out"; readonly hashedToken?: string };

export interface Hub {
  /** Sends `args` as event `eventName` of `stream` to every connection listening to it. */
  emit(stream: string, eventName: string, args: readonly unknown[]): void;
  /** Delivers a signal to every connection of user `uid` in this process. */
  signal(uid: string, signal: SessionSignal): void;
}

/** The topic a connection listens on for one event of one stream. */
export function topicOf(stream: string, eventName: string): string {
  return `${stream}:${eventName}`;
}

/** The DDP frame of a stream event, as Rocket.Chat's streamer writes it. */
export function streamFrame(stream: string, eventName: string, args: readonly unknown[]): string {
  return stringifyEJSON({
    msg: "changed",
    collection: stream,
    id: "id",
    fields: { eventName, args },
  });
}

/** A Hub over a publish function (Bun's `server.publish`) and a per-user signal router. */
export class LocalHub implements Hub {
  constructor(
    private readonly publish: (topic: string, frame: string) => void,
    private readonly route: (uid: string, signal: SessionSignal) => void,
  ) {}

  emit(stream: string, eventName: string, args: readonly unknown[]): void {
    this.publish(topicOf(stream, eventName), streamFrame(stream, eventName, args));
  }

  signal(uid: string, signal: SessionSignal): void {
    this.route(uid, signal);
  }
}
