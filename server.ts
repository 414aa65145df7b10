/**
 * The composition root: opens the store, builds the services, starts the supervision
 * tree (room and session supervisors) and serves REST and DDP on one Bun server. Used by
 * main.ts and by the tests, which start real servers on port 0.
 */
import { createHash } from "node:crypto";
import { mkdirSync, realpathSync } from "node:fs";
import { hostname } from "node:os";
import type { Server } from "bun";
import { Elysia } from "elysia";
import type { SessionHandle } from "./actors/session-effects.ts";
import { type Bus, CONFIRM_MS, claimInstanceName, InstanceNameTaken } from "./bus/bus.ts";
import { BusHub, followBus } from "./bus/hub.ts";
import { connectNatsBus } from "./bus/nats.ts";
import { clientAddress } from "./core/client-address.ts";
import { type Clock, systemClock } from "./core/clock.ts";
import { type Config, ConfigError } from "./core/config.ts";
import { type Hub, LocalHub } from "./core/hub.ts";
import { randomIds } from "./core/ids.ts";
import { createLogger, type Logger } from "./core/logger.ts";
import { waitAtMost } from "./core/wait.ts";
import { docsRoutes } from "./routes/docs.ts";
import { rememberAddress } from "./routes/http.ts";
import { apiRoutes } from "./routes/index.ts";
import {
  ConnectionRegistry,
  ddpHandlers,
  type SocketData,
  signalRouter,
  upgradeDdp,
} from "./routes/websocket.ts";
import { type Collections, openCollections } from "./services/collections.ts";
import type { RoomCommand } from "./services/room-commands.ts";
import type { Deps, PresenceGateway, QueueGateway, RoomGateway } from "./services/context.ts";
import { createServices, initServices, type Services } from "./services/index.ts";
import type { LeaveTimers } from "./services/livechat-agent-leave.ts";
import { joinAutoJoinRooms } from "./services/team-members.ts";
import { openStore } from "./store/index.ts";
import type { Store } from "./store/types.ts";
import {
  type RoomEffects,
  type RoomSupervisor,
  startRoomSupervisor,
  storeRoomEffects,
} from "./supervisors/rooms.ts";
import { type PresenceSupervisor, startPresenceSupervisor } from "./supervisors/presence.ts";
import {
  type QueueEffects,
  type QueueSupervisor,
  startQueueSupervisor,
  storeQueueEffects,
} from "./supervisors/queues.ts";
import { type SessionSupervisor, startSessionSupervisor } from "./supervisors/sessions.ts";
import type { SchedulerClock } from "./supervisors/supervisor.ts";

export interface ServerOptions {
  /** Wraps the room actors' effects (tests use it to inject faults). */
  readonly roomEffects?: (real: RoomEffects) => RoomEffects;
  /** Wraps the queue actors' effects (tests use it to inject faults). */
  readonly queueEffects?: (real: QueueEffects) => QueueEffects;
  /** Wraps the store as presence reads and writes it (tests use it to fail or hold writes). */
  readonly presenceDb?: (real: Collections) => Collections;
  /** Wraps the session actors' handling of each message (tests use it to inject faults). */
  readonly sessionHandle?: (real: SessionHandle) => SessionHandle;
  /** Quiet time before a room actor passivates. */
  readonly roomIdleMs?: number;
  /** Scheduler clock for actor timers (tests pass a simulated one). */
  readonly actorClock?: SchedulerClock;
  readonly pingMs?: number;
  readonly timeoutMs?: number;
  readonly logger?: Logger;
  /** The time source of services (tests pass a fixed one). */
  readonly clock?: Clock;
  /** How often this process records its presence heartbeat (default: the configuration's). */
  readonly presenceHeartbeatMs?: number;
  /** Timers of the Omnichannel agent leave action (tests fire them by hand). */
  readonly leaveTimers?: LeaveTimers;
}

export interface ParleyServer {
  readonly url: string;
  readonly port: number;
  readonly services: Services;
  readonly rooms: RoomSupervisor;
  readonly presence: PresenceSupervisor;
  readonly queues: QueueSupervisor;
  readonly store: Store;
  /** Every HTTP route served, as method and path (for the documentation test). */
  readonly routes: readonly { readonly method: string; readonly path: string }[];
  /** Stops serving, stops the actors and closes the store. */
  stop(): Promise<void>;
}

