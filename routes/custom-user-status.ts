/**
 * `custom-user-status.list` (anyone logged in: by `name`, which matches part of a name
 * regardless of case, or by `_id`, paged and sorted by name), and `.create`, `.update`,
 * `.delete` for holders of `manage-user-status`, answered as Rocket.Chat answers them
 * (its permission check runs inside, refusing with `not_authorized`).
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import {
  createCustomStatus,
  deleteCustomStatus,
  type StatusDraft,
  updateCustomStatus,
} from "../services/custom-user-status.ts";
import type { Services } from "../services/index.ts";
import { apiBase, ok, pagination } from "./http.ts";
import { PAGE_QUERY, parseSort } from "./room-params.ts";

const TAGS = ["Custom user statuses"];

function matchError(text: string): ClientError {
  return new ClientError(400, `Match error: ${text}`, { plain: true });
}

function typeName(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}

/**
 * The body checked as Meteor's `check(body, {name: String, statusType: Match.Maybe(String),
 * ...})` does: a plain object (no body counts as an empty one), every key of `required` a
 * string, `statusType` a string or nothing, and no key besides those.
 */
function checkedBody(body: unknown, required: readonly string[]): Record<string, string> {
  if (body !== undefined && body !== null && typeof body !== "object") {
    throw matchError(`Expected object, got ${typeof body}`);
  }
  if (Array.isArray(body)) throw matchError("Expected plain object");
  const given = (body ?? {}) as Record<string, unknown>;
  const allowed = new Set([...required, "statusType"]);
  for (const key of Object.keys(given)) {
    if (!allowed.has(key)) throw matchError(`Unknown key in field ${key}`);
  }
  for (const key of required) {
    if (!(key in given)) throw matchError(`Missing key '${key}'`);
    if (typeof given[key] !== "string") {
      throw matchError(`Expected string, got ${typeName(given[key])} in field ${key}`);
    }
  }
  const { statusType } = given;
  if (statusType !== undefined && statusType !== null && typeof statusType !== "string") {
    throw matchError(
      "Failed Match.OneOf, Match.Maybe or Match.Optional validation in field statusType",
    );
  }
  return given as Record<string, string>;
}

function draftOf(body: Record<string, string>): StatusDraft {
  const { name, statusType } = body;
  return { name: name as string, ...(typeof statusType === "string" && { statusType }) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The custom user status routes. */
export function customUserStatusRoutes(services: Services, log: Logger) {
  const { customUserStatus } = services.deps.db;
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/custom-user-status.list",
      async ({ query }) => {
        const { count, offset } = pagination(services, query);
        const sort = parseSort(query.sort) ?? { name: 1 };
        const filter = {
          ...(query.name && { name: { $regex: escapeRegExp(query.name), $options: "i" } }),
          ...(query._id && { _id: query._id }),
        };
        const [statuses, total] = await Promise.all([
          customUserStatus.find(filter, { sort, skip: offset, limit: count }),
          customUserStatus.countDocuments(filter),
        ]);
        return ok({ statuses, count: statuses.length, offset, total });
      },
      {
        access: true,
        query: t.Object({
          ...PAGE_QUERY,
          name: t.Optional(t.String()),
          _id: t.Optional(t.String()),
          query: t.Optional(t.String()),
        }),
        detail: { summary: "Custom user statuses, by name or id, a page at a time", tags: TAGS },
      },
    )
    .post(
      "/custom-user-status.create",
      async ({ me, body }) => {
        const draft = draftOf(checkedBody(body, ["name"]));
        return ok({ customUserStatus: await createCustomStatus(services, me, draft) });
      },
      {
        access: true,
        body: t.Unknown(),
        detail: { summary: "Define a custom status (permission manage-user-status)", tags: TAGS },
      },
    )
    .post(
      "/custom-user-status.update",
      async ({ me, body }) => {
        const checked = checkedBody(body, ["_id", "name"]);
        const updated = await updateCustomStatus(
          services,
          me,
          checked._id as string,
          draftOf(checked),
        );
        return ok({ customUserStatus: updated });
      },
      {
        access: true,
        body: t.Unknown(),
        detail: { summary: "Rename or retype a custom status (manage-user-status)", tags: TAGS },
      },
    )
    .post(
      "/custom-user-status.delete",
      async ({ me, body }) => {
        const id = (body as { customUserStatusId?: unknown } | null)?.customUserStatusId;
        if (!id || typeof id !== "string") {
          throw new ClientError(400, 'The "customUserStatusId" params is required!', {
            plain: true,
          });
        }
        await deleteCustomStatus(services, me, id);
        return ok();
      },
      {
        access: true,
        body: t.Unknown(),
        detail: { summary: "Delete a custom status (permission manage-user-status)", tags: TAGS },
      },
    );
}
