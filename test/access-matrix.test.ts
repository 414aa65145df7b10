/**
 * The permission matrix: every REST route and DDP method, called as an anonymous client,
 * a plain user, a room owner and an administrator, allows or refuses each of them as its
 * declared rule and the live permission table say. A route or method added without a
 * rule fails here, and so does one whose rule the enforcement point does not apply.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { methodAccess } from "../services/methods.ts";
import {
  api,
  type ApiResponse,
  type Credentials,
  createUser,
  RawDdp,
  startTestServer,
  type TestServer,
} from "./helpers.ts";

/** Rocket.Chat's answer to a caller who is not logged in. */
const NOT_LOGGED_IN = {
  success: false,
  status: "error",
  message: "You must be logged in to do this.",
  error: "You must be logged in to do this.",
};

/** Rocket.Chat's answer to a caller who lacks a route's permissions. */
const NOT_ALLOWED = {
  success: false,
  error: "User does not have the permissions required for this action [error-unauthorized]",
};

interface Rule {
  readonly login: boolean;
  readonly permissions?: readonly string[];
  readonly any?: boolean;
}

interface Route {
  readonly method: string;
  /** The path with its parameters filled in. */
  readonly path: string;
  readonly rule: Rule | undefined;
}

let server: TestServer;
let routes: Route[];
/** Which roles hold each permission, as the server's table says right now. */
let table: Map<string, string[]>;
let plain: { credentials: Credentials; password: string; username: string };

/** The routes of the OpenAPI document, with the rule each one carries. */
async function documentedRoutes(): Promise<Route[]> {
  const spec = await api(server, "/api/docs/json");
  const paths = spec.body.paths as Record<string, Record<string, Record<string, unknown>>>;
  return Object.entries(paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path: path.replace(/\{\w+\}/g, "x"),
      rule: operation["x-parley-access"] as Rule | undefined,
    })),
  );
}

async function loadTable(): Promise<Map<string, string[]>> {
  const res = await api(server, "permissions.listAll", { auth: server.admin });
  return new Map(
    (res.body.update as { _id: string; roles: string[] }[]).map((p) => [p._id, p.roles]),
  );
}

/** Whether holders of `roles` pass `rule`'s permissions under the current table. */
function passes(rule: Rule, roles: readonly string[]): boolean {
  const wanted = rule.permissions ?? [];
  const held = (permission: string) =>
    (table.get(permission) ?? []).some((role) => roles.includes(role));
  if (wanted.length === 0) return true;
  return rule.any ? wanted.some(held) : wanted.every(held);
}

/** Calls `route` with no parameters, as `auth` (anonymous when undefined). */
function call(route: Route, auth?: Credentials): Promise<ApiResponse> {
  return api(server, route.path.replace(/^\/api\/v1\//, ""), {
    method: route.method,
    ...(route.method === "GET" ? {} : { body: {} }),
    ...(auth && { auth }),
  });
}

/** Whether `res` is the enforcement point's 401 or 403. */
function refusedAtTheDoor(res: ApiResponse): boolean {
  return (
    (res.status === 401 && res.body?.message === NOT_LOGGED_IN.message) ||
    (res.status === 403 && res.body?.error === NOT_ALLOWED.error)
  );
}

/**
 * Routes that end the caller's sessions (all of them, for `users.logout`, or all but the
 * caller's own); each is called by a new user holding the same roles, so that the walk
 * keeps its credentials and the other tests theirs.
 */
const endsSession = (route: Route) => /logout|removeOtherTokens/i.test(route.path);

/** Methods that end the caller's other logins, refusing anonymous callers in Meteor's words. */
const OWN_SESSIONS_METHODS = new Set(["removeOtherTokens", "logoutOtherClients"]);

/** The credentials to call `route` with as a holder of `roles`. */
async function credentialsFor(route: Route, credentials: Credentials, roles: string[]) {
  return endsSession(route) ? (await createUser(server, { roles })).credentials : credentials;
}

beforeAll(async () => {
  server = await startTestServer();
  const created = await createUser(server);
  plain = { ...created, username: created.user.username };
  routes = (await documentedRoutes()).filter((r) => r.path.startsWith("/api/"));
  table = await loadTable();
});

afterAll(async () => {
  await server.stop();
});

