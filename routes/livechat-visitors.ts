/**
 * The Omnichannel routes of website visitors: no login, the visitor's token names them.
 * `livechat/config` (what the widget shows, and the visitor's open room and agent),
 * `livechat/visitor` (register or update; read or forget by token), `livechat/room` (the
 * open conversation, started and queued when there is none), `livechat/message` (send,
 * edit, delete their own), `livechat/messages.history/:rid`, `livechat/room.close`,
 * `livechat/room.survey`, `livechat/agent.info/:rid/:token`, custom fields,
 * `livechat/page.visited` and `livechat/visitor.status`.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { LivechatVisitor, OmnichannelRoom } from "../core/livechat-models.ts";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { savePageHistory, setVisitorStatus } from "../services/livechat-pages.ts";
import { plainRefusal } from "../services/livechat-rooms.ts";
import {
  registerVisitor,
  requireVisitor,
  setVisitorField,
  visitorByToken,
} from "../services/livechat-visitors.ts";
import { apiBase, ok } from "./http.ts";

const TAGS = ["Omnichannel visitors"];

/** A custom field key the store may hold as a field name. */
const FIELD_KEY = /^[A-Za-z0-9_-]{1,100}$/;

/** The survey questions and answers the widget offers, as Rocket.Chat lists them. */
const SURVEY = {
  items: ["satisfaction", "agentKnowledge", "agentResposiveness", "agentFriendliness"],
  values: ["1", "2", "3", "4", "5"],
};

/** Where a new room was asked for: the widget sends its page's origin, API clients do not. */
function sourceOf(request: Request): "widget" | "api" {
  return request.headers.get("origin") || request.headers.get("referer") ? "widget" : "api";
}

/** What `livechat/config` answers, as Rocket.Chat's widget reads it. */
async function widgetConfig(
  services: Services,
  visitor: LivechatVisitor | null,
  department?: string,
) {
  const s = <T>(id: string) => services.settings.get<T>(id);
  const departments = await services.deps.db.livechatDepartments.find(
    { enabled: true, showOnRegistration: true },
    { projection: { _id: 1, name: 1, showOnRegistration: 1, showOnOfflineForm: 1 } },
  );
  const room = visitor ? await services.livechat.openRoomOf(visitor) : null;
  const agent = room ? await services.livechat.agentOf(room) : null;
  return {
    enabled: s<boolean>("Livechat_enabled") !== false,
    settings: {
      registrationForm: s<boolean>("Livechat_registration_form"),
      allowSwitchingDepartments: s<boolean>("Livechat_allow_switching_departments"),
      nameFieldRegistrationForm: s<boolean>("Livechat_name_field_registration_form"),
      emailFieldRegistrationForm: s<boolean>("Livechat_email_field_registration_form"),
      displayOfflineForm: s<boolean>("Livechat_display_offline_form"),
      videoCall: false,
      fileUpload: false,
      language: s<string>("Language") ?? "",
      transcript: s<boolean>("Livechat_enable_transcript"),
      historyMonitorType: s<string>("Livechat_history_monitor_type"),
      forceAcceptDataProcessingConsent: s<boolean>("Livechat_force_accept_data_processing_consent"),
      showConnecting: false,
      agentHiddenInfo: s<boolean>("Livechat_show_agent_info") === false,
      clearLocalStorageWhenChatEnded: s<boolean>("Livechat_clear_local_storage_when_chat_ended"),
      limitTextLength:
        s<boolean>("Livechat_enable_message_character_limit") &&
        (s<number>("Livechat_message_character_limit") ?? 0) > 0
          ? s<number>("Livechat_message_character_limit")
          : false,
    },
    theme: {
      title: s<string>("Livechat_title"),
      color: s<string>("Livechat_title_color"),
      offlineTitle: s<string>("Livechat_offline_title"),
      offlineColor: s<string>("Livechat_offline_title_color"),
      actionLinks: [],
    },
    messages: {
      offlineMessage: s<string>("Livechat_offline_message"),
      offlineSuccessMessage: s<string>("Livechat_offline_success_message"),
      offlineUnavailableMessage: s<string>("Livechat_offline_form_unavailable"),
      conversationFinishedMessage: s<string>("Livechat_conversation_finished_message"),
      conversationFinishedText: s<string>("Livechat_conversation_finished_text"),
      transcriptMessage: s<string>("Livechat_transcript_message"),
      registrationFormMessage: s<string>("Livechat_registration_form_message"),
      dataProcessingConsentText: s<string>("Livechat_data_processing_consent_text"),
    },
    survey: SURVEY,
    triggers: [],
    departments,
    resources: {},
    online: await services.livechat.online(department ?? visitor?.department),
    ...(visitor && { guest: visitor }),
    ...(room && { room }),
    ...(agent && { agent }),
  };
}

