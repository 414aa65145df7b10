/**
 * Settings given in the environment, as Rocket.Chat reads them: `OVERWRITE_SETTING_<id>`
 * sets a setting at every start (typed by the setting, stored, and refused at start-up
 * with exit code 2 when the setting cannot take it), and a plain `<id>` variable is only
 * the initial value of a setting. Each test starts the real server with the variables.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../core/config.ts";
import { api, startTestServer, type TestServer } from "./helpers.ts";
import { runParleyToExit, spawnParley } from "./processes.ts";

const folders: string[] = [];

afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A data folder that outlives restarts within a test, removed after the file. */
function dataFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "parley-settings-env-"));
  folders.push(folder);
  return folder;
}

/** The public values of `ids`, by id, as `settings.public` answers them. */
async function publicValues(server: TestServer, ids: string[]) {
  const res = await api(server, "settings.public", { query: { _id: ids.join(",") } });
  return Object.fromEntries(
    res.body.settings.map((s: { _id: string; value: unknown }) => [s._id, s.value]),
  );
}

/** Runs `fn` on a server started over `dataDir` with `env`, then stops it, keeping the data. */
async function withServer<T>(
  dataDir: string,
  env: Record<string, string>,
  fn: (server: TestServer) => Promise<T>,
): Promise<T> {
  const server = await startTestServer({ dataDir, env });
  try {
    return await fn(server);
  } finally {
    await server.stop(true);
  }
}

describe("reading the environment", () => {
  test("collects OVERWRITE_SETTING_ variables and variables named like settings, nothing else", () => {
    const config = loadConfig({
      OVERWRITE_SETTING_Site_Name: "Ours",
      OVERWRITE_SETTING_Message_MaxAllowedSize: "10",
      Site_Name: "Initial",
      PATH: "/usr/bin",
      npm_config_cache: "/tmp",
    });

    expect(config.settingOverwrites).toEqual({ Site_Name: "Ours", Message_MaxAllowedSize: "10" });
    expect(config.settingInitialValues).toEqual({ Site_Name: "Initial" });
  });
});

describe("OVERWRITE_SETTING_<id>", () => {
  const overwrites = {
    OVERWRITE_SETTING_Message_MaxAllowedSize: "10",
    OVERWRITE_SETTING_UI_Use_Real_Name: "TRUE",
    OVERWRITE_SETTING_Accounts_RegistrationForm: "Disabled",
  };
  const ids = ["Message_MaxAllowedSize", "UI_Use_Real_Name", "Accounts_RegistrationForm"];

  test("sets each setting, typed by the setting, and the services use it", async () => {
    const dataDir = dataFolder();

    const [values, stored, refused] = await withServer(dataDir, overwrites, async (server) => [
      await publicValues(server, ids),
      await server.parley.services.deps.db.settings.findOne({ _id: "Message_MaxAllowedSize" }),
      await api(server, "users.register", {
        body: { username: "newcomer", email: "n@example.com", pass: "Pass-w0rd!x", name: "N" },
      }),
    ]);

    expect(values).toEqual({
      Message_MaxAllowedSize: 10,
      UI_Use_Real_Name: true,
      Accounts_RegistrationForm: "Disabled",
    });
    expect(stored).toMatchObject({
      value: 10,
      packageValue: 5000,
      processEnvValue: 10,
      valueSource: "processEnvValue",
    });
    expect(refused.body.errorType).toBe("error-user-registration-disabled");
  });

  test("wins again at every start and stays stored when the variable is gone", async () => {
    const dataDir = dataFolder();
    await withServer(dataDir, overwrites, async (server) => {
      const res = await api(server, "settings/Message_MaxAllowedSize", {
        auth: server.admin,
        body: { value: 20 },
      });
      expect(res.body).toEqual({ success: true });
    });

    const again = await withServer(dataDir, overwrites, (server) => publicValues(server, ids));
    const without = await withServer(dataDir, {}, (server) => publicValues(server, ids));

    expect(again.Message_MaxAllowedSize).toBe(10);
    expect(without).toEqual(again);
  });

  test("naming no setting Parley has is ignored", async () => {
    const values = await withServer(
      dataFolder(),
      { OVERWRITE_SETTING_LDAP_Enable: "true" },
      (server) => publicValues(server, ["Site_Name"]),
    );

    expect(values).toEqual({ Site_Name: "Parley" });
  });
});

describe("a plain <id> variable", () => {
  test("is the value of a setting stored for the first time, and only then", async () => {
    const dataDir = dataFolder();
    const first = await withServer(
      dataDir,
      { Site_Name: "From the environment" },
      async (server) => {
        const values = await publicValues(server, ["Site_Name"]);
        await api(server, "settings/Site_Name", { auth: server.admin, body: { value: "Changed" } });
        return values;
      },
    );

    const later = await withServer(dataDir, { Site_Name: "Ignored now" }, (server) =>
      publicValues(server, ["Site_Name"]),
    );

    expect(first).toEqual({ Site_Name: "From the environment" });
    expect(later).toEqual({ Site_Name: "Changed" });
  });
});

describe("start-up with a value a setting cannot take", () => {
  test.each([
    ["OVERWRITE_SETTING_Message_MaxAllowedSize", "ten", 'expected a whole number, got "ten"'],
    ["OVERWRITE_SETTING_UI_Use_Real_Name", "yes", 'expected "true" or "false", got "yes"'],
    [
      "OVERWRITE_SETTING_Accounts_RegistrationForm",
      "Sometimes",
      'expected one of "Public", "Secret URL", "Disabled", got "Sometimes"',
    ],
    ["Message_MaxAllowedSize", "1.5", 'expected a whole number, got "1.5"'],
  ])("%s=%s exits with code 2 naming the variable", async (variable, value, reason) => {
    const { code, stderr } = await runParleyToExit({ [variable]: value });

    expect(code).toBe(2);
    expect(stderr.trim()).toBe(`Parley cannot start: ${variable}: ${reason}`);
  });

  test("a valid overwrite reaches settings.public of the started process", async () => {
    const child = await spawnParley(dataFolder(), { OVERWRITE_SETTING_Site_Name: "From main" });
    try {
      const res = await api(child.url, "settings.public", { query: { _id: "Site_Name" } });

      expect(res.body.settings).toEqual([
        { _id: "Site_Name", value: "From main", enterprise: false },
      ]);
    } finally {
      child.process.kill();
      await child.process.exited;
    }
  });
});