/**
 * Largest HTTP request body of every route but the file uploads (413 beyond). A JSON call
 * stays far below: a message is at most Message_MaxAllowedSize (5,000 by default)
 * characters plus 64 KiB of attachments, which JSON escaping can at worst make six times
 * longer. Uploads stream through their own routes, limited by `FileUpload_MaxFileSize`.
 */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

/**
 * The commands whose changes to a room (its last message, counters) decide nothing about
 * what later commands may do, so the other processes hear of them without confirming.
 */
const UNCONFIRMED_KINDS: ReadonlySet<RoomCommand["kind"]> = new Set([
  "send",
  "update",
  "delete",
  "react",
  "pin",
  "unpin",
  "star",
  "follow",
  "unfollow",
]);

/** Room effects that tell the other processes of each change, and when they know it. */
interface AnnouncedRooms {
  readonly effects: RoomEffects;
  /**
   * Resolves once the other processes have read the latest change to room `rid` that
   * decides what later commands may do (its members, settings or state).
   */
  settled(rid: string): Promise<void>;
}

/**
 * Room effects that tell the other processes about each change a command made, so that
 * their actors of the same room read it again. A change of members, settings or state is
 * published with confirmation, and the room gateway waits for it before answering: a
 * client's next call then finds the change on whichever process it reaches. The wait is
 * outside the room's actor, which goes on with its next command, so two processes changing
 * one room at once never wait for each other's actors.
 */
function announcedRoomEffects(real: RoomEffects, bus: Bus): AnnouncedRooms {
  const confirming = new Map<string, Promise<void>>();
  const { sendBatch } = real;
  return {
    effects: {
      load: real.load,
      async execute(state, command) {
        const result = await real.execute(state, command);
        if (command.kind === "reload" || result.state === state) return result;
        const rid = state.room._id;
        const members = result.state.members !== state.members;
        const event = { kind: "room-changed", rid, members } as const;
        if (!members && UNCONFIRMED_KINDS.has(command.kind)) {
          bus.publish(event);
          return result;
        }
        const confirmed = bus.publishConfirmed(event, CONFIRM_MS).finally(() => {
          if (confirming.get(rid) === confirmed) confirming.delete(rid);
        });
        confirming.set(rid, confirmed);
        return result;
      },
      // A batch holds plain messages only, which change no members, settings or state.
      ...(sendBatch && {
        async sendBatch(state, commands) {
          const result = await sendBatch(state, commands);
          if (result.state !== state) {
            bus.publish({ kind: "room-changed", rid: state.room._id, members: false });
          }
          return result;
        },
      }),
    },
    settled: (rid) => confirming.get(rid) ?? Promise.resolve(),
  };
}

/** How long stopping waits for this process's users to be taken offline (ms). */
const RELEASE_WAIT_MS = 5000;

/** The routes whose bodies are uploads, read as a stream and limited by their own setting. */
const UPLOAD_ROUTE = /^\/api\/v1\/rooms\.(media|upload)\//;

/** The route of an avatar image, which is read whole (to be resized) up to its own limit. */
const AVATAR_ROUTE = "/api/v1/users.setAvatar";

/** How large an avatar image may be: a photo from a phone camera fits. */
export const MAX_AVATAR_BODY_BYTES = 16 * 1024 * 1024;

/**
 * `request` held to MAX_REQUEST_BODY_BYTES (MAX_AVATAR_BODY_BYTES for an avatar) unless
 * it is an upload: a 413 when its declared length is larger, else the request with a body
 * that fails past the limit (for a body sent in chunks, whose length is not declared).
 */
function limitBody(request: Request): Request | Response {
  const path = new URL(request.url).pathname;
  if (!request.body || UPLOAD_ROUTE.test(path)) return request;
  const limit = path === AVATAR_ROUTE ? MAX_AVATAR_BODY_BYTES : MAX_REQUEST_BODY_BYTES;
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > limit) return new Response(null, { status: 413 });
  if (!Number.isNaN(declared)) return request;
  let seen = 0;
  const limiter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > limit) controller.error(new Error("Request body too large"));
      else controller.enqueue(chunk);
    },
  });
  return new Request(request, { body: request.body.pipeThrough(limiter) });
}

/**
 * The name of the deployment this process belongs to on the bus: the processes using one
 * MongoDB database (the same MONGO_URL), or one data folder on one machine. Processes of
 * other deployments on the same NATS server never hear each other.
 */
