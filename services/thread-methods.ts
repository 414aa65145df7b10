/**
 * The DDP methods of threads, with Rocket.Chat's parameters, answers and errors:
 * `getThreadMessages` (the parent, then its replies newest first; reading them marks the
 * thread read), `getThreadsList`, `followMessage`, `unfollowMessage` (answer nothing) and
 * `readThreads`. Each answers `error-not-allowed` while threads are turned off.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import {
  loggedIn,
  matchFailed,
  type Method,
  type MethodCaller,
  obj,
  str,
} from "./method-params.ts";
import {
  followMessage,
  listThreads,
  readableRoom,
  readThread,
  threadReplies,
  threadsEnabled,
} from "./threads.ts";
import type { Services } from "./index.ts";

/** The most messages or threads one call answers, as in Rocket.Chat. */
const MAX_LIMIT = 100;

/** A non-negative integer parameter, `fallback` when absent; Match failed otherwise. */
function count(value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw matchFailed();
  return value;
}

/** The caller, when logged in and threads are on; else Rocket.Chat's "Threads Disabled". */
function threadReader(services: Services, caller: MethodCaller, method: string): User {
  if (!caller.user || !threadsEnabled(services)) {
    throw new ClientError("error-not-allowed", "Threads Disabled", { details: { method } });
  }
  return caller.user;
}

function tooMany(method: string): ClientError {
  return new ClientError("error-not-allowed", `max limit: ${MAX_LIMIT}`, { details: { method } });
}

function following(follow: boolean): Method {
  const method = follow ? "followMessage" : "unfollowMessage";
  return async (services, caller, [params]) => {
    const mid = str(obj(params).mid);
    const user = loggedIn(caller, method);
    await followMessage(services, user, mid, follow);
    return undefined;
  };
}

/** The thread methods, by name. */
export const THREAD_METHODS: Record<string, Method> = {
  async getThreadMessages(services, caller, [params]) {
    const method = "getThreadMessages";
    const p = obj(params);
    const tmid = str(p.tmid);
    const limit = count(p.limit, 0);
    const skip = count(p.skip, 0);
    if (limit > MAX_LIMIT) throw tooMany(method);
    const user = threadReader(services, caller, method);
    const thread = await services.messages.byId(tmid);
    if (!thread) return [];
    const refusal = () =>
      new ClientError("error-not-allowed", "Not allowed", { details: { method } });
    const room = await readableRoom(services, thread.rid, user, refusal);
    if (!thread.tcount) return [];

    await readThread(services.deps, user._id, room._id, tmid);
    // Rocket.Chat reads with MongoDB, where a limit of 0 means none; the cap bounds it here.
    const window = {
      offset: skip,
      count: limit === 0 ? MAX_LIMIT : limit,
      sort: { ts: -1 },
    } as const;
    const { messages } = await threadReplies(services, tmid, window);
    return [thread, ...messages];
  },
  async getThreadsList(services, caller, [params]) {
    const method = "getThreadsList";
    const p = obj(params);
    const rid = str(p.rid);
    const limit = count(p.limit, 50);
    const skip = count(p.skip, 0);
    if (limit > MAX_LIMIT) throw tooMany(method);
    const user = threadReader(services, caller, method);
    const refusal = () =>
      new ClientError("error-not-allowed", "Not Allowed", { details: { method } });
    const room = await readableRoom(services, rid, user, refusal);
    const query = { type: "all", offset: skip, count: limit === 0 ? MAX_LIMIT : limit } as const;
    return (await listThreads(services, room, user._id, query)).threads;
  },
  followMessage: following(true),
  unfollowMessage: following(false),
  async readThreads(services, caller, [tmid]) {
    const method = "getThreadMessages";
    const id = str(tmid);
    const user = threadReader(services, caller, method);
    const thread = await services.messages.byId(id);
    if (!thread) return undefined;
    const room = await services.rooms.byId(thread.rid);
    if (!room) {
      throw new ClientError("error-room-does-not-exist", "This room does not exist", {
        details: { method },
      });
    }
    if (!(await services.authz.canAccessRoom(room, user))) {
      throw new ClientError("error-not-allowed", "Not allowed", { details: { method } });
    }
    await readThread(services.deps, user._id, room._id, id);
    return undefined;
  },
};
