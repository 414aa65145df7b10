/**
 * The services of one Parley process, wired together, and the data every workspace
 * starts with: the `GENERAL` room, the `rocket.cat` bot, the first administrator, and in
 * test mode Rocket.Chat's test administrator.
 */
import { type Config, ConfigError } from "../core/config.ts";
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import { hashDigest, passwordDigest, verifyDigest } from "../core/password.ts";
import { Accounts } from "./accounts.ts";
import { Authz } from "./authz.ts";
import type { Deps } from "./context.ts";
import { DdpRateLimiter } from "./ddp-rate-limit.ts";
import { EmailCode } from "./email-code.ts";
import type { LeaveTimers } from "./livechat-agent-leave.ts";
import { recountOpenChats } from "./livechat-agents.ts";
import { Livechat } from "./livechat.ts";
import { Mailer } from "./mailer.ts";
import { LoginGuard } from "./login-guard.ts";
import { Messages } from "./messages.ts";
import type { CommandDeps } from "./room-commands.ts";
import { RestRateLimiter } from "./rest-rate-limit.ts";
import { Rooms } from "./rooms.ts";
import { Settings } from "./settings.ts";
import { TwoFactor } from "./two-factor.ts";

/** Rocket.Chat's test administrator: id, username and password are all this. */
export const TEST_ADMIN = "rocketchat.internal.admin.test";

export interface Services {
  readonly deps: Deps;
  readonly settings: Settings;
  readonly authz: Authz;
  readonly accounts: Accounts;
  readonly rooms: Rooms;
  readonly messages: Messages;
  readonly twoFactor: TwoFactor;
  readonly loginGuard: LoginGuard;
  readonly restRateLimiter: RestRateLimiter;
  readonly ddpRateLimiter: DdpRateLimiter;
  /** Omnichannel conversations, queues and agents. */
  readonly livechat: Livechat;
  /** Outgoing e-mail through the SMTP server of the e-mail settings. */
  readonly mailer: Mailer;
  /** What room actors need to run commands. */
  readonly commandDeps: CommandDeps;
}

/**
 * Builds the services over `deps` (nothing is read or written yet). `leaveTimers` are the
 * timers the Omnichannel agent leave action waits with (the platform's by default).
 */
export function createServices(deps: Deps, options: { leaveTimers?: LeaveTimers } = {}): Services {
  const settings = new Settings(deps.db, deps.clock);
  const authz = new Authz(deps.db, deps.clock);
  const commandDeps = { ...deps, authz, settings };
  const mailer = new Mailer(settings, deps.log);
  return {
    deps,
    settings,
    authz,
    accounts: new Accounts(deps, settings),
    rooms: new Rooms(deps, authz, settings),
    messages: new Messages(deps, authz),
    twoFactor: new TwoFactor(deps, settings, new EmailCode(deps, settings, mailer)),
    loginGuard: new LoginGuard(deps, settings),
    restRateLimiter: new RestRateLimiter(deps, settings, authz),
    ddpRateLimiter: new DdpRateLimiter(deps, settings),
    livechat: new Livechat(commandDeps, mailer, options.leaveTimers),
    mailer,
    commandDeps,
  };
}

/**
 * Deletes a user and their subscriptions, keeping each room's member count right. Only
 * for start-up, before room actors hold member lists. Resolves whether the user existed.
 */
async function removeUser(deps: Deps, uid: string): Promise<boolean> {
  const subs = await deps.db.subscriptions.find({ "u._id": uid }, { projection: { rid: 1 } });
  for (const sub of subs) {
    await deps.db.rooms.updateOne({ _id: sub.rid }, { $inc: { usersCount: -1 } });
  }
  await deps.db.subscriptions.deleteMany({ "u._id": uid });
  return (await deps.db.users.deleteOne({ _id: uid })) > 0;
}

/**
 * Settings a TEST_MODE workspace starts with: failed-login blocking off, so that test
 * suites logging in with wrong passwords do not lock each other out. A test that wants
 * the blocking turns the setting on, as Rocket.Chat's own failed-login tests do.
 */
const TEST_MODE_INITIAL_VALUES: Readonly<Record<string, string>> = {
  Block_Multiple_Failed_Logins_Enabled: "false",
};

