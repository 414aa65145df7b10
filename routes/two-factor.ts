/**
 * E-mail two-factor authentication over REST, as Rocket.Chat answers it:
 * `users.2fa.enableEmail` (every address must be verified; the caller's other logins end),
 * `users.2fa.disableEmail` (asks for a second factor, never a remembered one) and
 * `users.2fa.sendEmailCode`, which mails a new code to the caller or to the user named,
 * answering success whether or not that user exists. The TOTP side is DDP's `2fa:*`.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { hashLoginToken } from "../core/password.ts";
import type { Services } from "../services/index.ts";
import { logoutOtherSessions } from "../services/sessions.ts";
import { apiBase, ok } from "./http.ts";

const TAGS = ["Users"];

/** The routes of this file. */
export function twoFactorRoutes(services: Services, log: Logger) {
  const email = services.twoFactor.email;
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/users.2fa.enableEmail",
      async ({ me, authToken }) => {
        if (me.emails?.some((e) => !e.verified)) {
          const reason = "You need to verify your emails before setting up 2FA";
          throw new ClientError("error-invalid-user", reason);
        }
        await email.setEnabled(me._id, true);
        const keep = await hashLoginToken(authToken as string);
        await logoutOtherSessions(services.deps, me._id, [keep]);
        return ok();
      },
      {
        access: true,
        detail: { summary: "Turn on two-factor authentication by e-mail", tags: TAGS },
      },
    )
    .post(
      "/users.2fa.disableEmail",
      async ({ me }) => {
        await email.setEnabled(me._id, false);
        return ok();
      },
      {
        access: { twoFactor: { disableRememberMe: true } },
        detail: { summary: "Turn off two-factor authentication by e-mail", tags: TAGS },
      },
    )
    .post(
      "/users.2fa.sendEmailCode",
      async ({ user, body }) => {
        const given = body.emailOrUsername;
        if (typeof given !== "string" || given === "") {
          throw new ClientError("error-parameter-required", "emailOrUsername is required");
        }
        await email.sendTo(given, user?._id);
        return ok();
      },
      {
        open: true,
        body: t.Object({ emailOrUsername: t.Optional(t.Unknown()) }),
        detail: { summary: "Mail a new two-factor code", tags: TAGS },
      },
    );
}
