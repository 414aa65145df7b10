/**
 * The Omnichannel DDP methods, with Rocket.Chat's names and parameters: the widget's
 * `livechat:setUpConnection` (`[{token}]`) and `livechat:loginByToken` (`[token]`), and
 * the agent's `livechat:takeInquiry` (`[inquiryId]`), `livechat:returnAsInquiry`
 * (`[rid, departmentId?]`), `livechat:closeRoom` (`[rid, comment, {tags}]`),
 * `livechat:transfer` (`[{roomId, userId?, departmentId?, comment?}]`) and
 * `livechat/changeLivechatStatus` (`[{status, agentId}]`, or the status alone), the
 * older `livechat:saveInfo` (`[guestData, roomData]`, as `livechat/room.saveInfo`), the older
 * widget's `livechat:getInitialData` (`[visitorToken, departmentId?]`), and an agent's
 * `livechat:sendTranscript` (`[token, rid, email, subject?]`).
 */
import { ClientError } from "../core/errors.ts";
import type { OmnichannelRoom } from "../core/livechat-models.ts";
import type { Services } from "./index.ts";
import { type AgentAvailability, isAgent, notAnAgent } from "./livechat-agents.ts";
import { saveLivechatInfo } from "./livechat-rooms.ts";
import { requesterOf, sendTranscript } from "./livechat-transcripts.ts";
import { requireVisitor } from "./livechat-visitors.ts";
import { type MethodDef, obj, open, optionalStr, signedIn, str } from "./method-params.ts";

const VIEW = { permissions: ["view-l-room"] };

/** The reasons `livechat:closeRoom` gives with its refusals, as Rocket.Chat's method. */
const CLOSE_REFUSALS: Record<string, string> = {
  "error-invalid-room": "Invalid room",
  "error-room-already-closed": "Room is already closed",
  "error-not-authorized": "Not authorized",
  "error-comment-is-required": "Comment is required",
};

function availability(value: unknown): AgentAvailability | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === "available" || value === "not-available") return value;
  throw new ClientError("error-invalid-status", "Invalid status", {
    details: { method: "livechat/changeLivechatStatus" },
  });
}

/**
 * What the older widget loads first (`livechat:getInitialData`), as Rocket.Chat's method
 * answered it: the widget's settings, the visitor's open room (in department
 * `departmentId` when given), the visitor, the agent serving them and the departments.
 */
async function initialData(services: Services, token: string, departmentId?: string) {
  const { db } = services.deps;
  const s = <T>(id: string) => services.settings.get<T>(id);
  const room = await db.rooms.findOne(
    { t: "l", "v.token": token, open: true, ...(departmentId && { departmentId }) },
    {
      projection: { name: 1, t: 1, cl: 1, u: 1, usernames: 1, v: 1, servedBy: 1, departmentId: 1 },
    },
  );
  const visitor = await db.livechatVisitors.findOne(
    { token },
    { projection: { name: 1, username: 1, visitorEmails: 1, department: 1 } },
  );
  const agent = room?.servedBy ? await services.livechat.agentOf(room as OmnichannelRoom) : null;
  const departments = await db.livechatDepartments.find({ enabled: true, numAgents: { $gt: 0 } });
  return {
    enabled: s<boolean>("Livechat_enabled") !== false,
    title: s<string>("Livechat_title"),
    color: s<string>("Livechat_title_color"),
    registrationForm: s<boolean>("Livechat_registration_form"),
    room,
    visitor,
    triggers: [],
    departments,
    allowSwitchingDepartments: s<boolean>("Livechat_allow_switching_departments"),
    online: await services.livechat.online(),
    offlineTitle: s<string>("Livechat_offline_title"),
    offlineColor: s<string>("Livechat_offline_title_color"),
    offlineMessage: s<string>("Livechat_offline_message"),
    offlineSuccessMessage: s<string>("Livechat_offline_success_message"),
    offlineUnavailableMessage: s<string>("Livechat_offline_form_unavailable"),
    displayOfflineForm: s<boolean>("Livechat_display_offline_form"),
    language: s<string>("Language") ?? "",
    videoCall: false,
    fileUpload: false,
    transcript: s<boolean>("Livechat_enable_transcript"),
    transcriptMessage: s<string>("Livechat_transcript_message"),
    conversationFinishedMessage: s<string>("Livechat_conversation_finished_message"),
    conversationFinishedText: s<string>("Livechat_conversation_finished_text"),
    nameFieldRegistrationForm: s<boolean>("Livechat_name_field_registration_form"),
    emailFieldRegistrationForm: s<boolean>("Livechat_email_field_registration_form"),
    registrationFormMessage: s<string>("Livechat_registration_form_message"),
    showConnecting: false,
    ...(agent && { agentData: agent }),
  };
}

