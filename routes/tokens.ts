/**
 * Personal access tokens and the password policy: `users.generatePersonalAccessToken`,
 * `users.regeneratePersonalAccessToken`, `users.getPersonalAccessTokens`,
 * `users.removePersonalAccessToken` and `pw.getPolicy` (`pw.getPolicyReset` is in
 * routes/password-reset.ts).
 *
 * A token made here is sent as `X-Auth-Token` with the owner's id as `X-User-Id`, or as a
 * DDP `resume` token. Making, replacing and removing one asks for a second factor
 * (`twoFactor`), as Rocket.Chat does; a token made with `bypassTwoFactor` is never asked.
 */
import { Elysia, t } from "elysia";
import type { Logger } from "../core/logger.ts";
import {
  generateToken,
  listTokens,
  regenerateToken,
  removeToken,
} from "../services/access-tokens.ts";
import type { Services } from "../services/index.ts";
import { policyView } from "../services/password-policy.ts";
import { apiBase, json, ok } from "./http.ts";

const TAGS = ["Users"];

const NameBody = t.Object({
  tokenName: t.Optional(t.String()),
  bypassTwoFactor: t.Optional(t.Boolean()),
});

/** Rocket.Chat's plain refusal of a call without `tokenName`. */
const nameRequired = () =>
  json(400, { success: false, error: "The 'tokenName' param is required" });

/** The routes of this file. */
export function tokenRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/users.generatePersonalAccessToken",
      async ({ me, body }) => {
        if (!body.tokenName) return nameRequired();
        const bypass = body.bypassTwoFactor === true;
        return ok({ token: await generateToken(services, me, body.tokenName, bypass) });
      },
      {
        access: { twoFactor: true },
        body: NameBody,
        detail: { summary: "Make a personal access token (shown once)", tags: TAGS },
      },
    )
    .post(
      "/users.regeneratePersonalAccessToken",
      async ({ me, body }) => {
        if (!body.tokenName) return nameRequired();
        return ok({ token: await regenerateToken(services, me, body.tokenName) });
      },
      {
        access: { twoFactor: true },
        body: NameBody,
        detail: { summary: "Replace a personal access token by a new one", tags: TAGS },
      },
    )
    .get(
      "/users.getPersonalAccessTokens",
      async ({ me }) => {
        const user = (await services.deps.db.users.findOne({ _id: me._id })) ?? me;
        return ok({ tokens: listTokens(user) });
      },
      {
        access: { permissions: ["create-personal-access-tokens"] },
        detail: { summary: "The caller's personal access tokens, without the tokens", tags: TAGS },
      },
    )
    .post(
      "/users.removePersonalAccessToken",
      async ({ me, body }) => {
        if (!body.tokenName) return nameRequired();
        await removeToken(services, me, body.tokenName);
        return ok();
      },
      {
        access: { twoFactor: true },
        body: NameBody,
        detail: { summary: "Delete a personal access token", tags: TAGS },
      },
    )
    .get("/pw.getPolicy", () => ok({ ...policyView(services.settings) }), {
      access: true,
      detail: { summary: "The password policy in force", tags: ["Misc"] },
    });
}
