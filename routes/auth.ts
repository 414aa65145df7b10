/**
 * `login`, `logout` and `me`: REST login with a username or e-mail and a password (plain
 * or as its SHA-256 digest) or with a resume token, as Rocket.Chat's REST API accepts.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import { passwordDigest } from "../core/password.ts";
import type { LoginResult, LoginSelector } from "../services/accounts.ts";
import type { Services } from "../services/index.ts";
import { ownView } from "../services/users.ts";
import { apiBase, json, ok } from "./http.ts";
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

async function attempt(services: Services, body: LoginBody): Promise<LoginResult | null> {
  try {
    if (body.resume !== undefined) return await services.accounts.loginWithToken(body.resume);
    const selector = selectorOf(body);
    if (!selector || body.password === undefined) return null;
    const digest =
      typeof body.password === "string"
        ? await passwordDigest(body.password)
        : body.password.hashed.toLowerCase();
    return await services.accounts.loginWithPassword(selector, digest);
  } catch (error) {
    if (error instanceof ClientError) return null;
    throw error;
  }
}

/** The authentication routes. */
export function authRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/login",
      async ({ body }) => {
        const result = await attempt(services, body);
        if (!result) return unauthorized();
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
