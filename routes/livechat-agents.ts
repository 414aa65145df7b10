/**
 * The Omnichannel routes of agents and managers: who is an agent or a manager
 * (`livechat/users/:type`), an agent's availability (`livechat/agent.status`), the
 * inquiries waiting in the queues (`livechat/inquiries.*`, taking one), and what an agent
 * does to a conversation (`livechat/room.forward`, `livechat/room.closeByUser`).
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { LivechatInquiry } from "../core/livechat-models.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import { escapeRegex } from "../services/discovery.ts";
import type { Services } from "../services/index.ts";
import {
  type AgentAvailability,
  agentView,
  isAgent,
  LIVECHAT_ROLES,
  type LivechatUserType,
  notAnAgent,
} from "../services/livechat-agents.ts";
import { plainRefusal } from "../services/livechat-rooms.ts";
import { apiBase, ok, pagination } from "./http.ts";
import { parseSort } from "./room-params.ts";

const TAGS = ["Omnichannel agents"];

function userType(type: string): LivechatUserType {
  if (type !== "agent" && type !== "manager") throw new ClientError("invalid-type", "Invalid type");
  return type;
}

/** The inquiries agent `user` may see waiting: the default queue's and their departments'. */
async function visibleInquiries(
  services: Services,
  user: User,
  extra: Record<string, unknown> = {},
) {
  const { db } = services.deps;
  const links = await db.livechatDepartmentAgents.find(
    { agentId: user._id },
    { projection: { departmentId: 1 } },
  );
  return db.livechatInquiries.find(
    {
      status: "queued",
      $or: [
        { department: { $exists: false } },
        { department: { $in: links.map((l) => l.departmentId) } },
      ],
      ...extra,
    },
    { sort: { queuedAt: 1 } },
  );
}

