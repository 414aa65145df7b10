/**
 * The settings resource: `settings.public`, which anyone may read before logging in (site
 * name, registration form, size limits, …); `settings` and `settings/:_id`, where
 * administrators read and change them; and the login-service lists, which are empty
 * because Parley has no OAuth providers yet.
 */
import { Elysia, t } from "elysia";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import {
  changeSetting,
  cleanSettingsQuery,
  parseSettingsFields,
  settingsPage,
  viewSetting,
} from "../services/setting-changes.ts";
import { apiBase, ok, pagination } from "./http.ts";
import { parseSort } from "./room-params.ts";

/** The ids in a comma-separated `_id` parameter; absent or empty means all of them. */
function idsOf(param: string | undefined): string[] | undefined {
  if (!param) return undefined;
  return param
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "");
}

/** The parameters of a settings list, as strings. */
interface ListParams {
  readonly _id?: string | undefined;
  readonly query?: string;
  readonly fields?: string;
  readonly sort?: string;
  readonly includeDefaults?: string;
  readonly count?: string;
  readonly offset?: string;
}

/** One page of settings in Rocket.Chat's paged envelope. */
async function page(services: Services, privileged: boolean, params: ListParams) {
  const { count, offset } = pagination(services, params);
  const ids = idsOf(params._id);
  const { settings, total } = await settingsPage(services, privileged, {
    count,
    offset,
    ...(ids && { ids }),
    ...optional("filter", cleanSettingsQuery(params.query)),
    ...optional("fields", parseSettingsFields(params.fields)),
    ...optional("sort", parseSort(params.sort)),
    includeDefaults: params.includeDefaults === "true",
  });
  return { settings, count: settings.length, offset, total };
}

/** `{[key]: value}` when the value is there, nothing otherwise. */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** The settings routes. */
export function settingsRoutes(services: Services, log: Logger) {
  return (
    new Elysia({ prefix: "/api/v1" })
      .use(apiBase(services, log))
      .get("/settings.public", async ({ query }) => ok(await page(services, false, query)), {
        open: true,
        query: t.Object({
          _id: t.Optional(t.String()),
          query: t.Optional(t.String()),
          fields: t.Optional(t.String()),
          sort: t.Optional(t.String()),
          count: t.Optional(t.String()),
          offset: t.Optional(t.String()),
        }),
        detail: {
          summary:
            "Public workspace settings (no login needed); `_id` takes a comma list, `query`, `fields` and `sort` JSON",
          tags: ["Settings"],
        },
      })
      .get(
        "/settings",
        async ({ query, me }) => {
          const privileged = await services.authz.can(me, "view-privileged-setting");
          return ok(await page(services, privileged, { ...query, _id: undefined }));
        },
        {
          access: true,
          query: t.Object({
            includeDefaults: t.Optional(t.String()),
            query: t.Optional(t.String()),
            fields: t.Optional(t.String()),
            sort: t.Optional(t.String()),
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
          access: { permissions: ["edit-privileged-setting"], twoFactor: true },
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
