/**
 * Account lifecycle over REST, as Rocket.Chat answers it: `users.update` (an
 * administrator edits a user), `users.updateOwnBasicInfo`, `users.setActiveStatus`,
 * `users.delete`, `users.deleteOwnAccount`, `users.logout` (of oneself or, with
 * `logout-other-user`, of someone else), `users.logoutOtherClients` and
 * `users.removeOtherTokens` (every login of oneself but the caller's), `users.setPreferences`,
 * `users.getPreferences` and `users.autocomplete`.
 */
import { Elysia, t } from "elysia";
import { ClientError, invalidParams, notAllowed } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import { hashLoginToken, passwordDigest, verifyDigest } from "../core/password.ts";
import {
  setPreferences,
  type UserEdit,
  updateOwnInfo,
  updateUser,
} from "../services/account-edits.ts";
import { assertDeletable, deleteUser, setActiveStatus } from "../services/account-lifecycle.ts";
import { activeUsersMatching, pick } from "../services/discovery.ts";
import type { Services } from "../services/index.ts";
import { logoutEverywhere, logoutOtherClients, logoutOtherSessions } from "../services/sessions.ts";
import { userRecordView } from "../services/users.ts";
import { apiBase, json, ok } from "./http.ts";
import { PREFERENCES } from "./account-params.ts";
import { userFromParams } from "./room-params.ts";

const TAGS = ["Users"];

/** The refusal of a user that does not exist (any more), as userFromParams words it. */
const unknownUser = () =>
  new ClientError(
    "error-invalid-user",
    'The required "userId" or "username" param provided does not match any users',
  );

/** Rocket.Chat's bare 401 of `API.v1.unauthorized()`. */
const unauthorized = () => json(401, { success: false, error: "unauthorized" });

const UpdateBody = t.Object({
  userId: t.String(),
  confirmRelinquish: t.Optional(t.Boolean()),
  data: t.Object(
    {
      email: t.Optional(t.String()),
      name: t.Optional(t.String()),
      password: t.Optional(t.String()),
      username: t.Optional(t.String()),
      bio: t.Optional(t.String()),
      nickname: t.Optional(t.String()),
      statusText: t.Optional(t.String()),
      active: t.Optional(t.Boolean()),
      roles: t.Optional(t.Array(t.String())),
      requirePasswordChange: t.Optional(t.Boolean()),
      setRandomPassword: t.Optional(t.Boolean()),
      sendWelcomeEmail: t.Optional(t.Boolean()),
      verified: t.Optional(t.Boolean()),
      customFields: t.Optional(t.Record(t.String(), t.Unknown())),
    },
    // Kept so that the handler sees, and refuses, keys the schema does not name.
    { additionalProperties: true },
  ),
});

const OwnInfoBody = t.Object({
  data: t.Object(
    {
      email: t.Optional(t.String()),
      name: t.Optional(t.String()),
      username: t.Optional(t.String()),
      nickname: t.Optional(t.String()),
      bio: t.Optional(t.String()),
      statusText: t.Optional(t.String()),
      statusType: t.Optional(t.String()),
      currentPassword: t.Optional(t.String()),
      newPassword: t.Optional(t.String()),
    },
    { additionalProperties: true },
  ),
  customFields: t.Optional(t.Record(t.String(), t.Unknown())),
});

const UserParams = {
  userId: t.Optional(t.String()),
  username: t.Optional(t.String()),
  user: t.Optional(t.String()),
};

/**
 * Throws ajv's refusal of an object with keys its schema does not name, as Rocket.Chat's
 * schemas refuse them (Elysia would drop them silently instead).
 */
function onlyKnownKeys(value: object, schema: { properties: Record<string, unknown> }) {
  if (Object.keys(value).some((key) => !(key in schema.properties))) {
    throw invalidParams("must NOT have additional properties");
  }
}

/** Copies the fields of `edit` that are set, as UserEdit wants them. */
function definedOnly<T extends object>(edit: T): T {
  return Object.fromEntries(Object.entries(edit).filter(([, v]) => v !== undefined)) as T;
}

