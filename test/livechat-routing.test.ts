/**
 * Routing at load: 200 visitors start conversations at once against 5 agents under a
 * per-agent limit and a department limit. Every conversation is routed exactly once, no
 * agent ever serves more than their limits allow, and what waits is routed as agents
 * close conversations, until all 200 were served.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { api, startTestServer, type TestServer } from "./helpers.ts";
import { type Agent, newVisitor, startAgent } from "./livechat-helpers.ts";

const VISITORS = 200;
const AGENT_LIMIT = 30;
const DEPARTMENT_LIMIT = 8;
const SALES_VISITORS = 50;

let server: TestServer;
const agents: Agent[] = [];

beforeAll(async () => {
  server = await startTestServer();
  await api(server, "settings/Livechat_maximum_chats_per_agent", {
    auth: server.admin,
    body: { value: AGENT_LIMIT },
  });
});

afterAll(async () => {
  for (const agent of agents) agent.close();
  await server.stop();
});

/** Runs `work` over `items`, `width` at a time. */
async function inBatches<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>) {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    results.push(...(await Promise.all(items.slice(i, i + width).map(work))));
  }
  return results;
}

test("200 visitors against 5 agents are each routed once, within every limit", async () => {
  for (let i = 0; i < 5; i += 1) agents.push(await startAgent(server, `load.agent${i}`));
  const sales = await api(server, "livechat/department", {
    auth: server.admin,
    body: {
      department: {
        name: "Sales",
        enabled: true,
        email: "sales@example.com",
        showOnRegistration: true,
        showOnOfflineForm: false,
        maxNumberSimultaneousChat: DEPARTMENT_LIMIT,
      },
      agents: agents.slice(0, 3).map((a) => ({ agentId: a.user._id })),
    },
  });
  const salesId = sales.body.department._id as string;
  const { db } = server.parley.services.deps;

  // What each agent is given and loses, as their own subscription events tell them.
  const servedBy = new Map<string, string[]>();
  const open = new Map<string, Set<string>>();
  const peak = new Map<string, number>();
  const departmentOf = new Map<string, string | undefined>();
  const peakInSales = new Map<string, number>();
  let served = 0;
  let waiter: { count: number; resolve: () => void } | undefined;
  for (const agent of agents) {
    const uid = agent.user._id;
    open.set(uid, new Set());
    const stream = agent.sdk.stream(
      "notify-user",
      `${uid}/subscriptions-changed`,
      (...args: unknown[]) => {
        const [action, sub] = args as [string, { rid: string }];
        const mine = open.get(uid) as Set<string>;
        if (action === "inserted") {
          servedBy.set(sub.rid, [...(servedBy.get(sub.rid) ?? []), uid]);
          mine.add(sub.rid);
          peak.set(uid, Math.max(peak.get(uid) ?? 0, mine.size));
          const inSales = [...mine].filter((rid) => departmentOf.get(rid) === salesId).length;
          peakInSales.set(uid, Math.max(peakInSales.get(uid) ?? 0, inSales));
          served += 1;
          if (waiter && served >= waiter.count) waiter.resolve();
        } else if (action === "removed") {
          mine.delete(sub.rid);
        }
      },
    );
    await stream.ready();
  }
  const servedReaches = (count: number) =>
    new Promise<void>((resolve) => {
      if (served >= count) return resolve();
      waiter = { count, resolve };
    });

  const visitors = await inBatches([...Array(VISITORS).keys()], 25, (i) =>
    newVisitor(server, i < SALES_VISITORS ? { department: salesId } : {}),
  );
  const rooms = await inBatches(visitors, 25, async ({ token }) => {
    const res = await api(server, "livechat/room", { query: { token } });
    return res.body.room as { _id: string; departmentId?: string };
  });
  for (const room of rooms) departmentOf.set(room._id, room.departmentId);
  expect(rooms.filter((r) => r.departmentId === salesId)).toHaveLength(SALES_VISITORS);

  // Capacity is 5 x 30: the first 150 are served, the rest wait.
  await servedReaches(5 * AGENT_LIMIT);
  const queued = await api(server, "livechat/inquiries.list", {
    auth: server.admin,
    query: { count: "0" },
  });
  expect(queued.body.total).toBe(VISITORS - 5 * AGENT_LIMIT);

  // Agents close what they serve; each close lets the queues route one more.
  const closed = new Set<string>();
  while (closed.size < VISITORS) {
    const batch = agents.flatMap((agent) =>
      [...(open.get(agent.user._id) as Set<string>)]
        .filter((rid) => !closed.has(rid))
        .map((rid) => ({ agent, rid })),
    );
    expect(batch.length).toBeGreaterThan(0);
    await inBatches(batch, 20, async ({ agent, rid }) => {
      closed.add(rid);
      const res = await api(server, "livechat/room.closeByUser", {
        auth: agent.credentials,
        body: { rid, comment: "done" },
      });
      expect(res.body).toEqual({ success: true });
    });
    // Each close told the queues to route; a routing pass awaited behind those tells
    // finds them done, and then the store says how many were served in all.
    for (const key of ["", salesId]) await server.parley.queues.execute(key, { kind: "route" });
    const serving = await db.rooms.countDocuments({
      t: "l",
      open: true,
      servedBy: { $exists: true },
    });
    await servedReaches(closed.size + serving);
  }

  expect(served).toBe(VISITORS);
  for (const room of rooms) expect(servedBy.get(room._id)).toHaveLength(1);
  for (const agent of agents) expect(peak.get(agent.user._id)).toBeLessThanOrEqual(AGENT_LIMIT);
  for (const agent of agents.slice(0, 3)) {
    expect(peakInSales.get(agent.user._id)).toBeLessThanOrEqual(DEPARTMENT_LIMIT);
  }
  const left = await db.livechatInquiries.countDocuments({
    status: "queued",
  });
  expect(left).toBe(0);
}, 120_000);
