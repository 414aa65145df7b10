/**
 * The Omnichannel routes of agents and managers about conversations: joining one
 * (`livechat/room.join`), editing it (`livechat/room.saveInfo`), listing them
 * (`livechat/rooms`), who serves how many (`livechat/queue`) and the agent a visitor
 * would be given next (`livechat/agent.next/:token`).
 */
import { Elysia, t } from "elysia";
import { invalidJsonQuery, jsonQueryObject } from "../services/json-query.ts";
import { ClientError, invalidParams } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import {
  CUSTOM_FIELD_KEY,
  type DateRange,
  joinLivechatRoom,
  listLivechatRooms,
  nextAgentFor,
  queueSummary,
  type RoomFilters,
  saveLivechatInfo,
} from "../services/livechat-rooms.ts";
import type { Projection } from "../store/types.ts";
import { apiBase, ok, pagination, queryList } from "./http.ts";
import { forbidden, parseSort } from "./room-params.ts";

const TAGS = ["Omnichannel conversations"];

/** The query parameters `livechat/rooms` accepts; any other is refused, as Rocket.Chat's schema does. */
const ROOMS_PARAMS = new Set([
  "count",
  "offset",
  "sort",
  "fields",
  "createdAt",
  "closedAt",
  "customFields",
  "agents",
  "roomName",
  "departmentId",
  "open",
  "onhold",
  "queued",
  "tags",
  "units",
]);

/**
 * The values of list parameter `name` (`name[]=a&name[]=b`, or `name` given more than
 * once); a single plain value is refused, as Rocket.Chat's schema refuses a string here.
 */
function listParam(params: URLSearchParams, name: string): string[] | undefined {
  if (!params.has(`${name}[]`) && params.getAll(name).length === 1) {
    throw invalidParams("must be array");
  }
  return queryList(params, name);
}

/** The one value of text parameter `name`; a list is refused. */
function textParam(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (params.has(`${name}[]`) || values.length > 1) throw invalidParams("must be string");
  return values[0];
}

function plainError(text: string): ClientError {
  return new ClientError("error-invalid-params", text, { plain: true });
}

/** A JSON object parameter, as Rocket.Chat parses `createdAt`, `closedAt` and `customFields`. */
function jsonObject(name: string, raw: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw Object.assign(plainError(`The "${name}" query parameter must be a valid JSON.`), {
      cause: error,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw plainError(`The "${name}" query parameter must be a valid JSON.`);
  }
  return parsed as Record<string, unknown>;
}

/** A `{start, end}` date range parameter; either end must be a date when given. */
function dateRange(name: string, raw: string | undefined): DateRange | undefined {
  if (raw === undefined) return undefined;
  const value = jsonObject(name, raw);
  const date = (end: "start" | "end") => {
    const text = value[end];
    if (text === undefined || text === null || text === "") return undefined;
    const parsed = typeof text === "string" ? new Date(text) : new Date(Number.NaN);
    if (Number.isNaN(parsed.getTime())) {
      throw plainError(`The "${name}.${end}" query parameter must be a valid date.`);
    }
    return parsed;
  };
  const start = date("start");
  const end = date("end");
  if (!start && !end) return undefined;
  return { ...(start && { start }), ...(end && { end }) };
}

function booleanParam(raw: string | undefined): boolean | undefined {
  return raw === "true" ? true : raw === "false" ? false : undefined;
}

/** The `fields` projection: a JSON object of plain field paths to 0 or 1. */
function parseFields(raw: string | undefined): Projection | undefined {
  if (raw === undefined) return undefined;
  const parsed = jsonQueryObject("fields", raw);
  const entries = Object.entries(parsed);
  if (entries.some(([key, v]) => !/^[A-Za-z_][\w.]*$/.test(key) || (v !== 0 && v !== 1))) {
    throw invalidJsonQuery("fields", raw);
  }
  return entries.length ? (parsed as Projection) : undefined;
}

/** The filters of a `livechat/rooms` query. */
function roomFilters(params: URLSearchParams): RoomFilters {
  for (const key of new Set(params.keys())) {
    if (!ROOMS_PARAMS.has(key.replace(/\[\]$/, ""))) {
      throw invalidParams("must NOT have additional properties");
    }
  }
  const agents = listParam(params, "agents");
  const tags = listParam(params, "tags");
  const departmentIds = [...params.getAll("departmentId"), ...params.getAll("departmentId[]")];
  const customRaw = textParam(params, "customFields");
  let customFields: Record<string, string> | undefined;
  if (customRaw !== undefined) {
    const parsed = jsonObject("customFields", customRaw);
    customFields = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (!CUSTOM_FIELD_KEY.test(key) || typeof value !== "string") {
        throw plainError(`The "customFields" query parameter must be a valid JSON.`);
      }
      customFields[key] = value;
    }
  }
  const roomName = textParam(params, "roomName");
  const open = booleanParam(textParam(params, "open"));
  const queued = booleanParam(textParam(params, "queued"));
  const createdAt = dateRange("createdAt", textParam(params, "createdAt"));
  const closedAt = dateRange("closedAt", textParam(params, "closedAt"));
  return {
    ...(agents && { agents }),
    ...(tags && { tags }),
    ...(departmentIds.length > 0 && { departmentId: departmentIds }),
    ...(roomName && { roomName }),
    ...(open !== undefined && { open }),
    ...(queued && { queued }),
    ...(createdAt && { createdAt }),
    ...(closedAt && { closedAt }),
    ...(customFields && Object.keys(customFields).length > 0 && { customFields }),
  };
}

