import { describe, expect, test } from "bun:test";
import { createActor, fromPromise, SimulatedClock } from "xstate";
import {
  type DdpMessage,
  type HandleInput,
  MAX_QUEUED_BYTES,
  MAX_QUEUED_FRAMES,
  type SessionData,
  sessionMachine,
  type SessionOutcome,
  type SessionTransport,
} from "../actors/session.ts";
import { topicOf } from "../core/hub.ts";

/** A transport that records what the session does to its socket. */
function recordingTransport() {
  const sent: unknown[] = [];
  const closed: { code: number; reason: string }[] = [];
  const topics = new Set<string>();
  const subscribed: string[] = [];
  const transport: SessionTransport = {
    send: (frame) => void sent.push(JSON.parse(frame)),
    subscribe: (topic) => {
      topics.add(topic);
      subscribed.push(topic);
    },
    unsubscribe: (topic) => void topics.delete(topic),
    publishToOthers: () => {},
    listenAs: () => {},
    close: (code, reason) => void closed.push({ code, reason }),
    remoteAddress: "127.0.0.1",
  };
  return { transport, sent, closed, topics, subscribed };
}

/** A `handle` effect that records each message and finishes when told to, with `outcome`. */
function controlledHandler() {
  const started: HandleInput[] = [];
  const finishers: ((change?: (data: SessionData) => SessionOutcome) => void)[] = [];
  const logic = fromPromise<SessionOutcome, HandleInput>(({ input }) => {
    started.push(input);
    return new Promise((resolve) =>
      finishers.push((change) => resolve(change?.(input.data) ?? { data: input.data, frames: [] })),
    );
  });
  const finish = async (change?: (data: SessionData) => SessionOutcome) => {
    finishers.shift()?.(change);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { logic, started, finish };
}

function startSession(clock: SimulatedClock, restored?: SessionData) {
  const handler = controlledHandler();
  const recorded = recordingTransport();
  const actor = createActor(sessionMachine.provide({ actors: { handle: handler.logic } }), {
    clock,
    input: {
      connId: "c1",
      transport: recorded.transport,
      pingMs: 25_000,
      timeoutMs: 30_000,
      ...(restored && { restored }),
    },
  });
  actor.start();
  return { actor, handler, ...recorded };
}

/** The event of a frame from the client, sized as its JSON text unless `bytes` says otherwise. */
function frame(message: DdpMessage, bytes = JSON.stringify(message).length) {
  return { type: "message", message, bytes } as const;
}

const connect = frame({ msg: "connect", version: "1", support: ["1"] });

function call(id: string, bytes?: number) {
  return frame({ msg: "method", id, method: "m", params: [] }, bytes);
}

const GROUP = "group0000000000001";
const groupTopic = topicOf("stream-room-messages", GROUP);
const groupSub = { name: "stream-room-messages", eventName: GROUP, topics: [groupTopic] };

/** Bob's session, subscribed to the group as `sub1`. */
const bobInGroup: SessionData = {
  userId: "bob",
  hashedToken: "bob-token",
  subs: { sub1: { ...groupSub, userId: "bob" } },
};

const kickBob = {
  type: "signal",
  uid: "bob",
  signal: { type: "room-access-revoked", rid: GROUP },
} as const;

describe("session actor", () => {
  test("answers connect with connected and its session id", () => {
    const { actor, sent } = startSession(new SimulatedClock());

    actor.send(connect);

    expect(sent).toEqual([{ msg: "connected", session: "c1" }]);
  });

  test("refuses an unsupported protocol version and closes", () => {
    const { actor, sent, closed } = startSession(new SimulatedClock());

    actor.send(frame({ msg: "connect", version: "99", support: ["99"] }));

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
    actor.send(frame({ msg: "pong" }));
    clock.increment(20_000);

    expect(sent).toEqual([{ msg: "connected", session: "c1" }]);
    expect(closed).toEqual([]);
  });

  test("answers a ping at once even while a method is running", () => {
    const { actor, sent, handler } = startSession(new SimulatedClock());
    actor.send(connect);
    actor.send(call("1"));

    actor.send(frame({ msg: "ping", id: "p" }));

    expect(handler.started).toHaveLength(1);
    expect(sent.at(-1)).toEqual({ msg: "pong", id: "p" });
  });

  test("runs messages one at a time, in order, each exactly once", async () => {
    const { actor, handler } = startSession(new SimulatedClock());
    actor.send(connect);
    for (const id of ["1", "2", "3"]) actor.send(call(id));
    expect(handler.started).toHaveLength(1);

    for (let i = 0; i < 3; i++) await handler.finish();

    expect(handler.started.map((input) => input.message.id)).toEqual(["1", "2", "3"]);
  });
});

describe("session actor queue limits", () => {
  test(`closes the socket with 1008 when a frame would queue more than ${MAX_QUEUED_FRAMES}`, () => {
    const { actor, closed } = startSession(new SimulatedClock());
    actor.send(connect);
    for (let i = 0; i < MAX_QUEUED_FRAMES; i++) actor.send(call(String(i)));
    expect(closed).toEqual([]);

    actor.send(call("one too many"));

    expect(closed).toEqual([{ code: 1008, reason: "Too many queued messages" }]);
  });

  test("closes the socket with 1008 when queued frames would pass 4 MB", () => {
    const { actor, closed } = startSession(new SimulatedClock());
    actor.send(connect);
    const quarter = MAX_QUEUED_BYTES / 4;
    for (let i = 0; i < 4; i++) actor.send(call(String(i), quarter));
    expect(closed).toEqual([]);

    actor.send(call("one byte too many", 1));

    expect(closed).toEqual([{ code: 1008, reason: "Too many queued messages" }]);
  });

  test("frames that finished no longer count against the limit", async () => {
    const { actor, closed, handler } = startSession(new SimulatedClock());
    actor.send(connect);
    for (let i = 0; i < MAX_QUEUED_FRAMES; i++) actor.send(call(String(i)));

    await handler.finish();
    actor.send(call("fits again"));

    expect(closed).toEqual([]);
  });

  test("runs nothing more once it closed the socket for its queue", async () => {
    const { actor, handler } = startSession(new SimulatedClock());
    actor.send(connect);
    for (let i = 0; i <= MAX_QUEUED_FRAMES; i++) actor.send(call(String(i)));

    await handler.finish();
    actor.send(call("after the close"));

    expect(handler.started).toHaveLength(1);
  });
});

describe("session actor signals", () => {
  test("a revoked room's subscription ends at once while a method is running", () => {
    const { actor, sent, topics, handler } = startSession(new SimulatedClock(), bobInGroup);
    topics.add(groupTopic);
    actor.send(call("slow"));

    actor.send(kickBob);

    expect(handler.started).toHaveLength(1);
    expect(sent).toEqual([{ msg: "nosub", id: "sub1" }]);
    expect([...topics]).toEqual([]);
  });

  test("a subscription authorized before a revocation but finishing after it never opens", async () => {
    const bob: SessionData = { userId: "bob", hashedToken: "bob-token", subs: {} };
    const { actor, sent, subscribed, handler } = startSession(new SimulatedClock(), bob);
    actor.send(frame({ msg: "sub", id: "sub1", name: "stream-room-messages", params: [GROUP] }));

    actor.send(kickBob);
    await handler.finish((data) => ({ data: { ...data, subs: bobInGroup.subs }, frames: [] }));

    expect(sent).toEqual([{ msg: "nosub", id: "sub1" }]);
    expect(subscribed).toEqual([]);
  });

  test("a revocation about another user leaves the session's subscriptions alone", () => {
    const { actor, sent, topics } = startSession(new SimulatedClock(), bobInGroup);
    topics.add(groupTopic);

    actor.send({ ...kickBob, uid: "carol" });

    expect(sent).toEqual([]);
    expect([...topics]).toEqual([groupTopic]);
  });

  test("a logout of the session's token closes it while a method is running", () => {
    const { actor, closed, topics } = startSession(new SimulatedClock(), bobInGroup);
    topics.add(groupTopic);
    actor.send(call("slow"));

    actor.send({
      type: "signal",
      uid: "bob",
      signal: { type: "logged-out", hashedToken: "bob-token" },
    });

    expect(closed).toEqual([{ code: 1000, reason: "Logged out" }]);
    expect([...topics]).toEqual([]);
  });
});
