/**
 * `permissions.listAll` (the permission table, optionally only what changed after
 * `updatedSince`) and `permissions.update` (which roles hold which permissions, for
 * holders of `access-permissions`).
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { listPermissions, updatePermissions } from "../services/permissions.ts";
import { apiBase, json, ok } from "./http.ts";

/** The date of an `updatedSince` parameter; Rocket.Chat's 400 for one that is not a date. */
export function updatedSinceOf(param: string | undefined): Date | undefined {
  if (!param) return undefined;
  const time = Date.parse(param);
  if (Number.isNaN(time)) {
    throw new ClientError(
      "error-roomId-param-invalid",
      'The "updatedSince" query parameter must be a valid date.',
    );
  }
  return new Date(time);
}

/** The permission routes. */
export function permissionsRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .get(
      "/permissions.listAll",
      async ({ query }) => {
        const since = updatedSinceOf(query.updatedSince);
        return ok({ update: await listPermissions(services, since), remove: [] });
      },
      {
        access: true,
        query: t.Object({ updatedSince: t.Optional(t.String()) }),
        detail: {
          summary: "The permission table, or what changed since a date",
          tags: ["Permissions"],
        },
      },
    )
    .post(
      "/permissions.update",
      async ({ body }) => {
        const refusal = await updatePermissions(services, body.permissions);
        // Rocket.Chat answers these two without the "[type]" suffix of a thrown error.
        if (refusal) return json(400, { success: false, ...refusal });
        return ok({ permissions: await listPermissions(services) });
      },
      {
        access: { permissions: ["access-permissions"] },
        body: t.Object(
          {
            permissions: t.Array(
              t.Object(
                { _id: t.String(), roles: t.Array(t.String(), { uniqueItems: true }) },
                { additionalProperties: false },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        detail: { summary: "Set which roles hold permissions", tags: ["Permissions"] },
      },
    );
}