function deploymentOf(config: Config): string {
  mkdirSync(config.dataDir, { recursive: true });
  const where = config.mongoUrl ?? `${hostname()}:${realpathSync(config.dataDir)}`;
  return createHash("sha256").update(where).digest("hex").slice(0, 16);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Starts Parley with `config`; resolves once it accepts connections. Throws ConfigError,
 * naming the variable, when the bus or the store cannot be opened, another running process
 * has this one's INSTANCE_ID, the port cannot be bound or the first administrator cannot
 * be created.
 */
export async function startServer(
  config: Config,
  options: ServerOptions = {},
): Promise<ParleyServer> {
  const log = options.logger ?? createLogger(config.logLevel);
  const bus = config.natsUrl
    ? await connectNatsBus(config.natsUrl, config.instanceId, deploymentOf(config), log).catch(
        (error: unknown) => {
          throw new ConfigError("NATS_URL", `cannot connect to the bus: ${messageOf(error)}`);
        },
      )
    : undefined;
  if (bus) {
    await claimInstanceName(bus, config.instanceId).catch(async (error: unknown) => {
      await bus.close();
      throw error instanceof InstanceNameTaken
        ? new ConfigError("INSTANCE_ID", `${error.message} in this deployment`)
        : error;
    });
  }
  // Files (uploads, avatars) live in the data folder on either engine.
  try {
    mkdirSync(config.dataDir, { recursive: true });
  } catch (error) {
    await bus?.close();
    throw new ConfigError("DATA_DIR", `cannot create the data folder: ${messageOf(error)}`);
  }
  const store = await openStore({
    dataDir: config.dataDir,
    logger: log,
    ...(config.mongoUrl && { mongoUrl: config.mongoUrl }),
    ...(bus && { bus }),
  }).catch(async (error: unknown) => {
    await bus?.close();
    const variable = config.mongoUrl ? "MONGO_URL" : "DATA_DIR";
    throw new ConfigError(variable, `cannot open the store: ${messageOf(error)}`);
  });
  const db = await openCollections(store);
  const registry = new ConnectionRegistry();

  let server: Server<SocketData> | undefined;
  let sessions: SessionSupervisor | undefined;
  let rooms: RoomSupervisor | undefined;
  let presence: PresenceSupervisor | undefined;
  let queues: QueueSupervisor | undefined;
  const localHub = new LocalHub(
    (topic, frame) => void server?.publish(topic, frame),
    signalRouter(registry, () => sessions as SessionSupervisor),
  );
  const hub: Hub = bus ? new BusHub(localHub, bus) : localHub;
  let announced: AnnouncedRooms | undefined;
  const gateway: RoomGateway = {
    async execute(rid, command) {
      const reply = await (rooms as RoomSupervisor).execute(rid, command);
      await announced?.settled(rid);
      await joinAutoJoinRooms(deps, command, reply);
      return reply;
    },
  };
  const presenceGateway: PresenceGateway = {
    connected: (uid, connId) => presence?.connected(uid, connId),
    disconnected: (uid, connId) => presence?.disconnected(uid, connId),
    setConnectionStatus: (uid, connId, status) =>
      (presence as PresenceSupervisor).setConnectionStatus(uid, connId, status),
    choose: (uid, choice) => (presence as PresenceSupervisor).choose(uid, choice),
  };
  const queueGateway: QueueGateway = {
    execute: (key, command) => (queues as QueueSupervisor).execute(key, command),
    tell: (key, command) => queues?.tell(key, command),
  };
  const clock = options.clock ?? systemClock;
  const deps: Deps = {
    config,
    db,
    clock,
    ids: randomIds,
    log,
    hub,
    rooms: gateway,
    files: store.files,
    presence: presenceGateway,
    bus: bus ?? { publish() {}, publishConfirmed: async () => {} },
    queues: queueGateway,
  };
  const services = createServices(deps, {
    ...(options.leaveTimers && { leaveTimers: options.leaveTimers }),
  });

  const storeEffects = storeRoomEffects(services.commandDeps);
  announced = bus && announcedRoomEffects(storeEffects, bus);
  const realEffects = announced?.effects ?? storeEffects;
  rooms = startRoomSupervisor(services.commandDeps, {
    effects: options.roomEffects ? options.roomEffects(realEffects) : realEffects,
    ...(options.roomIdleMs !== undefined && { idleMs: options.roomIdleMs }),
    ...(options.actorClock && { actorClock: options.actorClock }),
  });
  const realQueueEffects = storeQueueEffects(services.commandDeps);
  queues = startQueueSupervisor(services.commandDeps, {
    effects: options.queueEffects ? options.queueEffects(realQueueEffects) : realQueueEffects,
    ...(options.actorClock && { actorClock: options.actorClock }),
  });
  presence = startPresenceSupervisor(
    {
      db: options.presenceDb ? options.presenceDb(db) : db,
      clock,
      hub,
      log,
      instanceId: config.instanceId,
      onStatusChange: (user) => services.livechat.presenceChanged(user),
    },
    {
      ...(options.actorClock && { actorClock: options.actorClock }),
      heartbeatMs: options.presenceHeartbeatMs ?? config.presenceHeartbeatMs,
    },
  );
  sessions = startSessionSupervisor({
    services,
    log,
    clock,
    transportOf: (connId) => registry.transport(connId),
    presence: presenceGateway,
    ...(options.sessionHandle && { wrapHandle: options.sessionHandle }),
    ...(options.pingMs !== undefined && { pingMs: options.pingMs }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(options.actorClock && { actorClock: options.actorClock }),
  });
  await initServices(services, config);
  if (bus) {
    followBus(
      bus,
      {
        hub: localHub,
        reloadSettings: () => services.settings.reload(),
        reloadPermissions: () => services.authz.reload(),
        refreshRoom: async (rid, members) => rooms?.refresh(rid, members),
        refreshRooms: () => rooms?.refreshAll(),
      },
      log,
    );
    // Start-up may have stored settings and permissions that running processes lack.
    bus.publish({ kind: "settings-changed" });
    bus.publish({ kind: "permissions-changed" });
  }
  // Before any connection is accepted: nobody stays online from a connection that died
  // with an earlier run of this process, or with a process that stopped beating.
  await presence.start();

  // Elysia otherwise finds the path from the 12th character of the URL, which skips past
  // the path of a host name shorter than four characters (`Host: app`).
  const app = new Elysia({ handler: { standardHostname: false } })
    .use(docsRoutes())
    .use(apiRoutes(services, log));

  const activeSessions = sessions;
  try {
    server = Bun.serve<SocketData, never>({
      port: config.port,
      hostname: config.host,
      // Uploads stream past any fixed size; limitBody holds every other route to its limit.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      // Never Bun's debug page, which shows the stack and the server's paths.
      development: false,
      error(error) {
        log.error({ err: error }, "request failed outside the routes");
        return new Response(null, { status: 500 });
      },
      fetch(incoming, bunServer) {
        // A Host header that makes no URL (empty, `a b`, `@@`) is the client's mistake.
        if (!URL.canParse(incoming.url)) return new Response(null, { status: 400 });
        const address = clientAddress(
          bunServer.requestIP(incoming)?.address ?? "",
          incoming.headers.get("x-forwarded-for"),
          config.httpForwardedCount,
        );
        if (upgradeDdp(incoming, bunServer, randomIds.id, address)) return undefined;
        const request = limitBody(incoming);
        if (request instanceof Response) return request;
        rememberAddress(request, address);
        return app.handle(request);
      },
      websocket: ddpHandlers(registry, () => activeSessions, log),
    });
  } catch (error) {
    activeSessions.stop();
    rooms.stop();
    presence.stop();
    queues.stop();
    services.livechat.stop();
    await store.close();
    await bus?.close();
    throw new ConfigError(
      "PORT",
      `cannot listen on ${config.host}:${config.port}: ${messageOf(error)}`,
    );
  }
  const port = server.port as number;
  log.info({ host: config.host, port, engine: store.engine }, "parley started");

  return {
    url: `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`,
    port,
    services,
    rooms,
    presence,
    queues,
    store,
    routes: app.routes.map(({ method, path }) => ({ method, path })),
    async stop() {
      server?.stop(true);
      activeSessions.stop();
      rooms?.stop();
      // A process that reaches the store through a bus that is down waits in vain: past
      // a short wait it stops anyway, and the other processes take its users offline once
      // its heartbeat stops, as after a crash.
      if (presence) {
        const released = presence
          .release()
          .catch((error: unknown) => log.error({ err: error }, "presence not released"));
        if ((await waitAtMost(released, RELEASE_WAIT_MS)) === "timed-out")
          log.warn({ waitedMs: RELEASE_WAIT_MS }, "presence not released in time");
      }
      presence?.stop();
      queues?.stop();
      services.livechat.stop();
      services.mailer.close();
      await store.close();
      await bus?.close();
    },
  };
}
