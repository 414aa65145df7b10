/**
 * The settings resource: `settings.public`, which anyone may read before logging in (site
 * name, registration form, size limits, …); `settings` and `settings/:_id`, where
 * administrators read and change them; and the login-service lists, which are empty
 * because Parley has no OAuth providers yet.
 */
import { Elysia, t } from "elysia";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { changeSetting, listSettings, viewSetting } from "../services/setting-changes.ts";
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
  return (
    new Elysia({ prefix: "/api/v1" })
      .use(apiBase(services, log))
      .get(
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
          open: true,
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
      )
      .get(
        "/settings",
        async ({ query, me }) => {
          const { count, offset } = pagination(services, query);
          const all = await listSettings(services, me, query.includeDefaults === "true");
          const settings = all.slice(offset, offset + count);
          return ok({ settings, count: settings.length, offset, total: all.length });
        },
        {
          access: true,
          query: t.Object({
            includeDefaults: t.Optional(t.String()),
            count: t.Optional(t.String()),
            offset: t.Optional(t.String()),
          }),
          detail: {
            summary: "Every setting for administrators, the public ones for anyone else",
            tags: ["Settings"],
          },
        },
      )
      .get(
        "/settings/:_id",
        async ({ params }) => ok({ ...(await viewSetting(services, params._id)) }),
        {
          access: { permissions: ["view-privileged-setting"] },
          detail: { summary: "One setting (`view-privileged-setting`)", tags: ["Settings"] },
        },
      )
      .post(
        "/settings/:_id",
        async ({ params, body }) => {
          const value = (body as { value?: unknown } | null)?.value;
          await changeSetting(services, params._id, value);
          return ok();
        },
        {
          access: { permissions: ["edit-privileged-setting"] },
          detail: {
            summary: "Change one setting (`edit-privileged-setting`); takes effect at once",
            tags: ["Settings"],
          },
        },
      )
      // Limitation: Parley has no OAuth or other login services yet, so both lists are
      // always empty and clients offer password login only.
      .get("/settings.oauth", () => ok({ services: [] }), {
        open: true,
        detail: { summary: "OAuth login services (none yet, no login needed)", tags: ["Settings"] },
      })
      .get("/service.configurations", () => ok({ configurations: [] }), {
        open: true,
        detail: { summary: "Login service configurations (none yet)", tags: ["Settings"] },
      })
  );
}
