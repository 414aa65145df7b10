/**
 * `users.create`, `users.register`, `users.info` and `users.list`: accounts created by an
 * administrator or by visitors, one user's profile, and the user directory, with
 * Rocket.Chat's validation order, error strings and answer shapes.
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { User } from "../core/models.ts";
import { assertAdminAssignable } from "../services/account-edits.ts";
import type { Services } from "../services/index.ts";
import { userInfoView, userListView, userRecordView } from "../services/users.ts";
import { apiBase, ok, pagination } from "./http.ts";
import { forbidden, PAGE_QUERY, parseSort, requireAnyOf, requireParams } from "./room-params.ts";

const TAGS = ["Users"];

/** Fields of `users.create`; the four Rocket.Chat requires are checked in its order. */
const CreateBody = t.Object({
  email: t.Optional(t.String()),
  name: t.Optional(t.String()),
  password: t.Optional(t.String()),
  username: t.Optional(t.String()),
  active: t.Optional(t.Boolean()),
  roles: t.Optional(t.Array(t.String())),
  joinDefaultChannels: t.Optional(t.Boolean()),
  requirePasswordChange: t.Optional(t.Boolean()),
  sendWelcomeEmail: t.Optional(t.Boolean()),
  verified: t.Optional(t.Boolean()),
  setRandomPassword: t.Optional(t.Boolean()),
  customFields: t.Optional(t.Record(t.String(), t.Unknown())),
  bio: t.Optional(t.String()),
  nickname: t.Optional(t.String()),
  statusText: t.Optional(t.String()),
});

const RegisterBody = t.Object({
  username: t.Optional(t.String()),
  email: t.Optional(t.String()),
  pass: t.Optional(t.String()),
  name: t.Optional(t.String()),
  secret: t.Optional(t.String()),
  reason: t.Optional(t.String()),
});

const InfoQuery = t.Object({
  userId: t.Optional(t.String()),
  username: t.Optional(t.String()),
  includeUserRooms: t.Optional(t.String()),
  fields: t.Optional(t.String()),
});

/** Whether `fields` (a JSON projection, as older clients send it) asks for `userRooms`. */
function asksForRooms(fields: string | undefined): boolean {
  if (fields === undefined) return false;
  try {
    return (JSON.parse(fields) as Record<string, unknown>)?.userRooms === 1;
  } catch {
    return false;
  }
}

/** The rooms `users.info` lists for a user: their subscriptions, briefly. */
async function roomsOf(services: Services, uid: string) {
  const subs = await services.rooms.subscriptionsOf(uid);
  return subs.map(({ _id, rid, name, t: type, roles, unread }) => ({
    _id,
    rid,
    name,
    t: type,
    unread,
    ...(roles && { roles }),
  }));
}

/**
 * Creates the account `users.create` describes, after Rocket.Chat's checks.
 *
 * Limitation: `customFields`, `bio`, `nickname`, `statusText` and `sendWelcomeEmail` are
 * accepted but not stored or acted on, so clients that set them see them missing later.
 */
async function createAccount(
  services: Services,
  me: User,
  body: typeof CreateBody.static,
): Promise<User> {
  requireParams(body, ["email", "name", "password", "username"]);
  type Required4 = Required<Pick<typeof body, "email" | "name" | "password" | "username">>;
  const { email, name, password, username } = body as Required4;
  if (!(await services.authz.can(me, "create-user"))) {
    throw new ClientError("error-action-not-allowed", "Adding user is not allowed", {
      details: { method: "insertOrUpdateUser", action: "Adding_user" },
    });
  }
  if (body.roles) await assertAdminAssignable(services, me, body.roles);
  await services.accounts.assertCreatable({
    name,
    username,
    password,
    ...(body.roles && { roles: body.roles }),
  });
  return services.accounts.createUser({
    username,
    email,
    password,
    name,
    ...(body.roles && { roles: body.roles }),
    ...(body.active !== undefined && { active: body.active }),
    ...(body.verified !== undefined && { verified: body.verified }),
    ...(body.requirePasswordChange !== undefined && {
      requirePasswordChange: body.requirePasswordChange,
    }),
    // Rocket.Chat joins the default rooms unless told otherwise.
    joinDefaultChannels: body.joinDefaultChannels ?? true,
  });
}

/** The user routes. */
export function usersRoutes(services: Services, log: Logger) {
  return new Elysia({ prefix: "/api/v1" })
    .use(apiBase(services, log))
    .post(
      "/users.create",
      async ({ me, body }) => {
        const created = await createAccount(services, me, body);
        const privileged = await services.authz.can(me, "view-full-other-user-info");
        return ok({ user: userRecordView(created, privileged) });
      },
      {
        access: true,
        body: CreateBody,
        detail: { summary: "Create a user (permission create-user)", tags: TAGS },
      },
    )
    .post(
      "/users.register",
      async ({ user, body }) => {
        if (user)
          throw new ClientError("error-logged-in", "Logged in users can not register again.", {
            plain: true,
          });
        requireParams(body, ["username", "email", "pass"]);
        const { username, email, pass } = body as Required<
          Pick<typeof body, "username" | "email" | "pass">
        >;
        const registered = await services.accounts.register({
          username,
          email,
          pass,
          ...(body.name !== undefined && { name: body.name }),
          ...(body.secret !== undefined && { secret: body.secret }),
        });
        return ok({ user: userRecordView(registered, false) });
      },
      {
        open: true,
        body: RegisterBody,
        detail: { summary: "Register a new account without logging in", tags: TAGS },
      },
    )
    .get(
      "/users.info",
      async ({ me, query }) => {
        requireAnyOf(query, ["userId", "username"]);
        const wanted = query.userId || query.username;
        if (!wanted)
          throw new ClientError("error-invalid-search", "Invalid search query.", { plain: true });
        // An id is looked up as an id and a username as a username: a user may pick a
        // username that is someone else's id.
        const found = await services.deps.db.users.findOne(
          query.userId ? { _id: query.userId } : { username: wanted },
        );
        if (!found)
          throw new ClientError("error-user-not-found", "User not found.", { plain: true });

        const self = found._id === me._id;
        const full = self || (await services.authz.can(me, "view-full-other-user-info"));
        const view = userInfoView(found, { full, self });
        const wantsRooms = query.includeUserRooms === "true" || asksForRooms(query.fields);
        if (wantsRooms && (self || (await services.authz.can(me, "view-other-user-channels")))) {
          view.rooms = await roomsOf(services, found._id);
        }
        return ok({ user: view });
      },
      {
        access: true,
        query: InfoQuery,
        detail: { summary: "A user's profile, by userId or username", tags: TAGS },
      },
    )
    .get(
      "/users.list",
      async ({ me, query }) => {
        if (!(await services.authz.can(me, "view-d-room"))) throw forbidden();
        const { count, offset } = pagination(services, query);
        const sort = parseSort(query.sort);
        const { users, total } = await services.accounts.list({
          offset,
          count,
          ...(sort && { sort }),
        });
        const privileged = await services.authz.can(me, "view-full-other-user-info");
        const rows = users.map((user) => userListView(user, privileged));
        return ok({ users: rows, count: users.length, offset, total });
      },
      {
        access: true,
        query: t.Object(PAGE_QUERY),
        detail: { summary: "All users, a page at a time", tags: TAGS },
      },
    );
}
