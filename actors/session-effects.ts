/**
 * What a session actor does with one DDP message: run a method, open or close a
 * subscription (session-subs.ts), log in or out. It resolves to the session's new data and
 * the frames that answer the message, which the session actor applies and sends; it never
 * changes the socket's subscriptions itself. Errors take Meteor's error shape from
 * `meteorError` (services/methods.ts), which REST's `method.call` tunnel shares. A fault
 * while handling one message is answered as an internal error and never ends the session.
 */
import { stringifyEJSON } from "../core/ejson.ts";
import { streamFrame } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import { hashLoginToken } from "../core/password.ts";
import type { Services } from "../services/index.ts";
import {
  callMethod,
  LOGIN_METHODS,
  loginAnswer,
  meteorError,
  runLoginMethod,
} from "../services/methods.ts";
import { authorizeEmit } from "../services/streams.ts";
import type { DdpMessage, HandleInput, SessionData, SessionOutcome } from "./session.ts";
import {
  badRequest,
  closeSub,
  listenAlso,
  listenFor,
  openSub,
  withoutPrivateSubs,
} from "./session-subs.ts";

/** Handles one message; resolves to its outcome. */
export type SessionHandle = (input: HandleInput) => Promise<SessionOutcome>;

export interface SessionEffectsOptions {
  readonly services: Services;
  readonly log: Logger;
  /** Wraps the handling of each message (tests use it to inject faults and hold work). */
  readonly wrapHandle?: (real: SessionHandle) => SessionHandle;
}

/** The frames a client waits for when its method or subscription `message` failed with `error`. */
function failureFrames(message: DdpMessage, error: Record<string, unknown>): string[] {
  const { id, msg } = message;
  if (typeof id !== "string") return [];
  if (msg === "method") {
    return [
      stringifyEJSON({ msg: "result", id, error }),
      JSON.stringify({ msg: "updated", methods: [id] }),
    ];
  }
  return msg === "sub" ? [stringifyEJSON({ msg: "nosub", id, error })] : [];
}

/**
 * Resolves after the event loop had a turn. Handlers that finish within microtasks would
 * otherwise run a client's whole backlog in one go, and HTTP requests and other sockets
 * would wait for all of it.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Builds the session actor's `handle` effect. */
export function sessionEffects(options: SessionEffectsOptions): SessionHandle {
  const { services } = options;

  async function currentUser(data: SessionData): Promise<User | null> {
    if (!data.userId) return null;
    const user = await services.deps.db.users.findOne({ _id: data.userId });
    return user?.active ? user : null;
  }

  /**
   * Makes sure a revocation of login token `token` of user `uid` cannot pass unseen while
   * the login is being applied. From here on the session hears the user's signals, and a
   * logout among them closes it instead (session.ts); one that came before is found by
   * checking the token again, and throws as a revoked token does.
   */
  async function stillValid(input: HandleInput, uid: string, token: string): Promise<void> {
    listenAlso(input.transport, input.data, uid);
    try {
      await services.accounts.tokenHolder(token);
    } catch (error) {
      listenFor(input.transport, input.data);
      throw error;
    }
  }

  /** Runs a login method (`login`, `resetPassword`), `logout`, a stream emit, or a method. */
  async function run(
    input: HandleInput,
    name: string,
    params: unknown[],
  ): Promise<{ data: SessionData; result: unknown }> {
    const { transport, connId, data } = input;
    if (LOGIN_METHODS.has(name)) {
      const address = transport.remoteAddress;
      const { result, type } = await runLoginMethod(services, name, params, address);
      await stillValid(input, result.user._id, result.token);
      const next = {
        ...data,
        userId: result.user._id,
        hashedToken: await hashLoginToken(result.token),
      };
      // What the previous user could read is no business of the new one.
      const changed = data.userId !== result.user._id;
      return { data: changed ? withoutPrivateSubs(next) : next, result: loginAnswer(result, type) };
    }
    if (name === "logout") {
      if (data.userId && data.hashedToken)
        await services.accounts.logoutHashed(data.userId, data.hashedToken);
      return {
        data: withoutPrivateSubs({ ...data, userId: null, hashedToken: null }),
        result: undefined,
      };
    }
    if (name.startsWith("stream-")) {
      const [eventName, ...args] = params;
      const emits = await authorizeEmit(
        services,
        await currentUser(data),
        name,
        String(eventName),
        args,
      );
      for (const emit of emits)
        transport.publishToOthers(emit.topic, streamFrame(name, emit.eventName, emit.args));
      return { data, result: undefined };
    }
    const caller = {
      user: await currentUser(data),
      connectionId: connId,
      address: transport.remoteAddress,
      ...(data.hashedToken && { hashedToken: data.hashedToken }),
    };
    const result = await callMethod(services, caller, name, params);
    return { data, result };
  }

  /** Who sends `input`, as the DDP rate limiter counts callers. */
  function callerOf(input: HandleInput) {
    return {
      userId: input.data.userId,
      connectionId: input.connId,
      address: input.transport.remoteAddress,
    };
  }

  async function method(input: HandleInput, log: Logger): Promise<SessionOutcome> {
    const { message } = input;
    const { id, method: name, params = [] } = message;
    if (typeof id !== "string" || typeof name !== "string" || !Array.isArray(params))
      return { data: input.data, frames: [badRequest(message)] };
    try {
      services.ddpRateLimiter.check({ ...callerOf(input), type: "method", name });
      const { data, result } = await run(input, name, params);
      const answer = stringifyEJSON({ msg: "result", id, ...(result !== undefined && { result }) });
      return { data, frames: [answer, JSON.stringify({ msg: "updated", methods: [id] })] };
    } catch (error) {
      return { data: input.data, frames: failureFrames(message, meteorError(error, log)) };
    }
  }

  const handle: SessionHandle = async (input) => {
    const log = options.log.child({ connId: input.connId, userId: input.data.userId });
    const { message, data } = input;
    switch (message.msg) {
      case "method":
        return method(input, log);
      case "sub":
        try {
          const name = typeof message.name === "string" ? message.name : "";
          services.ddpRateLimiter.check({ ...callerOf(input), type: "subscription", name });
        } catch (error) {
          return { data, frames: failureFrames(message, meteorError(error, log)) };
        }
        return openSub(services, data, await currentUser(data), message, log);
      case "unsub":
        return closeSub(data, message.id);
      case "connect":
        return { data, frames: [badRequest(message, "Already connected")] };
      default:
        return { data, frames: [badRequest(message)] };
    }
  };

  const guarded = options.wrapHandle ? options.wrapHandle(handle) : handle;
  return async (input) => {
    await nextTurn();
    try {
      return await guarded(input);
    } catch (error) {
      // A fault outside any method's own error handling: the client still gets its answer,
      // and the session goes on with the data it had before this message.
      const log = options.log.child({ connId: input.connId, userId: input.data.userId });
      return { data: input.data, frames: failureFrames(input.message, meteorError(error, log)) };
    }
  };
}
