/**
 * The DDP endpoint at `/websocket`: Bun's native WebSockets with pub/sub topics. Each
 * socket gets a session actor; frames are parsed here and handed to it with their size,
 * which the session bounds (MAX_QUEUED_BYTES in actors/session.ts). Outbound frames
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

/**
 * The open connections of this process, by id and by the users whose signals each one
 * needs: the user it is logged in as and the users its subscriptions were authorized for.
 * A signal about a user therefore reaches every socket still holding something that user
 * granted, even after the socket logged in as someone else.
 */
export class ConnectionRegistry {
  readonly sockets = new Map<string, ServerWebSocket<SocketData>>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly usersOf = new Map<string, readonly string[]>();

  /** Routes the signals about `userIds`, and only those, to connection `connId`. */
  listenAs(connId: string, userIds: readonly string[]): void {
    for (const userId of this.usersOf.get(connId) ?? []) {
      const set = this.byUser.get(userId);
      set?.delete(connId);
      if (set?.size === 0) this.byUser.delete(userId);
    }
    if (userIds.length === 0) {
      this.usersOf.delete(connId);
      return;
    }
    this.usersOf.set(connId, userIds);
    for (const userId of userIds) {
      let set = this.byUser.get(userId);
      if (!set) this.byUser.set(userId, (set = new Set()));
      set.add(connId);
    }
  }

  /** Ids of the connections that need the signals about user `userId`. */
  connectionsOf(userId: string): readonly string[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  remove(connId: string): void {
    this.listenAs(connId, []);
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
      listenAs: (userIds) => this.listenAs(connId, userIds),
      close: (code, reason) => ws.close(code, reason),
      remoteAddress: ws.data.remoteAddress,
    };
  }
}

/** Routes a signal about user `uid` to every session that depends on that user. */
export function signalRouter(registry: ConnectionRegistry, sessions: () => SessionSupervisor) {
  return (uid: string, signal: SessionSignal): void => {
    for (const connId of registry.connectionsOf(uid))
      sessions().deliver(connId, { type: "signal", uid, signal });
  };
}

/** Upgrades `/websocket` requests from a client at `remoteAddress`; false for any other path. */
export function upgradeDdp(
  request: Request,
  server: Server<SocketData>,
  newId: () => string,
  remoteAddress: string,
): boolean {
  const path = new URL(request.url).pathname;
  if (path !== "/websocket" && !/^\/sockjs\/[^/]+\/[^/]+\/websocket$/.test(path)) return false;
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
      const bytes = typeof raw === "string" ? Buffer.byteLength(raw) : raw.byteLength;
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
      sessions().deliver(ws.data.connId, {
        type: "message",
        message: message as { msg: string },
        bytes,
      });
    },
    close(ws, code) {
      log.debug({ connId: ws.data.connId, code }, "socket closed");
      sessions().deliver(ws.data.connId, { type: "closed" });
      registry.remove(ws.data.connId);
    },
  };
}