describe("REST", () => {
  test("every route declares who may call it", () => {
    expect(routes.length).toBeGreaterThan(100);
    expect(routes.filter((r) => !r.rule).map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  test("an anonymous caller gets the 401 from every route that needs a login, and no 5xx anywhere", async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      const res = await call(route);
      const expected401 = route.rule?.login === true;
      const ok = expected401
        ? res.status === 401 && JSON.stringify(res.body) === JSON.stringify(NOT_LOGGED_IN)
        : res.status < 500 && !refusedAtTheDoor(res);
      if (!ok)
        wrong.push(`${route.method} ${route.path} -> ${res.status} ${JSON.stringify(res.body)}`);
    }
    expect(wrong).toEqual([]);
  });

  test("a plain user and an administrator pass or are refused as the permission table says", async () => {
    const adminUser = (await api(server, "me", { auth: server.admin })).body;
    const callers = [
      { name: "user", roles: ["user"], credentials: plain.credentials },
      { name: "admin", roles: adminUser.roles as string[], credentials: server.admin },
    ];
    const wrong: string[] = [];
    for (const caller of callers) {
      for (const route of routes.filter((r) => r.rule?.login)) {
        const auth = await credentialsFor(route, caller.credentials, caller.roles);
        const res = await call(route, auth);
        const allowed = passes(route.rule as Rule, caller.roles);
        const ok = allowed
          ? res.status < 500 && !refusedAtTheDoor(res)
          : res.status === 403 && JSON.stringify(res.body) === JSON.stringify(NOT_ALLOWED);
        if (!ok) {
          wrong.push(
            `${caller.name} ${route.method} ${route.path} -> ${res.status} ${JSON.stringify(res.body)}`,
          );
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  test("granting and revoking a permission in the table opens and closes its routes at once", async () => {
    const guarded = routes.filter((r) => (r.rule?.permissions ?? []).length > 0);
    expect(guarded.length).toBeGreaterThan(0);
    const original = await loadTable();
    // The table names livechat-monitor, a role only Rocket.Chat's enterprise edition
    // creates: an update may name existing roles only.
    const listed = await api(server, "roles.list", { auth: server.admin });
    const existing = new Set(listed.body.roles.map((r: { _id: string }) => r._id));
    const wrong: string[] = [];
    for (const grant of [true, false]) {
      const permissions = [...new Set(guarded.flatMap((r) => r.rule?.permissions ?? []))].map(
        (_id) => {
          const roles = (original.get(_id) ?? []).filter(
            (role) => role !== "user" && existing.has(role),
          );
          return { _id, roles: grant ? [...roles, "user"] : roles };
        },
      );
      const update = await api(server, "permissions.update", {
        auth: server.admin,
        body: { permissions },
      });
      expect(update.status).toBe(200);
      for (const route of guarded) {
        const res = await call(route, plain.credentials);
        const refused = res.status === 403 && res.body?.error === NOT_ALLOWED.error;
        if (refused === grant)
          wrong.push(`grant=${grant} ${route.method} ${route.path} -> ${res.status}`);
      }
    }
    const restore = [...original].map(([_id, roles]) => ({ _id, roles }));
    await api(server, "permissions.update", { auth: server.admin, body: { permissions: restore } });
    table = await loadTable();
    expect(wrong).toEqual([]);
  });
});

describe("room-scoped permissions", () => {
  /** A route that acts on a room, with the permission Rocket.Chat checks in that room. */
  interface RoomCase {
    readonly permission: string;
    readonly type: "c" | "p";
    readonly path: string;
    body(rid: string, member: string, messageId: string): Record<string, unknown>;
  }

  const CASES: RoomCase[] = [
    {
      permission: "edit-room",
      type: "c",
      path: "channels.setTopic",
      body: (roomId) => ({ roomId, topic: "t" }),
    },
    {
      permission: "edit-room",
      type: "p",
      path: "groups.setTopic",
      body: (roomId) => ({ roomId, topic: "t" }),
    },
    {
      permission: "archive-room",
      type: "c",
      path: "channels.archive",
      body: (roomId) => ({ roomId }),
    },
    {
      permission: "remove-user",
      type: "c",
      path: "channels.kick",
      body: (roomId, userId) => ({ roomId, userId }),
    },
    {
      permission: "set-moderator",
      type: "c",
      path: "channels.addModerator",
      body: (roomId, userId) => ({ roomId, userId }),
    },
    {
      permission: "set-owner",
      type: "p",
      path: "groups.addOwner",
      body: (roomId, userId) => ({ roomId, userId }),
    },
    { permission: "delete-c", type: "c", path: "channels.delete", body: (roomId) => ({ roomId }) },
    { permission: "delete-p", type: "p", path: "groups.delete", body: (roomId) => ({ roomId }) },
    {
      permission: "pin-message",
      type: "c",
      path: "chat.pinMessage",
      body: (_r, _u, messageId) => ({ messageId }),
    },
    {
      permission: "clean-channel-history",
      type: "c",
      path: "rooms.cleanHistory",
      body: (roomId) => ({
        roomId,
        latest: "2100-01-01T00:00:00.000Z",
        oldest: "2000-01-01T00:00:00.000Z",
      }),
    },
  ];

  /** A new room owned by `owner`, with `members` in it and one message, for one case. */
  async function roomFor(type: "c" | "p", owner: Credentials, members: string[]) {
    const created = await api(server, type === "c" ? "channels.create" : "groups.create", {
      auth: owner,
      body: { name: `matrix-${crypto.randomUUID().slice(0, 8)}`, members },
    });
    expect(created.status).toBe(200);
    const rid = (created.body.channel ?? created.body.group)._id as string;
    const sent = await api(server, "chat.sendMessage", {
      auth: owner,
      body: { message: { rid, msg: "pin me" } },
    });
    return { rid, messageId: sent.body.message._id as string };
  }

  /**
   * Whether the case's action went through when `caller` tried it in a new room of
   * `owner`, of which `subject` (the user the action targets) and `caller` are members.
   */
  async function attempt(
    c: RoomCase,
    caller: { credentials: Credentials; username: string },
    owner: { credentials: Credentials; username: string },
    subject: { _id: string; username: string },
  ) {
    const members = [subject.username, caller.username].filter((u) => u !== owner.username);
    const { rid, messageId } = await roomFor(c.type, owner.credentials, members);
    const res = await api(server, c.path, {
      auth: caller.credentials,
      body: c.body(rid, subject._id, messageId),
    });
    expect(res.status).toBeLessThan(500);
    return res.status === 200 && res.body.success === true;
  }

  /** A new plain user, with what `attempt` needs of them. */
  async function someone() {
    const created = await createUser(server);
    return { ...created, username: created.user.username };
  }

  test("a room's owner, a plain member and an administrator member are allowed or refused as the table says", async () => {
    const owner = await someone();
    const subject = await someone();
    const member = await someone();
    const me = (await api(server, "me", { auth: server.admin })).body;
    const admin = { credentials: server.admin, username: me.username as string };
    const wrong: string[] = [];
    for (const c of CASES) {
      const roles = table.get(c.permission) ?? [];
      const holds = (held: string[]) => held.some((role) => roles.includes(role));
      const cases = [
        { name: "owner", caller: owner, expected: holds(["owner", "user"]) },
        { name: "member", caller: member, expected: holds(["user"]) },
        { name: "admin", caller: admin, expected: holds(me.roles) },
      ];
      for (const { name, caller, expected } of cases) {
        const allowed = await attempt(c, caller, owner, subject.user);
        if (allowed !== expected) wrong.push(`${name} ${c.path}: ${allowed}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("taking a permission from the owner role refuses the owner at once", async () => {
    const owner = await someone();
    const subject = await someone();
    const edit = CASES[0] as RoomCase;
    const roles = table.get(edit.permission) ?? [];
    expect(roles).toContain("owner");
    const without = roles.filter((role) => role !== "owner");
    await api(server, "permissions.update", {
      auth: server.admin,
      body: { permissions: [{ _id: edit.permission, roles: without }] },
    });
    const refused = !(await attempt(edit, owner, owner, subject.user));
    await api(server, "permissions.update", {
      auth: server.admin,
      body: { permissions: [{ _id: edit.permission, roles }] },
    });
    expect(refused).toBe(true);
    expect(await attempt(edit, owner, owner, subject.user)).toBe(true);
  });
});

describe("DDP", () => {
  test("every method that needs a login refuses an anonymous caller before it runs", async () => {
    const client = await RawDdp.connect(server.wsUrl);
    const wrong: string[] = [];
    try {
      for (const [name, access] of Object.entries(methodAccess())) {
        const reply = await client.call(name, {});
        const error = reply.error as { error?: unknown; reason?: string } | undefined;
        if (access.access === "login") {
          const refused =
            (error?.error === "error-invalid-user" && error.reason === "Invalid user") ||
            (error?.error === "error-not-allowed" && error.reason === "Threads Disabled") ||
            // Rocket.Chat's two-factor methods refuse with a bare not-authorized.
            (error?.error === "not-authorized" && name.startsWith("2fa:")) ||
            (error?.error === "You are not logged in." && OWN_SESSIONS_METHODS.has(name));
          if (!refused) wrong.push(`${name}: ${JSON.stringify(reply.error ?? reply.result)}`);
        } else if (error?.error === 500 || error?.error === "error-invalid-user") {
          wrong.push(`${name} (open): ${JSON.stringify(error)}`);
        }
      }
    } finally {
      client.close();
    }
    expect(wrong).toEqual([]);
  });

  test("a logged-in caller gets past the door of every method", async () => {
    const client = await RawDdp.connect(server.wsUrl);
    const wrong: string[] = [];
    // A user of its own: some methods end the caller's other logins.
    const caller = await createUser(server);
    try {
      const logged = await client.call("login", {
        user: { username: caller.user.username },
        password: caller.password,
      });
      expect(logged.error).toBeUndefined();
      for (const name of Object.keys(methodAccess())) {
        if (name === "login") continue;
        const reply = await client.call(name, {});
        const error = reply.error as { error?: unknown; reason?: string } | undefined;
        if (error?.error === 500 || error?.error === "error-invalid-user") {
          wrong.push(`${name}: ${JSON.stringify(error)}`);
        }
      }
    } finally {
      client.close();
    }
    expect(wrong).toEqual([]);
  });
});
