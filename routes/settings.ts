/**
 * `settings.public`: the workspace settings anyone may read before logging in (site
 * name, registration form, size limits, …), paged, optionally only some ids.
 */
import { Elysia, t } from "elysia";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { apiBase, ok, pagination } from "./http.ts";

/** The ids in a comma-separated `_id` parameter; undefined means all of them. */
function idsOf(param: string | undefined): string[] | undefined {
  if (param === undefined) return undefined;
  return param
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "");
}

/** The public settings routes. */
export function settingsRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" }).use(apiBase(services, log)).get(
    "/settings.public",
    ({ query }) => {
      const { count, offset } = pagination(services, query);
      // Sorted by _id as MongoDB orders strings (code units), like Rocket.Chat's query.
      const all = services.settings
        .publicSettings(idsOf(query._id))
        .sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
      const settings = all.slice(offset, offset + count);
      return ok({ settings, count: settings.length, offset, total: all.length });
    },
    {
      query: t.Object({
        _id: t.Optional(t.String()),
        count: t.Optional(t.String()),
        offset: t.Optional(t.String()),
      }),
      detail: {
        summary: "Public workspace settings (no login needed); `_id` takes a comma list",
        tags: ["Settings"],
      },
    },
  );
}
