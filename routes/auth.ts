/**
 * `login`, `logout` and `me`: REST login with a username or e-mail and a password (plain
 * or as its SHA-256 digest, with a TOTP `code` when the user has one) or with a resume
 * token, as Rocket.Chat's REST API accepts. Blocked logins and missing or wrong codes are
 * answered with Rocket.Chat's reasons; every other failure is a bare 401.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import { passwordDigest } from "../core/password.ts";
import type { LoginResult, LoginSelector } from "../services/accounts.ts";
import { type Credentials, signIn } from "../services/sign-in.ts";
import type { Services } from "../services/index.ts";
import { ownView } from "../services/users.ts";
import { addressOf, apiBase, json, ok } from "./http.ts";
import type { Logger } from "../core/logger.ts";

const UserSelector = t.Union([
  t.String(),
  t.Object({ username: t.String() }),
  t.Object({ email: t.String() }),
]);

const LoginBody = t.Object({
  user: t.Optional(UserSelector),
  username: t.Optional(t.String()),
  email: t.Optional(t.String()),
  password: t.Optional(t.Union([t.String(), t.Object({ hashed: t.String() })])),
  resume: t.Optional(t.String()),
  code: t.Optional(t.String()),
});

type LoginBody = typeof LoginBody.static;

function unauthorized(): Response {
  return json(401, {
    status: "error",
    error: "Unauthorized",
    message: "Unauthorized",
    success: false,
  });
}

function selectorOf(body: LoginBody): LoginSelector | null {
  if (typeof body.user === "string")
    return body.user.includes("@") ? { email: body.user } : { username: body.user };
  if (body.user && "username" in body.user) return { username: body.user.username };
  if (body.user && "email" in body.user) return { email: body.user.email };
  if (body.username !== undefined) return { username: body.username };
  if (body.email !== undefined) return { email: body.email };
  return null;
}

/** Errors a failed login answers with their code and details rather than a bare 401. */
const TOLD_LOGIN_ERRORS = new Set([
  "error-login-blocked-for-ip",
  "error-login-blocked-for-user",
  "totp-required",
  "totp-invalid",
  "totp-max-attempts",
]);

/** The fields of a login body that may carry a second factor along. */
const LOGIN_FIELDS = new Set(["user", "username", "email", "password", "code"]);

/**
 * The credentials in a login body. As Rocket.Chat, a second factor (`code`, or the
 * `x-2fa-code` header) goes with a password login whose body has no other fields.
 */
async function credentialsOf(body: LoginBody, request: Request): Promise<Credentials | null> {
  if (body.resume !== undefined) return { kind: "resume", token: body.resume };
  const selector = selectorOf(body);
  if (!selector || body.password === undefined) return null;
  const digest =
    typeof body.password === "string"
      ? await passwordDigest(body.password)
      : body.password.hashed.toLowerCase();
  const plain = Object.keys(body).every((k) => LOGIN_FIELDS.has(k));
  const code = plain ? body.code || request.headers.get("x-2fa-code") || undefined : undefined;
  return { kind: "password", selector, digest, code };
}

/** The 401 of a failed login: Rocket.Chat's code, reason and details when they say why. */
function refusal(error: ClientError): Response {
  if (typeof error.error !== "string" || !TOLD_LOGIN_ERRORS.has(error.error)) return unauthorized();
  return json(401, {
    status: "error",
    error: error.error,
    ...(error.details && { details: error.details }),
    message: error.reason,
    success: false,
  });
}

async function attempt(
  services: Services,
  body: LoginBody,
  request: Request,
): Promise<LoginResult | Response> {
  const credentials = await credentialsOf(body, request);
  if (!credentials) return unauthorized();
  try {
    return await signIn(services, credentials, addressOf(request));
  } catch (error) {
    if (error instanceof ClientError) return refusal(error);
    throw error;
  }
}

/** The authentication routes. */
export function authRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/login",
      async ({ body, request }) => {
        const result = await attempt(services, body, request);
        if (result instanceof Response) return result;
        return json(200, {
          status: "success",
          data: { userId: result.user._id, authToken: result.token, me: ownView(result.user) },
        });
      },
      {
        open: true,
        body: LoginBody,
        detail: { summary: "Log in with a password or a resume token", tags: ["Authentication"] },
      },
    )
    .post(
      "/logout",
      async ({ me, authToken }) => {
        await services.accounts.logout(me._id, authToken as string);
        return json(200, { status: "success", data: { message: "You've been logged out!" } });
      },
      {
        access: true,
        detail: { summary: "Log out the token used for this call", tags: ["Authentication"] },
      },
    )
    .get("/me", ({ me }) => ok(ownView(me)), {
      access: true,
      detail: { summary: "The caller's own user record", tags: ["Authentication"] },
    });
}
