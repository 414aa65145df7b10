/**
 * The DDP endpoint at `/websocket`: Bun's native WebSockets with pub/sub topics. Each
 * socket gets a session actor; frames are parsed here and handed to it. Outbound frames
 * beyond `backpressureLimit` close the socket, so a slow client never holds memory or
 * stalls a room: rooms publish once and Bun fans out natively.
 */
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import type { SessionTransport } from "../actors/session.ts";
import { parseEJSON } from "../core/ejson.ts";
import type { SessionSignal } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import type { SessionSupervisor } from "../supervisors/sessions.ts";

export interface SocketData {
  readonly connId: string;
  readonly remoteAddress: string;
}

/** The open connections of this process, by id and by user. */
export class ConnectionRegistry {
  readonly sockets = new Map<string, ServerWebSocket<SocketData>>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly userOf = new Map<string, string>();

  /** Records that connection `connId` is now logged in as `userId` (or logged out). */
  bindUser(connId: string, userId: string | null): void {
    const previous = this.userOf.get(connId);
    if (previous) this.byUser.get(previous)?.delete(connId);
    if (userId) {
      this.userOf.set(connId, userId);
      let set = this.byUser.get(userId);
      if (!set) this.byUser.set(userId, (set = new Set()));
      set.add(connId);
    } else {
      this.userOf.delete(connId);
    }
  }

  /** Connection ids of user `userId`. */
  connectionsOf(userId: string): readonly string[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  remove(connId: string): void {
    this.bindUser(connId, null);
    this.sockets.delete(connId);
  }

  /** The session transport over connection `connId`'s socket. */
  transport(connId: string): SessionTransport | undefined {
    const ws = this.sockets.get(connId);
    if (!ws) return undefined;
    return {
      send: (frame) => void ws.send(frame),
      subscribe: (topic) => ws.subscribe(topic),
      unsubscribe: (topic) => ws.unsubscribe(topic),
      publishToOthers: (topic, frame) => void ws.publish(topic, frame),
      close: (code, reason) => ws.close(code, reason),
      remoteAddress: ws.data.remoteAddress,
    };
  }
}

/** Routes a signal to every session of a user. */
export function signalRouter(registry: ConnectionRegistry, sessions: () => SessionSupervisor) {
  return (uid: string, signal: SessionSignal): void => {
    for (const connId of registry.connectionsOf(uid))
      sessions().deliver(connId, { type: "signal", signal });
  };
}

/** Upgrades `/websocket` requests; answers false for any other path. */
export function upgradeDdp(
  request: Request,
  server: Server<SocketData>,
  newId: () => string,
): boolean {
  const path = new URL(request.url).pathname;
  if (path !== "/websocket" && !/^\/sockjs\/[^/]+\/[^/]+\/websocket$/.test(path)) return false;
  const remoteAddress = server.requestIP(request)?.address ?? "";
  return server.upgrade(request, { data: { connId: newId(), remoteAddress } });
}

/** Bun's WebSocket handlers for DDP. */
export function ddpHandlers(
  registry: ConnectionRegistry,
  sessions: () => SessionSupervisor,
  log: Logger,
): WebSocketHandler<SocketData> {
  return {
    backpressureLimit: 4 * 1024 * 1024,
    closeOnBackpressureLimit: true,
    maxPayloadLength: 1024 * 1024,
    idleTimeout: 0,
    open(ws) {
      registry.sockets.set(ws.data.connId, ws);
      ws.send(JSON.stringify({ server_id: "0" }));
    },
    message(ws, raw) {
      let message: unknown;
      try {
        message = parseEJSON(typeof raw === "string" ? raw : new TextDecoder().decode(raw));
      } catch {
        ws.send(JSON.stringify({ msg: "error", reason: "Bad request" }));
        return;
      }
      if (
        message === null ||
        typeof message !== "object" ||
        typeof (message as { msg?: unknown }).msg !== "string"
      ) {
        ws.send(JSON.stringify({ msg: "error", reason: "Bad request", offendingMessage: message }));
        return;
      }
      sessions().deliver(ws.data.connId, { type: "message", message: message as { msg: string } });
    },
    close(ws, code) {
      log.debug({ connId: ws.data.connId, code }, "socket closed");
      sessions().deliver(ws.data.connId, { type: "closed" });
      registry.remove(ws.data.connId);
    },
  };
}