export const LIVECHAT_METHODS: Record<string, MethodDef> = {
  "livechat:getInitialData": open(async (services, _caller, [token, departmentId]) =>
    initialData(services, str(token), optionalStr(departmentId)),
  ),
  "livechat:sendTranscript": signedIn(
    async (services, caller, [token, rid, email, subject]) => {
      await sendTranscript(services.commandDeps, services.mailer, {
        token: str(token),
        rid: str(rid),
        email: str(email),
        ...(optionalStr(subject) && { subject: optionalStr(subject) }),
        requester: requesterOf(caller.user),
      });
      return true;
    },
    { permissions: ["send-omnichannel-chat-transcript"] },
  ),
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
    // Rocket.Chat's method answers nothing once the inquiry is taken.
    await services.livechat.take(str(inquiryId), caller.user);
    return undefined;
  }, VIEW),
  "livechat:returnAsInquiry": signedIn(async (services, caller, [rid, departmentId]) => {
    return services.livechat.returnToQueue(str(rid), caller.user, optionalStr(departmentId));
  }, VIEW),
  "livechat:saveInfo": signedIn(async (services, caller, [guestData, roomData]) => {
    const details = { method: "livechat:saveInfo" };
    const guest = obj(guestData);
    const room = obj(roomData);
    const tags = room.tags;
    if (tags !== undefined && (!Array.isArray(tags) || !tags.every((t) => typeof t === "string"))) {
      throw new ClientError(400, "Match failed");
    }
    const fields = (value: unknown) => (value === undefined ? undefined : obj(value));
    const guestFields = fields(guest.livechatData);
    const roomFields = fields(room.livechatData);
    const name = optionalStr(guest.name);
    const email = optionalStr(guest.email);
    const phone = optionalStr(guest.phone);
    const topic = optionalStr(room.topic);
    await saveLivechatInfo(
      services.commandDeps,
      caller.user,
      {
        _id: str(guest._id),
        ...(name !== undefined && { name }),
        ...(email !== undefined && { email }),
        ...(phone !== undefined && { phone }),
        ...(guestFields && { livechatData: guestFields as Record<string, string> }),
      },
      {
        _id: str(room._id),
        ...(topic !== undefined && { topic }),
        ...(tags !== undefined && { tags: tags as string[] }),
        ...(roomFields && { livechatData: roomFields }),
      },
      () => new ClientError("error-not-allowed", "Not allowed", { details }),
    ).catch((error: unknown) => {
      // The method names its refusals with Rocket.Chat's text and the method's name.
      if (error instanceof ClientError && error.error === "error-invalid-room") {
        throw new ClientError("error-invalid-room", "Invalid room", { details });
      }
      throw error;
    });
    return true;
  }, VIEW),
  "livechat:closeRoom": signedIn(
    async (services, caller, [rid, comment, options]) => {
      const tags = options === undefined || options === null ? undefined : obj(options).tags;
      if (
        tags !== undefined &&
        (!Array.isArray(tags) || !tags.every((t) => typeof t === "string"))
      ) {
        throw new ClientError(400, "Match failed");
      }
      const text = optionalStr(comment);
      await services.livechat.closeByAgent(
        str(rid),
        caller.user,
        { ...(text !== undefined && { comment: text }), ...(tags && { tags: tags as string[] }) },
        (code) =>
          new ClientError(code, CLOSE_REFUSALS[code], {
            details: { method: "livechat:closeRoom" },
          }),
      );
      return true;
    },
    { permissions: ["close-livechat-room"] },
  ),
  "livechat:transfer": signedIn(async (services, caller, [data]) => {
    const d = obj(data);
    const userId = optionalStr(d.userId);
    const departmentId = optionalStr(d.departmentId);
    const comment = optionalStr(d.comment);
    const details = { method: "livechat:transfer" };
    const room = await services.deps.db.rooms.findOne({ _id: str(d.roomId) });
    if (!room || room.t !== "l") {
      throw new ClientError("error-invalid-room", "Invalid room", { details });
    }
    if (!room.open) throw new ClientError("room-closed", "Room closed", { details });
    // Its agents (subscribed to it) may forward a conversation without the permission.
    const subscribed = await services.deps.db.subscriptions.findOne(
      { rid: room._id, "u._id": caller.user._id },
      { projection: { _id: 1 } },
    );
    if (!subscribed && !(await services.authz.can(caller.user, "transfer-livechat-guest"))) {
      throw new ClientError("error-not-authorized", "Not authorized", { details });
    }
    // Rocket.Chat's method answers false, where its REST route refuses, when there is no target.
    if (!userId && !departmentId) return false;
    await services.livechat.forward(room._id, caller.user, {
      ...(userId && { userId }),
      ...(departmentId && { departmentId }),
      ...(comment && { comment }),
    });
    return true;
  }, VIEW),
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