/** Loads settings and permissions and creates the data a new workspace needs. */
export async function initServices(services: Services, config: Config): Promise<void> {
  const { deps, settings, authz, accounts, rooms } = services;
  const unknown = await settings.init({
    siteUrl: config.rootUrl,
    secret: deps.ids.id(),
    overwrites: config.settingOverwrites,
    initialValues: config.testMode
      ? { ...TEST_MODE_INITIAL_VALUES, ...config.settingInitialValues }
      : config.settingInitialValues,
  });
  for (const id of unknown) {
    deps.log.warn({ variable: `OVERWRITE_SETTING_${id}` }, "no such setting to overwrite");
  }
  await authz.init();
  await recountOpenChats(deps);
  // Before any room actor runs, so that no actor caches the old account as a member. Its
  // public password must not outlive test mode.
  if (!config.testMode && (await removeUser(deps, TEST_ADMIN))) {
    deps.log.warn("test administrator removed: TEST_MODE is off");
  }

  const userExists = async (_id: string) => (await deps.db.users.countDocuments({ _id })) > 0;
  if (!(await userExists("rocket.cat"))) {
    await createdOnce(
      () =>
        accounts.createUser({
          _id: "rocket.cat",
          username: "rocket.cat",
          name: "Rocket.Cat",
          type: "bot",
          roles: ["bot"],
          joinDefaultChannels: false,
          autoOptIn: false,
        }),
      () => userExists("rocket.cat"),
    );
    await deps.db.users.updateOne(
      { _id: "rocket.cat" },
      { $set: { status: "online", statusConnection: "online" } },
    );
  }
  const generalExists = async () => (await deps.db.rooms.countDocuments({ _id: "GENERAL" })) > 0;
  if (!(await generalExists())) {
    const cat = (await deps.db.users.findOne({ _id: "rocket.cat" })) as User;
    await createdOnce(
      () =>
        rooms.create({
          _id: "GENERAL",
          type: "c",
          name: "general",
          owner: cat,
          excludeSelf: true,
          isDefault: true,
        }),
      generalExists,
    );
  }

  const humans = await deps.db.users.countDocuments({ type: "user", _id: { $ne: TEST_ADMIN } });
  if (config.admin && humans > 0) {
    deps.log.info("ADMIN_PASS ignored: the database already has users");
  } else if (config.admin) {
    await accounts
      .createUser({
        username: config.admin.username,
        email: config.admin.email,
        password: config.admin.password,
        name: "Administrator",
        roles: ["admin"],
        verified: true,
        autoOptIn: false,
      })
      .catch((error: unknown) => {
        if (!(error instanceof ClientError)) throw error;
        const aboutEmail = String(error.reason).includes(config.admin?.email ?? "@");
        const aboutPassword = error.error === "error-password-policy-not-met";
        const variable = aboutPassword
          ? "ADMIN_PASS"
          : aboutEmail
            ? "ADMIN_EMAIL"
            : "ADMIN_USERNAME";
        throw new ConfigError(variable, String(error.reason));
      });
    deps.log.info({ username: config.admin.username }, "first administrator created");
  }

  if (config.testMode) await seedTestAdmin(deps, accounts, () => userExists(TEST_ADMIN));
}

/**
 * Runs `create`; when it fails because another process of the deployment created the same
 * thing at the same moment (`exists` then resolves true), that counts as done. Any other
 * failure is thrown.
 */
async function createdOnce(
  create: () => Promise<unknown>,
  exists: () => Promise<boolean>,
): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (!(error instanceof ClientError) || !(await exists())) throw error;
  }
}

/**
 * Makes sure Rocket.Chat's test administrator can log in: created when missing; an
 * existing one is kept, with its tokens and rooms, so that a process starting elsewhere in
 * the deployment logs nobody out, and gets back the admin role, an active account and the
 * public password if it lost them.
 */
async function seedTestAdmin(deps: Deps, accounts: Accounts, exists: () => Promise<boolean>) {
  if (!(await exists())) {
    const create = () =>
      accounts.createUser({
        _id: TEST_ADMIN,
        username: TEST_ADMIN,
        password: TEST_ADMIN,
        email: `${TEST_ADMIN}@rocket.chat`,
        name: "RocketChat Internal Admin Test",
        roles: ["admin"],
        verified: true,
        autoOptIn: false,
      });
    await createdOnce(create, exists);
    return;
  }
  const admin = await deps.db.users.findOne({ _id: TEST_ADMIN });
  const digest = await passwordDigest(TEST_ADMIN);
  const hash = admin?.services?.password?.bcrypt;
  const passwordKept = hash !== undefined && (await verifyDigest(digest, hash).catch(() => false));
  await deps.db.users.updateOne(
    { _id: TEST_ADMIN },
    {
      $addToSet: { roles: "admin" },
      $set: {
        active: true,
        ...(!passwordKept && { "services.password.bcrypt": await hashDigest(digest) }),
      },
    },
  );
}
