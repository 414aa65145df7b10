/**
 * What becomes of the conversations an agent serves when they leave service, as
 * Livechat_agent_leave_action says: kept (`none`), closed or forwarded once the agent has
 * been out of service for Livechat_agent_leave_action_timeout seconds. The test fires the
 * leave action's timers itself, so nothing waits for real seconds.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import type { LeaveTimers } from "../services/livechat-agent-leave.ts";
import { api, RawDdp, setSettings, startTestServer, type TestServer } from "./helpers.ts";
import { type Agent, newVisitor, startAgent } from "./livechat-helpers.ts";

/** Timers that run only when the test fires them. */
class HandTimers implements LeaveTimers {
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  private nextId = 0;
  private waiter: (() => void) | undefined;

  setTimeout(fn: () => void, ms: number): unknown {
    this.nextId += 1;
    this.pending.set(this.nextId, { fn, ms });
    this.waiter?.();
    return this.nextId;
  }

  clearTimeout(id: unknown): void {
    this.pending.delete(id as number);
  }

  /** Resolves once a timer is pending. */
  started(): Promise<void> {
    if (this.pending.size > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Runs every pending timer. */
  fire(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const timer of due) timer.fn();
  }
}

const timers = new HandTimers();
let server: TestServer;
const agents: Agent[] = [];

/** An administrator's connection that watches everyone's presence. */
let watcher: RawDdp;

beforeAll(async () => {
  server = await startTestServer({ leaveTimers: timers });
  await setting("Livechat_Routing_Method", "Manual_Selection");
  watcher = await RawDdp.connect(server.wsUrl);
  await watcher.resume(server.admin.authToken);
  await watcher.sub("stream-notify-logged", "user-status", false);
});

afterEach(async () => {
  await setting("Livechat_agent_leave_action", "none");
  await setting("Livechat_Routing_Method", "Manual_Selection");
  // Each agent is seen offline before the next test, so that no late presence change of
  // theirs starts a wait there.
  const offline = agents.map((a) =>
    watcher.streamEvent("stream-notify-logged", "user-status", (args) => {
      const [uid, , code] = args[0] as [string, string, number];
      return uid === a.user._id && code === 0;
    }),
  );
  for (const agent of agents.splice(0)) agent.close();
  await Promise.all(offline);
  timers.pending.clear();
});

afterAll(async () => {
  watcher.close();
  await server.stop();
});

function setting(id: string, value: unknown) {
  return setSettings(server, { [id]: value });
}

async function agent(name: string) {
  const started = await startAgent(server, name);
  agents.push(started);
  return started;
}

/** A new visitor's conversation, taken by `by`, watched as the visitor's widget watches it. */
async function served(by: Agent) {
  const { token, visitor } = await newVisitor(server);
  const room = (await api(server, "livechat/room", { query: { token } })).body.room as {
    _id: string;
  };
  const inquiry = await api(server, "livechat/inquiries.getOne", {
    auth: server.admin,
    query: { roomId: room._id },
  });
  await api(server, "livechat/inquiries.take", {
    auth: by.credentials,
    body: { inquiryId: inquiry.body.inquiry._id },
  });
  const widget = await RawDdp.connect(server.wsUrl);
  await widget.sub("stream-room-messages", room._id, {
    useCollection: false,
    args: [{ token, visitorToken: token }],
  });
  return { token, visitor, room, widget };
}

function setAvailable(who: Agent, status: "available" | "not-available") {
  return api(server, "livechat/agent.status", { auth: who.credentials, body: { status } });
}

test("with `close`, an agent who stays unavailable has their conversations closed with the comment", async () => {
  await setting("Livechat_agent_leave_action", "close");
  await setting("Livechat_agent_leave_comment", "Agent left");
  const ann = await agent("ann");
  const { room, widget } = await served(ann);
  const closing = widget.streamEvent(
    "stream-room-messages",
    room._id,
    (args) => (args[0] as { t?: string }).t === "livechat-close",
  );

  await setAvailable(ann, "not-available");
  const [timer] = [...timers.pending.values()];
  timers.fire();

  expect(timer?.ms).toBe(60_000);
  expect((await closing)[0]).toMatchObject({ msg: "Agent left", u: { _id: ann.user._id } });
  const stored = await server.parley.services.deps.db.rooms.findOne({ _id: room._id });
  expect(stored).toMatchObject({ closer: "user", closedBy: { _id: ann.user._id } });
  expect(stored?.open).toBeUndefined();
  widget.close();
});

test("an agent whose presence goes offline starts the wait too", async () => {
  await setting("Livechat_agent_leave_action", "close");
  const ben = await agent("ben");
  const { room, widget } = await served(ben);
  const closing = widget.streamEvent(
    "stream-room-messages",
    room._id,
    (args) => (args[0] as { t?: string }).t === "livechat-close",
  );

  ben.close();
  await timers.started();
  timers.fire();

  expect((await closing)[0]).toMatchObject({ u: { _id: ben.user._id } });
  widget.close();
});

test("an agent back in service before the time is up keeps their conversations", async () => {
  await setting("Livechat_agent_leave_action", "close");
  const cal = await agent("cal");
  const { room, widget } = await served(cal);

  await setAvailable(cal, "not-available");
  const waited = timers.pending.size;
  await setAvailable(cal, "available");
  timers.fire();

  expect(waited).toBe(1);
  expect(timers.pending.size).toBe(0);
  const stored = await server.parley.services.deps.db.rooms.findOne({ _id: room._id });
  expect(stored).toMatchObject({ open: true, servedBy: { _id: cal.user._id } });
  widget.close();
});

test("with `none` (the default) nothing waits and the conversations stay", async () => {
  const dan = await agent("dan");
  const { room, widget } = await served(dan);

  await setAvailable(dan, "not-available");

  expect(timers.pending.size).toBe(0);
  const stored = await server.parley.services.deps.db.rooms.findOne({ _id: room._id });
  expect(stored).toMatchObject({ open: true, servedBy: { _id: dan.user._id } });
  widget.close();
});

test("with `forward`, each conversation goes to its visitor's department, whose queue routes it", async () => {
  await setting("Livechat_agent_leave_action", "forward");
  await setting("Livechat_Routing_Method", "Auto_Selection");
  const eli = await agent("eli");
  const fox = await agent("fox");
  const created = await api(server, "livechat/department", {
    auth: server.admin,
    body: {
      department: {
        name: `night-${Date.now()}`,
        enabled: true,
        email: "night@example.com",
        showOnRegistration: true,
        showOnOfflineForm: false,
      },
      agents: [{ agentId: fox.user._id }],
    },
  });
  const departmentId = created.body.department._id as string;
  await setAvailable(fox, "not-available");
  const { room, token, widget } = await served(eli);
  // The visitor picks a department after their conversation started.
  await api(server, "livechat/visitor", { body: { visitor: { token, department: departmentId } } });
  await setAvailable(fox, "available");
  const ddp = await RawDdp.connect(server.wsUrl);
  await ddp.resume(fox.credentials.authToken);
  await ddp.sub("stream-notify-user", `${fox.user._id}/subscriptions-changed`, false);
  const given = ddp.streamEvent(
    "stream-notify-user",
    `${fox.user._id}/subscriptions-changed`,
    (args) => args[0] === "inserted" && (args[1] as { rid: string }).rid === room._id,
  );

  await setAvailable(eli, "not-available");
  timers.fire();

  await given;
  const stored = await server.parley.services.deps.db.rooms.findOne({ _id: room._id });
  expect(stored).toMatchObject({ open: true, departmentId, servedBy: { _id: fox.user._id } });
  ddp.close();
  widget.close();
});
