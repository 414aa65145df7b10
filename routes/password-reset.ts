/**
 * Password reset over REST, as Rocket.Chat answers it: `users.forgotPassword` mails a
 * reset link (see services/password-reset.ts) while Accounts_PasswordReset is on, and
 * `pw.getPolicyReset` shows the password policy to the holder of a reset token, so that
 * the reset page can check a new password before it is sent. The reset itself is the DDP
 * method `resetPassword` (also through `method.callAnon`).
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { policyView } from "../services/password-policy.ts";
import { sendForgotPasswordEmail, userByResetToken } from "../services/password-reset.ts";
import { apiBase, json, ok } from "./http.ts";

/** Rocket.Chat's plain 400 of `API.v1.failure(text)`. */
const failure = (text: string) => new ClientError("error-failure", text, { plain: true });

/** The routes of this file. */
export function passwordResetRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/users.forgotPassword",
      async ({ body }) => {
        if (!services.settings.get<boolean>("Accounts_PasswordReset")) {
          throw failure("Password reset is not enabled");
        }
        const email = body.email;
        if (typeof email !== "string" || email === "") {
          throw failure("The 'email' param is required");
        }
        await sendForgotPasswordEmail(services, email);
        return ok();
      },
      {
        open: true,
        body: t.Object({ email: t.Optional(t.Unknown()) }),
        detail: {
          summary: "Mail a password reset link (answered alike for unknown addresses)",
          tags: ["Users"],
        },
      },
    )
    .get(
      "/pw.getPolicyReset",
      async ({ query }) => {
        if (!(await userByResetToken(services, query.token))) {
          return json(401, { success: false, error: "unauthorized" });
        }
        return ok({ ...policyView(services.settings) });
      },
      {
        open: true,
        query: t.Object({ token: t.String() }),
        detail: { summary: "The password policy, for the holder of a reset token", tags: ["Misc"] },
      },
    );
}