const GuestData = t.Object(
  {
    _id: t.String(),
    name: t.Optional(t.String()),
    email: t.Optional(t.String()),
    phone: t.Optional(t.String()),
    livechatData: t.Optional(t.Record(t.String(), t.String())),
  },
  { additionalProperties: false },
);

const RoomData = t.Object(
  {
    _id: t.String(),
    topic: t.Optional(t.String()),
    tags: t.Optional(t.Array(t.String())),
    livechatData: t.Optional(t.Record(t.String(), t.Unknown())),
    priorityId: t.Optional(t.String()),
    slaId: t.Optional(t.String()),
  },
  { additionalProperties: false },
);

/** The conversation routes of agents and managers. */
export function livechatRoomRoutes(services: Services, log: Logger) {
  const deps = services.commandDeps;
  return new Elysia({ prefix: "/api/v1/livechat" })
    .use(apiBase(services, log))
    .get(
      "/room.join",
      async ({ me, query }) => {
        await joinLivechatRoom(deps, query.roomId, me);
        return ok();
      },
      {
        access: { permissions: ["view-l-room"] },
        query: t.Object({ roomId: t.String() }),
        detail: { summary: "Join a conversation (its agents and managers)", tags: TAGS },
      },
    )
    .post(
      "/room.saveInfo",
      async ({ me, body }) => {
        await saveLivechatInfo(deps, me, body.guestData, body.roomData, forbidden);
        return ok();
      },
      {
        access: { permissions: ["view-l-room"] },
        body: t.Object({ guestData: GuestData, roomData: RoomData }),
        detail: { summary: "Edit a conversation's visitor, topic, tags and fields", tags: TAGS },
      },
    )
    .get(
      "/rooms",
      async ({ me, request }) => {
        const params = new URL(request.url).searchParams;
        const filters = roomFilters(params);
        const { count, offset } = pagination(services, {
          ...(params.has("count") && { count: params.get("count") as string }),
          ...(params.has("offset") && { offset: params.get("offset") as string }),
        });
        const sort = parseSort(params.get("sort") ?? undefined);
        const fields = parseFields(params.get("fields") ?? undefined);
        const ownOnly = filters.agents?.length === 1 && filters.agents[0] === me._id;
        const allowed =
          (await services.authz.can(me, "view-livechat-rooms")) ||
          (ownOnly && (await services.authz.can(me, "view-l-room")));
        if (!allowed) throw forbidden();
        return ok(
          await listLivechatRooms(deps, filters, {
            offset,
            count,
            ...(sort && { sort }),
            ...(fields && { fields }),
          }),
        );
      },
      {
        access: true,
        detail: {
          summary: "Conversations by agent, department, state, dates, tags and fields",
          tags: TAGS,
        },
      },
    )
    .get(
      "/queue",
      async ({ query }) => {
        const { count, offset } = pagination(services, query);
        const sort = parseSort(query.sort);
        return ok(
          await queueSummary(
            deps,
            {
              ...(query.agentId && { agentId: query.agentId }),
              ...(query.departmentId && { departmentId: query.departmentId }),
              includeOfflineAgents: query.includeOfflineAgents === "true",
            },
            { offset, count, ...(sort && { sort }) },
          ),
        );
      },
      {
        access: { permissions: ["view-l-room"] },
        query: t.Object({
          agentId: t.Optional(t.String()),
          departmentId: t.Optional(t.String()),
          includeOfflineAgents: t.Optional(t.String()),
          count: t.Optional(t.String()),
          offset: t.Optional(t.String()),
          sort: t.Optional(t.String()),
        }),
        detail: { summary: "How many open conversations each agent serves", tags: TAGS },
      },
    )
    .get(
      "/agent.next/:token",
      async ({ params, query }) => {
        const agent = await nextAgentFor(deps, params.token, query.department);
        return ok(agent ? { agent } : {});
      },
      {
        open: true,
        query: t.Object({ department: t.Optional(t.String()) }),
        detail: { summary: "The agent a visitor would be given next", tags: TAGS },
      },
    );
}