const VisitorBody = t.Object({
  visitor: t.Object({
    token: t.String({ minLength: 1 }),
    name: t.Optional(t.String()),
    email: t.Optional(t.String()),
    phone: t.Optional(t.String()),
    department: t.Optional(t.String()),
    username: t.Optional(t.String()),
    customFields: t.Optional(
      t.Array(
        t.Object({
          key: t.String(),
          value: t.String(),
          overwrite: t.Optional(t.Boolean()),
        }),
      ),
    ),
  }),
});

/** The visitor's room `rid`, open, for a change the visitor makes. */
async function visitorOpenRoom(services: Services, visitor: LivechatVisitor, rid: string) {
  const room = await services.livechat.visitorRoom(visitor, rid);
  if (!room.open) throw new ClientError("room-closed", "Room closed");
  return room;
}

/** The visitor Omnichannel routes. */
export function livechatVisitorRoutes(services: Services, log: Logger) {
  const { livechat } = services;
  const { db } = services.deps;
  return new Elysia({ prefix: "/api/v1/livechat" })
    .use(apiBase(services, log))
    .get(
      "/config",
      async ({ query }) => {
        const visitor = query.token ? await visitorByToken(services.deps, query.token) : null;
        return ok({ config: await widgetConfig(services, visitor, query.department) });
      },
      {
        open: true,
        query: t.Object({
          token: t.Optional(t.String()),
          department: t.Optional(t.String()),
          businessUnit: t.Optional(t.String()),
        }),
        detail: { summary: "What the widget shows, and the visitor's open room", tags: TAGS },
      },
    )
    .post(
      "/visitor",
      async ({ body }) => {
        livechat.assertEnabled();
        const { customFields, ...rest } = body.visitor;
        for (const field of customFields ?? []) {
          if (!FIELD_KEY.test(field.key))
            throw new ClientError("error-invalid-custom-field", "Invalid custom field");
        }
        const visitor = await registerVisitor(services.deps, {
          ...rest,
          ...(customFields && { customFields }),
        });
        return ok({ visitor });
      },
      {
        open: true,
        body: VisitorBody,
        detail: { summary: "Register a visitor by token, or update them", tags: TAGS },
      },
    )
    .get(
      "/visitor/:token",
      async ({ params }) => ok({ visitor: await requireVisitor(services.deps, params.token) }),
      { open: true, detail: { summary: "The visitor of a token", tags: TAGS } },
    )
    .delete(
      "/visitor/:token",
      async ({ params }) => {
        const visitor = await requireVisitor(services.deps, params.token);
        if (await livechat.openRoomOf(visitor)) {
          throw new ClientError(
            "visitor-has-open-rooms",
            "Cannot remove visitors with opened rooms",
          );
        }
        await db.livechatVisitors.deleteOne({ _id: visitor._id });
        return ok({ visitor: { _id: visitor._id, ts: services.deps.clock.now() } });
      },
      {
        open: true,
        detail: { summary: "Forget a visitor without open conversations", tags: TAGS },
      },
    )
    .get(
      "/room",
      async ({ query, request }) => {
        const visitor = await requireVisitor(services.deps, query.token);
        if (query.rid) {
          // As Rocket.Chat: a room asked for by id is the visitor's open room or nothing.
          const room = await db.rooms.findOne({
            _id: query.rid,
            t: "l",
            "v.token": visitor.token,
            open: true,
          });
          if (!room) throw plainRefusal("invalid-room");
          return ok({ room, newRoom: false });
        }
        const { room, newRoom } = await livechat.openRoom(visitor, {
          ...(query.agentId && { agentId: query.agentId }),
          source: sourceOf(request),
        });
        return ok({ room, newRoom });
      },
      {
        open: true,
        query: t.Object({
          token: t.String(),
          rid: t.Optional(t.String()),
          agentId: t.Optional(t.String()),
        }),
        detail: {
          summary: "The visitor's open conversation, started if there is none",
          tags: TAGS,
        },
      },
    )
    .post(
      "/message",
      async ({ body }) => {
        livechat.assertEnabled();
        const visitor = await requireVisitor(services.deps, body.token);
        await visitorOpenRoom(services, visitor, body.rid);
        const { message } = await services.deps.rooms.execute(body.rid, {
          kind: "livechat.visitorSend",
          visitor,
          draft: { msg: body.msg, ...(body._id && { _id: body._id }) },
        });
        return ok({ message });
      },
      {
        open: true,
        body: t.Object({
          token: t.String(),
          rid: t.String(),
          msg: t.String(),
          _id: t.Optional(t.String()),
          agent: t.Optional(t.Object({ agentId: t.String(), username: t.Optional(t.String()) })),
        }),
        detail: { summary: "A visitor's message in their conversation", tags: TAGS },
      },
    )
    .put(
      "/message/:_id",
      async ({ params, body }) => {
        const visitor = await requireVisitor(services.deps, body.token);
        await visitorOpenRoom(services, visitor, body.rid);
        const { message } = await services.deps.rooms.execute(body.rid, {
          kind: "livechat.visitorUpdate",
          visitor,
          msgId: params._id,
          text: body.msg,
        });
        return ok({ message });
      },
      {
        open: true,
        body: t.Object({ token: t.String(), rid: t.String(), msg: t.String() }),
        detail: { summary: "A visitor edits one of their messages", tags: TAGS },
      },
    )
    .delete(
      "/message/:_id",
      async ({ params, body }) => {
        const visitor = await requireVisitor(services.deps, body.token);
        await visitorOpenRoom(services, visitor, body.rid);
        const { message } = await services.deps.rooms.execute(body.rid, {
          kind: "livechat.visitorDelete",
          visitor,
          msgId: params._id,
        });
        return ok({ message: { _id: message?._id, ts: services.deps.clock.now() } });
      },
      {
        open: true,
        body: t.Object({ token: t.String(), rid: t.String() }),
        detail: { summary: "A visitor deletes one of their messages", tags: TAGS },
      },
    )
    .get(
      "/messages.history/:rid",
      async ({ params, query }) => {
        const visitor = await requireVisitor(services.deps, query.token);
        const room = await livechat.visitorRoom(visitor, params.rid);
        const limit = query.limit === undefined ? 20 : Number(query.limit);
        if (!Number.isInteger(limit) || limit < 1) {
          throw new ClientError("error-invalid-params", "limit must be a positive integer", {
            plain: true,
          });
        }
        const end = query.end ?? query.ts;
        const latest = end ? new Date(end) : undefined;
        if (latest && Number.isNaN(latest.getTime())) {
          throw new ClientError("error-invalid-params", "end must be a date", { plain: true });
        }
        const messages = await services.messages.history(room._id, {
          ...(latest && { latest }),
          count: Math.min(limit, 1000),
        });
        return ok({ messages });
      },
      {
        open: true,
        query: t.Object({
          token: t.String(),
          ts: t.Optional(t.String()),
          end: t.Optional(t.String()),
          limit: t.Optional(t.String()),
          ls: t.Optional(t.String()),
        }),
        detail: { summary: "The messages of a visitor's conversation, newest first", tags: TAGS },
      },
    )
    .post(
      "/room.close",
      async ({ body }) => {
        const visitor = await requireVisitor(services.deps, body.token);
        const room = await livechat.visitorRoom(visitor, body.rid);
        if (
          services.settings.get<boolean>("Omnichannel_allow_visitors_to_close_conversation") ===
          false
        ) {
          throw new ClientError("error-not-allowed", "Not allowed");
        }
        if (!room.open) throw new ClientError("room-closed", "Room closed");
        const comment = "Closed by visitor";
        await livechat.close(
          room._id,
          "visitor",
          { _id: visitor._id, username: visitor.username },
          { comment },
        );
        return ok({ rid: room._id, comment });
      },
      {
        open: true,
        body: t.Object({ rid: t.String(), token: t.String() }),
        detail: { summary: "A visitor ends their conversation", tags: TAGS },
      },
    )
    .post(
      "/room.survey",
      async ({ body }) => {
        const visitor = await requireVisitor(services.deps, body.token);
        const room = await livechat.visitorRoom(visitor, body.rid);
        // As Rocket.Chat: only the survey's questions with one of its answers, and the
        // visitor's free text, are kept; the later answer to a question wins.
        const surveyFeedback: Record<string, string> = {};
        for (const { name, value } of body.data) {
          const answer = SURVEY.items.includes(name) && SURVEY.values.includes(value);
          if (answer || name === "additionalFeedback") surveyFeedback[name] = value;
        }
        if (Object.keys(surveyFeedback).length === 0) throw plainRefusal("invalid-data");
        await services.deps.rooms.execute(room._id, {
          kind: "livechat.save",
          set: { surveyFeedback },
        });
        return ok({ rid: room._id, data: surveyFeedback });
      },
      {
        open: true,
        body: t.Object({
          rid: t.String(),
          token: t.String(),
          data: t.Array(t.Object({ name: t.String(), value: t.String() })),
        }),
        detail: { summary: "A visitor's answers to the satisfaction survey", tags: TAGS },
      },
    )
    .get(
      "/agent.info/:rid/:token",
      async ({ params }) => {
        const visitor = await requireVisitor(services.deps, params.token);
        const room = await livechat.visitorRoom(visitor, params.rid);
        const agent = await livechat.agentOf(room as OmnichannelRoom);
        if (!agent) throw new ClientError("invalid-agent", "Invalid agent");
        return ok({ agent });
      },
      { open: true, detail: { summary: "The agent serving a visitor's conversation", tags: TAGS } },
    )
    .post(
      "/custom.field",
      async ({ body }) => {
        if (!FIELD_KEY.test(body.key))
          throw new ClientError("invalid-custom-field", "Invalid custom field");
        const overwrite = body.overwrite ?? true;
        await setVisitorField(services.deps, body.token, body.key, body.value, overwrite);
        return ok({ field: { key: body.key, value: body.value, overwrite } });
      },
      {
        open: true,
        body: t.Object({
          token: t.String(),
          key: t.String(),
          value: t.String(),
          overwrite: t.Optional(t.Boolean()),
        }),
        detail: { summary: "Set one custom field of a visitor", tags: TAGS },
      },
    )
    .post(
      "/custom.fields",
      async ({ body }) => {
        // Every key is checked, and the visitor found, before any field is written.
        if (body.customFields.some((field) => !FIELD_KEY.test(field.key)))
          throw new ClientError("invalid-custom-field", "Invalid custom field");
        await requireVisitor(services.deps, body.token);
        const fields = [];
        for (const field of body.customFields) {
          const overwrite = field.overwrite ?? true;
          await setVisitorField(services.deps, body.token, field.key, field.value, overwrite);
          fields.push({ Key: field.key, value: field.value, overwrite });
        }
        return ok({ fields });
      },
      {
        open: true,
        body: t.Object({
          token: t.String(),
          customFields: t.Array(
            t.Object({ key: t.String(), value: t.String(), overwrite: t.Optional(t.Boolean()) }),
          ),
        }),
        detail: { summary: "Set several custom fields of a visitor", tags: TAGS },
      },
    )
    .post(
      "/page.visited",
      async ({ body }) => {
        const page = await savePageHistory(
          services.commandDeps,
          body.token,
          body.rid,
          body.pageInfo,
        );
        return page ? ok({ page }) : ok();
      },
      {
        open: true,
        body: t.Object({
          token: t.String(),
          rid: t.Optional(t.Union([t.String(), t.Null()])),
          pageInfo: t.Object({
            change: t.String(),
            title: t.String(),
            location: t.Object({ href: t.String() }),
          }),
        }),
        detail: { summary: "A page the visitor opened", tags: TAGS },
      },
    )
    .post(
      "/visitor.status",
      async ({ body }) => {
        await setVisitorStatus(services.commandDeps, body.token, body.status);
        return ok({ token: body.token, status: body.status });
      },
      {
        open: true,
        body: t.Object({ token: t.String(), status: t.String() }),
        detail: { summary: "The visitor's presence, on their rooms and inquiries", tags: TAGS },
      },
    );
}
