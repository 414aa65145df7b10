import { describe, expect, test } from "bun:test";
import { createActor, fromPromise, SimulatedClock } from "xstate";
import {
  type SessionData,
  sessionMachine,
  type SessionTransport,
  type SessionWork,
} from "../actors/session.ts";

/** A transport that records what the session does to its socket. */
function recordingTransport() {
  const sent: unknown[] = [];
  const closed: { code: number; reason: string }[] = [];
  const transport: SessionTransport = {
    send: (frame) => void sent.push(JSON.parse(frame)),
    subscribe: () => {},
    unsubscribe: () => {},
    publishToOthers: () => {},
    close: (code, reason) => void closed.push({ code, reason }),
    remoteAddress: "127.0.0.1",
  };
  return { transport, sent, closed };
}

/** A `handle` effect that records each unit of work and finishes when told to. */
function controlledHandler() {
  const started: SessionWork[] = [];
  const finishers: (() => void)[] = [];
  const logic = fromPromise<
    SessionData,
    { connId: string; transport: SessionTransport; data: SessionData; work: SessionWork }
  >(({ input }) => {
    started.push(input.work);
    return new Promise((resolve) => finishers.push(() => resolve(input.data)));
  });
  return { logic, started, finish: () => finishers.shift()?.() };
}

function startSession(clock: SimulatedClock, handler = controlledHandler()) {
  const { transport, sent, closed } = recordingTransport();
  const actor = createActor(sessionMachine.provide({ actors: { handle: handler.logic } }), {
    clock,
    input: { connId: "c1", transport, pingMs: 25_000, timeoutMs: 30_000 },
  });
  actor.start();
  return { actor, sent, closed, handler };
}

const connect = {
  type: "message",
  message: { msg: "connect", version: "1", support: ["1"] },
} as const;

describe("session actor", () => {
  test("answers connect with connected and its session id", () => {
    const { actor, sent } = startSession(new SimulatedClock());

    actor.send(connect);

    expect(sent).toEqual([{ msg: "connected", session: "c1" }]);
  });

  test("refuses an unsupported protocol version and closes", () => {
    const { actor, sent, closed } = startSession(new SimulatedClock());

    actor.send({ type: "message", message: { msg: "connect", version: "99", support: ["99"] } });

    expect(sent).toEqual([{ msg: "failed", version: "1" }]);
    expect(closed).toEqual([{ code: 1002, reason: "Protocol error" }]);
  });

  test("pings an idle client and closes it when nothing comes back", () => {
    const clock = new SimulatedClock();
    const { actor, sent, closed } = startSession(clock);
    actor.send(connect);

    clock.increment(25_000);
    expect(sent.at(-1)).toEqual({ msg: "ping" });
    clock.increment(29_999);
    expect(closed).toEqual([]);
    clock.increment(1);

    expect(closed).toEqual([{ code: 4000, reason: "TIMEOUT" }]);
  });

  test("any frame from the client restarts the idle timer", () => {
    const clock = new SimulatedClock();
    const { actor, sent, closed } = startSession(clock);
    actor.send(connect);

    clock.increment(20_000);
    actor.send({ type: "message", message: { msg: "pong" } });
    clock.increment(20_000);

    expect(sent).toEqual([{ msg: "connected", session: "c1" }]);
    expect(closed).toEqual([]);
  });

  test("answers a ping at once even while a method is running", () => {
    const { actor, sent, handler } = startSession(new SimulatedClock());
    actor.send(connect);
    actor.send({
      type: "message",
      message: { msg: "method", id: "1", method: "slow", params: [] },
    });

    actor.send({ type: "message", message: { msg: "ping", id: "p" } });

    expect(handler.started).toHaveLength(1);
    expect(sent.at(-1)).toEqual({ msg: "pong", id: "p" });
  });

  test("runs messages one at a time, in order, each exactly once", async () => {
    const { actor, handler } = startSession(new SimulatedClock());
    actor.send(connect);
    for (const id of ["1", "2", "3"]) {
      actor.send({ type: "message", message: { msg: "method", id, method: "m", params: [] } });
    }
    expect(handler.started).toHaveLength(1);

    for (let i = 0; i < 3; i++) {
      handler.finish();
      await new Promise((resolve) => setImmediate(resolve));
    }

    const ids = handler.started.map((w) => (w.kind === "message" ? w.message.id : w.signal.type));
    expect(ids).toEqual(["1", "2", "3"]);
  });
});
