/**
 * The Omnichannel DDP methods, with Rocket.Chat's names and parameters: the widget's
 * `livechat:setUpConnection` (`[{token}]`) and `livechat:loginByToken` (`[token]`), and
 * the agent's `livechat:takeInquiry` (`[inquiryId]`), `livechat:returnAsInquiry`
 * (`[rid, departmentId?]`), `livechat:closeRoom` (`[rid, comment, {tags}]`),
 * `livechat:transfer` (`[{roomId, userId?, departmentId?, comment?}]`) and
 * `livechat/changeLivechatStatus` (`[{status, agentId}]`, or the status alone).
 */
import { ClientError } from "../core/errors.ts";
import type { Services } from "./index.ts";
import { type AgentAvailability, isAgent, notAnAgent } from "./livechat-agents.ts";
import { requireVisitor } from "./livechat-visitors.ts";
import { type MethodDef, obj, open, optionalStr, signedIn, str } from "./method-params.ts";

const VIEW = { permissions: ["view-l-room"] };

function availability(value: unknown): AgentAvailability | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === "available" || value === "not-available") return value;
  throw new ClientError("error-invalid-status", "Invalid status", {
    details: { method: "livechat/changeLivechatStatus" },
  });
}

export const LIVECHAT_METHODS: Record<string, MethodDef> = {
  "livechat:setUpConnection": open(async (services: Services, _caller, [data]) => {
    // The widget calls this before its visitor registers; a known visitor is online now.
    await services.deps.db.livechatVisitors.updateOne(
      { token: str(obj(data).token) },
      { $set: { status: "online" } },
    );
    return undefined;
  }),
  "livechat:loginByToken": open(async (services, _caller, [token]) => {
    const visitor = await requireVisitor(services.deps, str(token));
    return { _id: visitor._id };
  }),
  "livechat:takeInquiry": signedIn(async (services, caller, [inquiryId]) => {
    return services.livechat.take(str(inquiryId), caller.user);
  }, VIEW),
  "livechat:returnAsInquiry": signedIn(async (services, caller, [rid, departmentId]) => {
    const room = await services.livechat.openRoomById(str(rid));
    await services.livechat.assertServes(caller.user, room, "view-livechat-rooms");
    return services.livechat.returnToQueue(room._id, caller.user, optionalStr(departmentId));
  }, VIEW),
  "livechat:closeRoom": signedIn(
    async (services, caller, [rid, comment, options]) => {
      const room = await services.livechat.openRoomById(str(rid));
      await services.livechat.assertServes(caller.user, room, "close-others-livechat-room");
      const tags = options === undefined || options === null ? undefined : obj(options).tags;
      if (
        tags !== undefined &&
        (!Array.isArray(tags) || !tags.every((t) => typeof t === "string"))
      ) {
        throw new ClientError(400, "Match failed");
      }
      const text = optionalStr(comment);
      await services.livechat.close(
        room._id,
        "user",
        { _id: caller.user._id, username: caller.user.username },
        { ...(text !== undefined && { comment: text }), ...(tags && { tags: tags as string[] }) },
      );
      return true;
    },
    { permissions: ["close-livechat-room"] },
  ),
  "livechat:transfer": signedIn(
    async (services, caller, [data]) => {
      const d = obj(data);
      const userId = optionalStr(d.userId);
      const departmentId = optionalStr(d.departmentId);
      const comment = optionalStr(d.comment);
      await services.livechat.forward(str(d.roomId), caller.user, {
        ...(userId && { userId }),
        ...(departmentId && { departmentId }),
        ...(comment && { comment }),
      });
      return true;
    },
    { permissions: ["view-l-room", "transfer-livechat-guest"] },
  ),
  "livechat/changeLivechatStatus": signedIn(async (services, caller, [data]) => {
    const given = typeof data === "string" ? { status: data } : obj(data ?? {});
    const agentId = optionalStr(given.agentId) ?? caller.user._id;
    if (
      agentId !== caller.user._id &&
      !(await services.authz.can(caller.user, "manage-livechat-agents"))
    ) {
      throw new ClientError("error-not-allowed", "Not allowed", {
        details: { method: "livechat:changeLivechatStatus" },
      });
    }
    const agent = await services.deps.db.users.findOne({ _id: agentId });
    if (!agent || !isAgent(agent)) throw notAnAgent();
    const current = agent.statusLivechat === "available" ? "available" : "not-available";
    const next =
      availability(given.status) ?? (current === "available" ? "not-available" : "available");
    await services.livechat.setAvailability(agent, next);
    return true;
  }),
};
