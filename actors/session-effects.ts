/**
 * What a session actor does with one DDP message or signal: run a method, open or close
 * a subscription (session-subs.ts), log in or out. Every answer goes back through the
 * session's transport; errors take Meteor's error shape from `meteorError`
 * (services/methods.ts), which REST's `method.call` tunnel shares. A fault while handling
 * one message is answered as an internal error and never ends the session.
 */
import { stringifyEJSON } from "../core/ejson.ts";
import { type SessionSignal, streamFrame } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import { hashLoginToken } from "../core/password.ts";
import type { Services } from "../services/index.ts";
import { callMethod, login, loginAnswer, meteorError } from "../services/methods.ts";
import { authorizeEmit } from "../services/streams.ts";
import type { DdpMessage, SessionData, SessionTransport, SessionWork } from "./session.ts";
import {
  badRequest,
  closeSub,
  endPrivateSubs,
  grantRoom,
  openSub,
  revokeRoom,
} from "./session-subs.ts";

/** Handles one unit of work; resolves to the session's new data. */
export type SessionHandle = (input: HandleInput) => Promise<SessionData>;

export interface SessionEffectsOptions {
  readonly services: Services;
  readonly log: Logger;
  /** Tells the connection registry which user a connection now belongs to. */
  readonly bindUser: (connId: string, userId: string | null) => void;
  /** Wraps the handling of each unit of work (tests use it to inject faults). */
  readonly wrapHandle?: (real: SessionHandle) => SessionHandle;
}

export interface HandleInput {
  readonly connId: string;
  readonly transport: SessionTransport;
  readonly data: SessionData;
  readonly work: SessionWork;
}

/** Sends the answer a client waits for when its method or subscription failed with `error`. */
function answerFailure(
  transport: SessionTransport,
  work: SessionWork,
  error: Record<string, unknown>,
): void {
  if (work.kind !== "message" || typeof work.message.id !== "string") return;
  const { id, msg } = work.message;
  if (msg === "method") {
    transport.send(stringifyEJSON({ msg: "result", id, error }));
    transport.send(JSON.stringify({ msg: "updated", methods: [id] }));
  } else if (msg === "sub") {
    transport.send(stringifyEJSON({ msg: "nosub", id, error }));
  }
}

/** Builds the session actor's `handle` effect. */
export function sessionEffects(options: SessionEffectsOptions): SessionHandle {
  const { services, bindUser } = options;

  async function currentUser(data: SessionData): Promise<User | null> {
    if (!data.userId) return null;
    const user = await services.deps.db.users.findOne({ _id: data.userId });
    return user?.active ? user : null;
  }

  /** Runs `login`, `logout`, a client emit on a stream, or a registered method. */
  async function run(
    input: HandleInput,
    name: string,
    params: unknown[],
  ): Promise<{ data: SessionData; result: unknown }> {
    const { transport, connId, data } = input;
    if (name === "login") {
      const { result, type } = await login(services, params[0]);
      bindUser(connId, result.user._id);
      const next = {
        ...data,
        userId: result.user._id,
        hashedToken: await hashLoginToken(result.token),
      };
      return { data: next, result: loginAnswer(result, type) };
    }
    if (name === "logout") {
      if (data.userId && data.hashedToken)
        await services.accounts.logoutHashed(data.userId, data.hashedToken);
      bindUser(connId, null);
      return {
        data: endPrivateSubs(transport, { ...data, userId: null, hashedToken: null }),
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
    const result = await callMethod(
      services,
      { user: await currentUser(data), connectionId: connId },
      name,
      params,
    );
    return { data, result };
  }

  async function method(
    input: HandleInput,
    message: DdpMessage,
    log: Logger,
  ): Promise<SessionData> {
    const { transport } = input;
    const { id, method: name, params = [] } = message;
    if (typeof id !== "string" || typeof name !== "string" || !Array.isArray(params)) {
      badRequest(transport, message);
      return input.data;
    }
    try {
      const { data, result } = await run(input, name, params);
      transport.send(
        stringifyEJSON({ msg: "result", id, ...(result !== undefined && { result }) }),
      );
      transport.send(JSON.stringify({ msg: "updated", methods: [id] }));
      return data;
    } catch (error) {
      answerFailure(transport, input.work, meteorError(error, log));
      return input.data;
    }
  }

  function signal(input: HandleInput, signal: SessionSignal): SessionData {
    const { transport, data } = input;
    switch (signal.type) {
      case "logged-out":
        if (!signal.hashedToken || signal.hashedToken === data.hashedToken)
          transport.close(1000, "Logged out");
        return data;
      case "room-access-granted":
        return grantRoom(transport, data, signal.rid);
      case "room-access-revoked":
        return revokeRoom(transport, data, signal.rid);
    }
  }

  const handle: SessionHandle = async (input) => {
    const log = options.log.child({ connId: input.connId, userId: input.data.userId });
    const { work, transport, data } = input;
    if (work.kind === "signal") return signal(input, work.signal);
    const { message } = work;
    switch (message.msg) {
      case "method":
        return method(input, message, log);
      case "sub":
        return openSub(services, transport, data, await currentUser(data), message, log);
      case "unsub":
        return closeSub(transport, data, message.id);
      case "connect":
        badRequest(transport, message, "Already connected");
        return data;
      default:
        badRequest(transport, message);
        return data;
    }
  };

  const guarded = options.wrapHandle ? options.wrapHandle(handle) : handle;
  return async (input) => {
    try {
      return await guarded(input);
    } catch (error) {
      // A fault outside any method's own error handling: the client still gets its answer,
      // and the session goes on with the data it had before this message.
      const log = options.log.child({ connId: input.connId, userId: input.data.userId });
      answerFailure(input.transport, input.work, meteorError(error, log));
      return input.data;
    }
  };
}
