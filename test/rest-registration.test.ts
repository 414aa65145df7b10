/**
 * Creating accounts as a whole: an account is created or refused, never half-made, when
 * a default room fails, when the same name or e-mail arrives at once in several requests,
 * and when the password is empty.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RoomEffects } from "../supervisors/rooms.ts";
import { api, login, startTestServer, type TestServer } from "./helpers.ts";

/** New accounts whose username starts with this cannot join any default room. */
const UNLUCKY = "unlucky";

/** Room effects under which a default room fails to take an unlucky account's join. */
function failingDefaultJoins(real: RoomEffects): RoomEffects {
  return {
    load: real.load,
    execute: (state, command) => {
      if (command.kind === "join" && command.user.username.startsWith(UNLUCKY)) {
        return Promise.reject(new TypeError("injected fault"));
      }
      return real.execute(state, command);
    },
  };
}

let server: TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startTestServer({ roomEffects: failingDefaultJoins });
});

afterAll(() => server.stop());

function fresh(prefix: string): string {
  counter += 1;
  return `${prefix}${process.pid}x${counter}`;
}

function register(username: string, email: string, pass = "a-password") {
  return api(server, "users.register", { body: { username, email, pass, name: username } });
}

describe("an account and its default rooms", () => {
  test("users.register creates the account although a default room cannot take the join", async () => {
    const username = fresh(UNLUCKY);

    const res = await register(username, `${username}@example.com`);

    expect(res.status).toBe(200);
    expect(res.body.user.username).toBe(username);
    expect(await login(server, username, "a-password")).toHaveProperty("authToken");
  });

  test("users.create creates the account although a default room cannot take the join", async () => {
    const username = fresh(UNLUCKY);
    const body = { username, email: `${username}@example.com`, password: "pw", name: username };

    const res = await api(server, "users.create", { auth: server.admin, body });

    expect(res.status).toBe(200);
    expect(await login(server, username, "pw")).toHaveProperty("authToken");
  });
});

describe("one account per name and e-mail", () => {
  test("one username registered at once in three cases makes one account", async () => {
    const base = fresh("reg");
    const names = [base, base.toUpperCase(), `R${base.slice(1)}`];

    const answers = await Promise.all(
      names.map((name, i) => register(name, `${base}.${i}@example.com`)),
    );

    expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400]);
    const refusals = answers.filter((a) => a.status === 400).map((a) => a.body);
    expect(refusals).toEqual([
      { success: false, error: "Username is already in use" },
      { success: false, error: "Username is already in use" },
    ]);
  });

  test("one e-mail registered at once by three visitors makes one account", async () => {
    const email = `${fresh("mail")}@example.com`;
    const sequential = await register(fresh("first"), `late.${email}`).then(() =>
      register(fresh("second"), `late.${email}`),
    );

    const answers = await Promise.all(
      [email, email.toUpperCase(), email].map((address) => register(fresh("visitor"), address)),
    );

    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const refusals = answers.filter((a) => a.status !== 200).map((a) => a.body);
    expect(refusals).toEqual([sequential.body, sequential.body]);
  });

  test("users.create names the e-mail when two accounts take it at once", async () => {
    const email = `${fresh("shared")}@example.com`;
    const create = (username: string) =>
      api(server, "users.create", {
        auth: server.admin,
        body: { username, email, password: "pw", name: username },
      });

    const answers = await Promise.all([create(fresh("one")), create(fresh("two"))]);

    const refused = answers.find((a) => a.status !== 200);
    expect(refused?.body).toEqual({
      success: false,
      error: `${email} is already in use :( [error-field-unavailable]`,
      errorType: "error-field-unavailable",
      details: { method: "insertOrUpdateUser", field: email },
    });
  });
});

describe("passwords", () => {
  test.each([
    ["empty", ""],
    ["blank", "   "],
  ])("users.register refuses a password that is %s", async (_case, pass) => {
    const username = fresh("nopass");

    const res = await register(username, `${username}@example.com`, pass);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error:
        "The password provided does not meet the server's password policy. [error-password-policy-not-met]",
      errorType: "error-password-policy-not-met",
    });
  });
});
