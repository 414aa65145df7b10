/**
 * What a session actor does with one DDP message or signal: run a method, open or close
 * a subscription, log in or out. Every answer goes back through the session's transport;
 * errors take Meteor's error shape from `meteorError` (services/methods.ts), which REST's
 * `method.call` tunnel shares.
 */
import { stringifyEJSON } from "../core/ejson.ts";
import { streamFrame } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import { hashLoginToken } from "../core/password.ts";
import type { Services } from "../services/index.ts";
import { callMethod, login, loginAnswer, meteorError } from "../services/methods.ts";
import { authorizeEmit, authorizeListen, roomOfEvent } from "../services/streams.ts";
import type { DdpMessage, SessionData, SessionTransport, SessionWork } from "./session.ts";

export interface SessionEffectsOptions {
  readonly services: Services;
  readonly log: Logger;
  /** Tells the connection registry which user a connection now belongs to. */
  readonly bindUser: (connId: string, userId: string | null) => void;
}

export interface HandleInput {
  readonly connId: string;
  readonly transport: SessionTransport;
  readonly data: SessionData;
  readonly work: SessionWork;
}

/** Builds the session actor's `handle` effect. */
export function sessionEffects(options: SessionEffectsOptions): (input: HandleInput) => Promise<SessionData> {
  const { services, bindUser } = options;

  async function currentUser(data: SessionData): Promise<User | null> {
    if (!data.userId) return null;
    const user = await services.deps.db.users.findOne({ _id: data.userId });
    return user?.active ? user : null;
  }

  function dropSubs(transport: SessionTransport, data: SessionData, keep: (eventName: string, name: string) => boolean): SessionData {
    const subs: Record<string, SessionData["subs"][string]> = {};
    const kept = new Set<string>();
    for (const [id, sub] of Object.entries(data.subs)) {
      if (keep(sub.eventName, sub.name)) {
        subs[id] = sub;
        for (const t of sub.topics) kept.add(t);
      } else {
        transport.send(JSON.stringify({ msg: "nosub", id }));
      }
    }
    for (const sub of Object.values(data.subs)) {
      for (const t of sub.topics) if (!kept.has(t)) transport.unsubscribe(t);
    }
    return { ...data, subs };
  }

  async function method(input: HandleInput, message: DdpMessage, log: Logger): Promise<SessionData> {
    const { transport, connId } = input;
    let data = input.data;
    const { id, method: name, params = [] } = message;
    if (typeof id !== "string" || typeof name !== "string" || !Array.isArray(params)) {
      transport.send(JSON.stringify({ msg: "error", reason: "Bad request", offendingMessage: message }));
      return data;
    }
    try {
      let result: unknown;
      if (name === "login") {
        const { result: login_, type } = await login(services, params[0]);
        data = { ...data, userId: login_.user._id, hashedToken: await hashLoginToken(login_.token) };
        bindUser(connId, login_.user._id);
        result = loginAnswer(login_, type);
      } else if (name === "logout") {
        if (data.userId && data.hashedToken) await services.accounts.logoutHashed(data.userId, data.hashedToken);
        data = dropSubs(transport, { ...data, userId: null, hashedToken: null }, () => false);
        bindUser(connId, null);
        result = null;
      } else if (name.startsWith("stream-")) {
        const [eventName, ...args] = params;
        const topic = await authorizeEmit(services, await currentUser(data), name, String(eventName));
        transport.publishToOthers(topic, streamFrame(name, String(eventName), args));
        result = null;
      } else {
        result = await callMethod(services, { user: await currentUser(data), connectionId: connId }, name, params);
      }
      transport.send(stringifyEJSON({ msg: "result", id, ...(result !== undefined && { result }) }));
    } catch (error) {
      transport.send(stringifyEJSON({ msg: "result", id, error: meteorError(error, log) }));
    }
    transport.send(JSON.stringify({ msg: "updated", methods: [id] }));
    return data;
  }

  async function subscribe(input: HandleInput, message: DdpMessage, log: Logger): Promise<SessionData> {
    const { transport, data } = input;
    const { id, name, params = [] } = message;
    if (typeof id !== "string" || typeof name !== "string" || !Array.isArray(params)) {
      transport.send(JSON.stringify({ msg: "error", reason: "Bad request", offendingMessage: message }));
      return data;
    }
    try {
      const eventName = params[0];
      const topics = await authorizeListen(services, await currentUser(data), name, eventName as string);
      for (const topic of topics) transport.subscribe(topic);
      transport.send(JSON.stringify({ msg: "ready", subs: [id] }));
      return { ...data, subs: { ...data.subs, [id]: { name, eventName: eventName as string, topics } } };
    } catch (error) {
      transport.send(stringifyEJSON({ msg: "nosub", id, error: meteorError(error, log) }));
      return data;
    }
  }

  return async (input) => {
    const log = options.log.child({ connId: input.connId, userId: input.data.userId });
    const { work, transport } = input;
    if (work.kind === "signal") {
      const { signal } = work;
      if (signal.type === "logged-out") {
        if (!signal.hashedToken || signal.hashedToken === input.data.hashedToken) transport.close(1000, "Logged out");
        return input.data;
      }
      return dropSubs(transport, input.data, (eventName, name) => roomOfEvent(name, eventName) !== signal.rid);
    }
    const { message } = work;
    switch (message.msg) {
      case "method":
        return method(input, message, log);
      case "sub":
        return subscribe(input, message, log);
      case "unsub":
        return typeof message.id === "string" ? dropOne(transport, input.data, message.id) : input.data;
      default:
        transport.send(JSON.stringify({ msg: "error", reason: "Bad request", offendingMessage: message }));
        return input.data;
    }
  };
}

function dropOne(transport: SessionTransport, data: SessionData, id: string): SessionData {
  const sub = data.subs[id];
  const { [id]: _gone, ...subs } = data.subs;
  if (sub) {
    const stillUsed = new Set(Object.values(subs).flatMap((s) => s.topics));
    for (const t of sub.topics) if (!stillUsed.has(t)) transport.unsubscribe(t);
  }
  transport.send(JSON.stringify({ msg: "nosub", id }));
  return { ...data, subs };
}