/** The routes of this file. */
export function accountRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/users.update",
      async ({ me, body }) => {
        // ajv's wording for the schema's `minLength: 1`, which Elysia words differently.
        if (!body.userId) throw invalidParams("must NOT have fewer than 1 characters");
        onlyKnownKeys(body.data, UpdateBody.properties.data);
        const edit = definedOnly(body.data) as UserEdit;
        const user = await updateUser(
          services,
          me,
          body.userId,
          edit,
          body.confirmRelinquish === true,
        );
        return ok({ user: userRecordView(user, true) });
      },
      {
        // Rocket.Chat's twoFactorRequired.
        access: { twoFactor: true },
        body: UpdateBody,
        detail: { summary: "Change another user's account (edit-other-user-info)", tags: TAGS },
      },
    )
    .post(
      "/users.updateOwnBasicInfo",
      async ({ me, body, authToken, request }) => {
        onlyKnownKeys(body.data, OwnInfoBody.properties.data);
        // As Rocket.Chat's saveUserProfile: a new e-mail or password needs the second
        // factor itself, never one remembered, from a user who has one (their current
        // password, checked below, is what everyone else gives).
        if (body.data.email !== undefined || body.data.newPassword !== undefined) {
          await services.twoFactor.check({
            user: me,
            code: request.headers.get("x-2fa-code") ?? undefined,
            method: request.headers.get("x-2fa-method") ?? undefined,
            options: { disableRememberMe: true, disablePasswordFallback: true },
          });
        }
        const user = await updateOwnInfo(services, me, definedOnly(body.data), authToken);
        return ok({ user: userRecordView(user, true) });
      },
      {
        access: true,
        body: OwnInfoBody,
        detail: { summary: "Change one's own name, username, e-mail or password", tags: TAGS },
      },
    )
    .post(
      "/users.setActiveStatus",
      async ({ me, body }) => {
        const { userId, activeStatus, confirmRelinquish } = body;
        // Nobody changes their own status here, whatever their permissions.
        if (userId === me._id) throw notAllowed();
        const user = await setActiveStatus(
          services,
          me,
          userId,
          activeStatus,
          confirmRelinquish === true,
        );
        if (!user) return json(400, { success: false, error: "User not found" });
        return ok({ user: { _id: user._id, active: user.active } });
      },
      {
        access: {
          permissions: ["edit-other-user-active-status", "manage-moderation-actions"],
          any: true,
        },
        body: t.Object({
          userId: t.String(),
          activeStatus: t.Boolean(),
          confirmRelinquish: t.Optional(t.Boolean()),
        }),
        detail: {
          summary: "Deactivate or reactivate a user; deactivation logs them out",
          tags: TAGS,
        },
      },
    )
    .post(
      "/users.delete",
      async ({ me, body }) => {
        const user = await userFromParams(services, body);
        const relinquish = body.confirmRelinquish === true;
        const guard = (stored: User) => assertDeletable(services, stored);
        // Another deletion of the same user may have finished while this one waited.
        if (!(await deleteUser(services, me, user._id, relinquish, guard))) throw unknownUser();
        return ok();
      },
      {
        access: { permissions: ["delete-user"] },
        body: t.Object({ ...UserParams, confirmRelinquish: t.Optional(t.Boolean()) }),
        detail: { summary: "Delete a user (delete-user)", tags: TAGS },
      },
    )
    .post(
      "/users.deleteOwnAccount",
      async ({ me, body }) => {
        if (!body.password) {
          return json(400, { success: false, error: 'Body parameter "password" is required.' });
        }
        if (services.settings.get<boolean>("Accounts_AllowDeleteOwnAccount") !== true) {
          throw new ClientError("error-not-allowed", "Not allowed");
        }
        await assertOwnPassword(me, body.password);
        if (!(await deleteUser(services, me, me._id, body.confirmRelinquish === true))) {
          throw unknownUser();
        }
        return ok();
      },
      {
        access: true,
        body: t.Object({
          password: t.Optional(t.String()),
          confirmRelinquish: t.Optional(t.Boolean()),
        }),
        detail: {
          summary: "Delete one's own account (setting Accounts_AllowDeleteOwnAccount)",
          tags: TAGS,
        },
      },
    )
    .post(
      "/users.logout",
      async ({ me, body }) => {
        const userId = body?.userId || me._id;
        if (userId !== me._id && !(await services.authz.can(me, "logout-other-user"))) {
          return unauthorized();
        }
        if (!(await logoutEverywhere(services.deps, userId))) {
          throw new ClientError("error-invalid-user-id", "Invalid user id");
        }
        return ok({ message: `User ${userId} has been logged out!` });
      },
      {
        access: true,
        body: t.Optional(t.Object({ userId: t.Optional(t.String()) })),
        detail: { summary: "End every login of a user (logout-other-user for others)", tags: TAGS },
      },
    )
    .post(
      "/users.logoutOtherClients",
      async ({ me, authToken }) => {
        const hashedToken = await hashLoginToken(authToken as string);
        const expires = await logoutOtherClients(services.deps, me._id, hashedToken);
        return ok({ token: authToken, tokenExpires: expires?.toISOString() ?? "" });
      },
      {
        access: true,
        detail: { summary: "End every other login of oneself, keeping this one", tags: TAGS },
      },
    )
    .post(
      "/users.removeOtherTokens",
      async ({ me, authToken }) => {
        const keep = [await hashLoginToken(authToken as string)];
        await logoutOtherSessions(services.deps, me._id, keep);
        return ok();
      },
      {
        access: true,
        detail: { summary: "Remove every other login token of oneself", tags: TAGS },
      },
    )
    .post(
      "/users.setPreferences",
      async ({ me, body }) => {
        onlyKnownKeys(body.data, { properties: PREFERENCES });
        const uid = body.userId || me._id;
        const user = await setPreferences(services, me, uid, definedOnly(body.data));
        const preferences = { ...user.settings?.preferences, language: user.language };
        return ok({ user: { _id: user._id, settings: { preferences } } });
      },
      {
        access: true,
        body: t.Object({
          userId: t.Optional(t.String()),
          data: t.Object(PREFERENCES, { additionalProperties: true }),
        }),
        detail: { summary: "Store a user's preferences", tags: TAGS },
      },
    )
    .get(
      "/users.getPreferences",
      async ({ me }) => {
        const user = (await services.deps.db.users.findOne({ _id: me._id })) ?? me;
        const preferences = { ...user.settings?.preferences, language: user.language };
        return ok({ preferences });
      },
      { access: true, detail: { summary: "The caller's preferences", tags: TAGS } },
    )
    .get(
      "/users.autocomplete",
      async ({ query }) => {
        const selector = parseSelector(query.selector);
        const exceptions = (selector.exceptions ?? []).filter((e) => typeof e === "string");
        const filter = activeUsersMatching(
          selector.term ?? "",
          ["username", "name"],
          [...(exceptions.length > 0 ? [{ username: { $nin: exceptions } }] : [])],
        );
        const users = await services.deps.db.users.find(filter, {
          sort: { username: 1 },
          limit: 10,
        });
        const fields = ["_id", "name", "username", "nickname", "status", "avatarETag"];
        return ok({ items: users.map((u) => pick(u, fields)) });
      },
      {
        access: true,
        query: t.Object({ selector: t.String() }),
        detail: { summary: "Active users whose username or name contains a term", tags: TAGS },
      },
    );
}

