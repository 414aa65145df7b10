/**
 * The DDP methods of threads, with Rocket.Chat's parameters, answers and errors:
 * `getThreadMessages` (the parent, then its replies newest first; reading them marks the
 * thread read), `getThreadsList`, `followMessage`, `unfollowMessage` (answer nothing) and
 * `readThreads`. Each answers `error-not-allowed` while threads are turned off.
 */
import { ClientError } from "../core/errors.ts";
import {
  matchFailed,
  type MethodDef,
  obj,
  signedIn,
  str,
  type UserMethod,
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

/** Rocket.Chat's refusal of `method` while threads are off, and of anonymous callers. */
function threadsDisabled(method: string): ClientError {
  return new ClientError("error-not-allowed", "Threads Disabled", { details: { method } });
}

/** Throws "Threads Disabled" for `method` while threads are turned off. */
function assertThreadsOn(services: Services, method: string): void {
  if (!threadsEnabled(services)) throw threadsDisabled(method);
}

function tooMany(method: string): ClientError {
  return new ClientError("error-not-allowed", `max limit: ${MAX_LIMIT}`, { details: { method } });
}

function following(follow: boolean): UserMethod {
  return async (services, caller, [params]) => {
    const mid = str(obj(params).mid);
    const user = caller.user;
    await followMessage(services, user, mid, follow);
    return undefined;
  };
}

/** `getThreadMessages`: the parent, then its replies newest first; marks the thread read. */
const readReplies: UserMethod = async (services, caller, [params]) => {
  const method = "getThreadMessages";
  const p = obj(params);
  const tmid = str(p.tmid);
  const limit = count(p.limit, 0);
  const skip = count(p.skip, 0);
  if (limit > MAX_LIMIT) throw tooMany(method);
  assertThreadsOn(services, method);
  const user = caller.user;
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
};

/** The thread methods, by name. */
export const THREAD_METHODS: Record<string, MethodDef> = {
  getThreadMessages: signedIn(readReplies, { refusal: () => threadsDisabled("getThreadMessages") }),
  getThreadsList: signedIn(
    async (services, caller, [params]) => {
      const method = "getThreadsList";
      const p = obj(params);
      const rid = str(p.rid);
      const limit = count(p.limit, 50);
      const skip = count(p.skip, 0);
      if (limit > MAX_LIMIT) throw tooMany(method);
      assertThreadsOn(services, method);
      const user = caller.user;
      const refusal = () =>
        new ClientError("error-not-allowed", "Not Allowed", { details: { method } });
      const room = await readableRoom(services, rid, user, refusal);
      const query = { type: "all", offset: skip, count: limit === 0 ? MAX_LIMIT : limit } as const;
      return (await listThreads(services, room, user._id, query)).threads;
    },
    { refusal: () => threadsDisabled("getThreadsList") },
  ),
  followMessage: signedIn(following(true)),
  unfollowMessage: signedIn(following(false)),
  readThreads: signedIn(
    async (services, caller, [tmid]) => {
      // Rocket.Chat names getThreadMessages in readThreads' errors.
      const method = "getThreadMessages";
      const id = str(tmid);
      assertThreadsOn(services, method);
      const user = caller.user;
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
    { refusal: () => threadsDisabled("getThreadMessages") },
  ),
};