/** The agent and manager Omnichannel routes. */
export function livechatAgentRoutes(services: Services, log: Logger) {
  const { db } = services.deps;
  const { livechat } = services;
  const ViewManagers = { permissions: ["view-livechat-manager"] };
  // One page of the inquiries the caller may take, under two names.
  const waitingForCaller = async ({
    me,
    query,
  }: {
    me: User;
    query: { department?: string; count?: string; offset?: string };
  }) => {
    const { count, offset } = pagination(services, query);
    const all = await visibleInquiries(
      services,
      me,
      query.department ? { department: query.department } : {},
    );
    const inquiries = all.slice(offset, offset + count);
    return ok({ inquiries, count: inquiries.length, offset, total: all.length });
  };
  const waitingForCallerOptions = {
    access: { permissions: ["view-l-room"] },
    query: t.Object({
      department: t.Optional(t.String()),
      count: t.Optional(t.String()),
      offset: t.Optional(t.String()),
    }),
  };
  return new Elysia({ prefix: "/api/v1/livechat" })
    .use(apiBase(services, log))
    .get(
      "/users/:type",
      async ({ params, query }) => {
        const role = LIVECHAT_ROLES[userType(params.type)];
        const { count, offset } = pagination(services, query);
        const filter = {
          roles: role,
          ...(query.text && {
            username: { $regex: escapeRegex(query.text), $options: "i" },
          }),
        };
        const [users, total] = await Promise.all([
          db.users.find(filter, { sort: { username: 1 }, skip: offset, limit: count }),
          db.users.countDocuments(filter),
        ]);
        return ok({ users: users.map(agentView), count: users.length, offset, total });
      },
      {
        access: ViewManagers,
        query: t.Object({
          text: t.Optional(t.String()),
          count: t.Optional(t.String()),
          offset: t.Optional(t.String()),
        }),
        detail: { summary: "The agents or the managers", tags: TAGS },
      },
    )
    .post(
      "/users/:type",
      async ({ params, body }) => {
        const type = userType(params.type);
        const user = await db.users.findOne({ username: body.username });
        if (!user) throw new ClientError("error-invalid-user", "Invalid user");
        const set = type === "agent" && !isAgent(user) ? { statusLivechat: "available" } : {};
        const updated = await db.users.findOneAndUpdate(
          { _id: user._id },
          {
            $addToSet: { roles: LIVECHAT_ROLES[type] },
            $set: { ...set, _updatedAt: services.deps.clock.now() },
          },
        );
        if (type === "agent" && updated)
          await livechat.setAvailability(updated, updated.statusLivechat as AgentAvailability);
        return ok({ user: agentView(updated as User) });
      },
      {
        access: ViewManagers,
        body: t.Object({ username: t.String() }),
        detail: { summary: "Make a user an agent or a manager", tags: TAGS },
      },
    )
    .get(
      "/users/:type/:_id",
      async ({ params }) => {
        const role = LIVECHAT_ROLES[userType(params.type)];
        const user = await db.users.findOne({ _id: params._id });
        if (!user) throw new ClientError("error-invalid-user", "Invalid user");
        return ok({ user: user.roles.includes(role) ? agentView(user) : null });
      },
      { access: ViewManagers, detail: { summary: "One agent or manager", tags: TAGS } },
    )
    .delete(
      "/users/:type/:_id",
      async ({ params }) => {
        const type = userType(params.type);
        const user = await db.users.findOne({ _id: params._id });
        if (!user) throw new ClientError("error-invalid-user", "Invalid user");
        if (type === "agent" && isAgent(user)) {
          await livechat.setAvailability(user, "not-available");
          await db.livechatDepartmentAgents.deleteMany({ agentId: user._id });
        }
        await db.users.updateOne(
          { _id: user._id },
          {
            $pull: { roles: LIVECHAT_ROLES[type] },
            $set: { _updatedAt: services.deps.clock.now() },
            ...(type === "agent" && { $unset: { statusLivechat: "" } }),
          },
        );
        return ok();
      },
      {
        access: ViewManagers,
        detail: { summary: "Take the agent or manager role back", tags: TAGS },
      },
    )
    .post(
      "/agent.status",
      async ({ me, body }) => {
        const agentId = body.agentId ?? me._id;
        if (agentId !== me._id && !(await services.authz.can(me, "manage-livechat-agents"))) {
          throw new ClientError("error-not-allowed", "Not allowed", { status: 403 });
        }
        const agent = await db.users.findOne({ _id: agentId });
        if (!agent || !isAgent(agent)) throw notAnAgent();
        const current = agent.statusLivechat === "available" ? "available" : "not-available";
        const next: AgentAvailability =
          body.status ?? (current === "available" ? "not-available" : "available");
        await livechat.setAvailability(agent, next);
        return ok({ status: next });
      },
      {
        access: { permissions: ["view-l-room"] },
        body: t.Object({
          status: t.Optional(t.Union([t.Literal("available"), t.Literal("not-available")])),
          agentId: t.Optional(t.String()),
        }),
        detail: { summary: "Set (or toggle) an agent's availability", tags: TAGS },
      },
    )
    .post(
      "/inquiries.take",
      async ({ me, body }) => {
        let agent = me;
        if (body.userId && body.userId !== me._id) {
          const other = await db.users.findOne({ _id: body.userId });
          if (!other) {
            throw new ClientError("invalid-user", "The user is invalid", { plain: true });
          }
          agent = other;
        }
        // Rocket.Chat answers a take with success alone, not the inquiry.
        await livechat.take(body.inquiryId, agent);
        return ok();
      },
      {
        access: { permissions: ["view-l-room"] },
        body: t.Object({ inquiryId: t.String(), userId: t.Optional(t.String()) }),
        detail: {
          summary: "Take a waiting inquiry (once: two agents cannot both take it)",
          tags: TAGS,
        },
      },
    )
    .get("/inquiries.queuedForUser", waitingForCaller, {
      ...waitingForCallerOptions,
      detail: { summary: "The inquiries waiting for the caller", tags: TAGS },
    })
    .get("/inquiries.queued", waitingForCaller, {
      ...waitingForCallerOptions,
      detail: {
        summary: "The inquiries waiting for the caller (the older name of queuedForUser)",
        tags: TAGS,
      },
    })
    .get(
      "/inquiries.list",
      async ({ query }) => {
        const { count, offset } = pagination(services, query);
        const sort = parseSort(query.sort) ?? { ts: -1 };
        const department = query.department
          ? ((await db.livechatDepartments.findOne({ _id: query.department })) ??
            (await db.livechatDepartments.findOne({ name: query.department })))
          : null;
        const filter = { status: "queued", ...(department && { department: department._id }) };
        const [inquiries, total] = await Promise.all([
          db.livechatInquiries.find(filter, {
            sort,
            skip: offset,
            limit: count,
            projection: { rid: 1, name: 1, ts: 1, status: 1, department: 1 },
          }),
          db.livechatInquiries.countDocuments(filter),
        ]);
        return ok({ inquiries, count: inquiries.length, offset, total });
      },
      {
        access: { permissions: ["view-livechat-manager"] },
        query: t.Object({
          department: t.Optional(t.String()),
          count: t.Optional(t.String()),
          offset: t.Optional(t.String()),
          sort: t.Optional(t.String()),
        }),
        detail: { summary: "Every waiting inquiry (a department's, by id or name)", tags: TAGS },
      },
    )
    .get(
      "/inquiries.getOne",
      async ({ query }) => {
        const inquiry: LivechatInquiry | null = await db.livechatInquiries.findOne({
          rid: query.roomId,
        });
        return ok({ inquiry });
      },
      {
        access: { permissions: ["view-l-room"] },
        query: t.Object({ roomId: t.String() }),
        detail: { summary: "The inquiry of a room", tags: TAGS },
      },
    )
    .post(
      "/room.forward",
      async ({ me, body }) => {
        await livechat.forward(body.roomId, me, {
          ...(body.userId && { userId: body.userId }),
          ...(body.departmentId && { departmentId: body.departmentId }),
          ...(body.comment && { comment: body.comment }),
        });
        return ok();
      },
      {
        access: { permissions: ["view-l-room", "transfer-livechat-guest"] },
        body: t.Object({
          roomId: t.String(),
          userId: t.Optional(t.String()),
          departmentId: t.Optional(t.String()),
          comment: t.Optional(t.String()),
          clientAction: t.Optional(t.Boolean()),
        }),
        detail: { summary: "Forward a conversation to an agent or a department", tags: TAGS },
      },
    )
    .post(
      "/room.closeByUser",
      async ({ me, body }) => {
        await livechat.closeByAgent(
          body.rid,
          me,
          {
            ...(body.comment !== undefined && { comment: body.comment }),
            ...(body.tags && { tags: body.tags }),
          },
          plainRefusal,
        );
        return ok();
      },
      {
        access: { permissions: ["close-livechat-room"] },
        body: t.Object({
          rid: t.String(),
          comment: t.Optional(t.String()),
          tags: t.Optional(t.Array(t.String())),
          generateTranscriptPdf: t.Optional(t.Boolean()),
          transcriptEmail: t.Optional(t.Unknown()),
          forceClose: t.Optional(t.Boolean()),
        }),
        detail: { summary: "An agent closes a conversation, with a comment and tags", tags: TAGS },
      },
    );
}