/** The `selector` of `users.autocomplete`: `{term, exceptions}` as JSON. */
function parseSelector(raw: string): { term?: string; exceptions?: string[] } {
  try {
    const parsed = JSON.parse(raw) as { term?: unknown; exceptions?: unknown };
    if (typeof parsed !== "object" || parsed === null) throw new Error("not an object");
    return {
      ...(typeof parsed.term === "string" && { term: parsed.term }),
      ...(Array.isArray(parsed.exceptions) && { exceptions: parsed.exceptions as string[] }),
    };
  } catch (error) {
    throw Object.assign(invalidParams("must be a JSON object: selector"), { cause: error });
  }
}

/**
 * Checks the password `users.deleteOwnAccount` was given (SHA-256 hex, any case), as
 * Rocket.Chat's deleteUserOwnAccount: an account without a password confirms with the
 * digest of its username instead.
 */
async function assertOwnPassword(me: User, digest: string): Promise<void> {
  const hash = me.services?.password?.bcrypt?.trim();
  const method = { method: "deleteUserOwnAccount" };
  if (hash) {
    if (!(await verifyDigest(digest.toLowerCase(), hash))) {
      throw new ClientError("error-invalid-password", "Invalid password", { details: method });
    }
  } else if ((await passwordDigest(me.username)) !== digest.trim().toLowerCase()) {
    throw new ClientError("error-invalid-username", "Invalid username", { details: method });
  }
}
