/**
 * Omnichannel departments and their agents: `livechat/department` (list, create),
 * `livechat/department/:_id` (read, update, remove) and `livechat/department/:_id/agents`
 * (list, add and remove agents). A department has a queue of its own; adding agents to it
 * lets its queue route to them at once.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { LivechatDepartment } from "../core/livechat-models.ts";
import type { Logger } from "../core/logger.ts";
import { escapeRegex } from "../services/discovery.ts";
import type { Services } from "../services/index.ts";
import type { User } from "../core/models.ts";
import { isAgent } from "../services/livechat-agents.ts";
import { apiBase, ok, pagination } from "./http.ts";

const TAGS = ["Omnichannel departments"];

const DepartmentFields = t.Object({
  name: t.String({ minLength: 1 }),
  enabled: t.Boolean(),
  email: t.String(),
  showOnRegistration: t.Boolean(),
  showOnOfflineForm: t.Boolean(),
  description: t.Optional(t.String()),
  maxNumberSimultaneousChat: t.Optional(t.Number()),
  requestTagBeforeClosingChat: t.Optional(t.Boolean()),
  chatClosingTags: t.Optional(t.Array(t.String())),
});

const AgentLink = t.Object({
  agentId: t.String(),
  username: t.Optional(t.String()),
  count: t.Optional(t.Number()),
  order: t.Optional(t.Number()),
});

type Link = typeof AgentLink.static;

function notFound(): ClientError {
  return new ClientError("error-department-not-found", "Department not found");
}

/** The department Omnichannel routes. */
export function livechatDepartmentRoutes(services: Services, log: Logger) {
  const { db, clock, ids, queues } = services.deps;
  const View = { permissions: ["view-livechat-departments", "view-l-room"], any: true };
  const Manage = { permissions: ["manage-livechat-departments"] };

  async function department(id: string): Promise<LivechatDepartment> {
    const found = await db.livechatDepartments.findOne({ _id: id });
    if (!found) throw notFound();
    return found;
  }

  /**
   * The agents `links` name, each checked to be an agent: refused with
   * `error-user-is-not-agent` before anything is written.
   */
  async function agentsOf(links: readonly Link[]): Promise<{ link: Link; agent: User }[]> {
    const found = [];
    for (const link of links) {
      const agent = await db.users.findOne({ _id: link.agentId });
      if (!agent || !isAgent(agent))
        throw new ClientError("error-user-is-not-agent", "User is not a livechat agent");
      found.push({ link, agent });
    }
    return found;
  }

  /**
   * Adds (checked beforehand by agentsOf) and removes agents of department `dept`, keeps
   * its count, and lets its queue route.
   */
  async function changeAgents(
    dept: LivechatDepartment,
    upsert: readonly { link: Link; agent: User }[],
    remove: readonly Link[],
  ) {
    const id = dept._id;
    const now = clock.now();
    for (const { link, agent } of upsert) {
      await db.livechatDepartmentAgents.updateOne(
        { departmentId: id, agentId: agent._id },
        {
          $set: {
            username: agent.username,
            count: link.count ?? 0,
            order: link.order ?? 0,
            departmentEnabled: dept.enabled,
            _updatedAt: now,
          },
          $setOnInsert: { _id: ids.id() },
        },
        { upsert: true },
      );
    }
    for (const link of remove) {
      await db.livechatDepartmentAgents.deleteOne({ departmentId: id, agentId: link.agentId });
    }
    const numAgents = await db.livechatDepartmentAgents.countDocuments({ departmentId: id });
    await db.livechatDepartments.updateOne({ _id: id }, { $set: { numAgents, _updatedAt: now } });
  }

  async function withAgents(id: string) {
    const agents = await db.livechatDepartmentAgents.find(
      { departmentId: id },
      { sort: { username: 1 } },
    );
    return { department: await department(id), agents };
  }

  return new Elysia({ prefix: "/api/v1/livechat" })
    .use(apiBase(services, log))
    .get(
      "/department",
      async ({ query }) => {
        const { count, offset } = pagination(services, query);
        const filter = {
          ...(query.enabled === "true" && { enabled: true }),
          ...(query.text && {
            name: { $regex: escapeRegex(query.text), $options: "i" },
          }),
        };
        const [departments, total] = await Promise.all([
          db.livechatDepartments.find(filter, { sort: { name: 1 }, skip: offset, limit: count }),
          db.livechatDepartments.countDocuments(filter),
        ]);
        return ok({ departments, count: departments.length, offset, total });
      },
      {
        access: View,
        query: t.Object({
          text: t.Optional(t.String()),
          enabled: t.Optional(t.String()),
          count: t.Optional(t.String()),
          offset: t.Optional(t.String()),
        }),
        detail: { summary: "The departments", tags: TAGS },
      },
    )
    .post(
      "/department",
      async ({ body }) => {
        const agents = await agentsOf(body.agents ?? []);
        const now = clock.now();
        const created: LivechatDepartment = {
          _id: ids.id(),
          ...body.department,
          numAgents: 0,
          _updatedAt: now,
        };
        await db.livechatDepartments.insertOne(created);
        await changeAgents(created, agents, []);
        queues.tell(created._id, { kind: "route" });
        return ok(await withAgents(created._id));
      },
      {
        access: Manage,
        body: t.Object({ department: DepartmentFields, agents: t.Optional(t.Array(AgentLink)) }),
        detail: { summary: "Create a department, with its agents", tags: TAGS },
      },
    )
    .get("/department/:_id", async ({ params }) => ok(await withAgents(params._id)), {
      access: View,
      detail: { summary: "A department and its agents", tags: TAGS },
    })
    .put(
      "/department/:_id",
      async ({ params, body }) => {
        await department(params._id);
        const agents = body.agents && (await agentsOf(body.agents));
        const updated = (await db.livechatDepartments.findOneAndUpdate(
          { _id: params._id },
          { $set: { ...body.department, _updatedAt: clock.now() } },
        )) as LivechatDepartment;
        await db.livechatDepartmentAgents.updateMany(
          { departmentId: params._id },
          { $set: { departmentEnabled: body.department.enabled } },
        );
        if (agents) {
          const current = await db.livechatDepartmentAgents.find({ departmentId: params._id });
          const keep = new Set(agents.map((a) => a.agent._id));
          const remove = current
            .filter((c) => !keep.has(c.agentId))
            .map((c) => ({ agentId: c.agentId }));
          await changeAgents(updated, agents, remove);
        }
        // A raised limit, or new agents, may let the department's queue give out what waits.
        queues.tell(params._id, { kind: "route" });
        return ok(await withAgents(params._id));
      },
      {
        access: Manage,
        body: t.Object({ department: DepartmentFields, agents: t.Optional(t.Array(AgentLink)) }),
        detail: { summary: "Change a department (and replace its agents when given)", tags: TAGS },
      },
    )
    .delete(
      "/department/:_id",
      async ({ params }) => {
        await department(params._id);
        const open = await db.rooms.countDocuments({
          t: "l",
          open: true,
          departmentId: params._id,
        });
        if (open > 0) {
          throw new ClientError("department-has-open-rooms", "Department has open rooms");
        }
        await db.livechatDepartmentAgents.deleteMany({ departmentId: params._id });
        await db.livechatDepartments.deleteOne({ _id: params._id });
        return ok();
      },
      {
        access: {
          permissions: ["manage-livechat-departments", "remove-livechat-department"],
          any: true,
        },
        detail: { summary: "Remove a department without open conversations", tags: TAGS },
      },
    )
    .get(
      "/department/:_id/agents",
      async ({ params, query }) => {
        await department(params._id);
        const { count, offset } = pagination(services, query);
        const filter = { departmentId: params._id };
        const [agents, total] = await Promise.all([
          db.livechatDepartmentAgents.find(filter, {
            sort: { username: 1 },
            skip: offset,
            limit: count,
          }),
          db.livechatDepartmentAgents.countDocuments(filter),
        ]);
        return ok({ agents, count: agents.length, offset, total });
      },
      {
        access: View,
        query: t.Object({ count: t.Optional(t.String()), offset: t.Optional(t.String()) }),
        detail: { summary: "The agents of a department", tags: TAGS },
      },
    )
    .post(
      "/department/:_id/agents",
      async ({ params, body }) => {
        const dept = await department(params._id);
        const agents = await agentsOf(body.upsert ?? []);
        await changeAgents(dept, agents, body.remove ?? []);
        queues.tell(params._id, { kind: "route" });
        return ok();
      },
      {
        access: {
          permissions: ["manage-livechat-departments", "add-livechat-department-agents"],
          any: true,
        },
        body: t.Object({
          upsert: t.Optional(t.Array(AgentLink)),
          remove: t.Optional(t.Array(AgentLink)),
        }),
        detail: { summary: "Add and remove agents of a department", tags: TAGS },
      },
    );
}
