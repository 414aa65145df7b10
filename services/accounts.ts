/**
 * Account service: creating users, logging in with a password or a resume token,
 * authenticating REST calls, logging out, and seeding the accounts every workspace has.
 */
import { ClientError } from "../core/errors.ts";
import { isEmailAddress, type LoginToken, type User } from "../core/models.ts";
import { hashDigest, hashLoginToken, passwordDigest, verifyDigest } from "../core/password.ts";
import { DuplicateKeyError, type Sort } from "../store/types.ts";
import {
  assertCreationRequest,
  assertNotBlocked,
  CREATE_CONFLICTS,
  type Conflicts,
  type CreationRequest,
  REGISTER_CONFLICTS,
  RESERVED_USERNAMES,
  usernameMatches,
} from "./account-rules.ts";
import type { Deps } from "./context.ts";
import { assertPasswordAllowed } from "./password-policy.ts";
import type { Settings } from "./settings.ts";
import { withStoreLock } from "./store-locks.ts";

export { SYSTEM_BLOCKED_NAMES } from "./account-rules.ts";

/** How long a login token lives, as Rocket.Chat's default `Accounts_LoginExpiration` (90 days). */
const TOKEN_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;

/** When a login token issued at `issued` expires. */
export function tokenExpires(issued: Date): Date {
  return new Date(issued.getTime() + TOKEN_LIFETIME_MS);
}

/** What a visitor sends to `users.register`. */
export interface Registration {
  readonly username: string;
  readonly email: string;
  readonly pass: string;
  readonly name?: string;
  readonly secret?: string;
}

/** One page of users and how many there are in all. */
export interface UserPage {
  readonly users: User[];
  readonly total: number;
}

export interface NewUser {
  readonly username: string;
  readonly email?: string;
  /** Plain password; ignored when `digest` is given. */
  readonly password?: string;
  readonly name?: string;
  readonly roles?: readonly string[];
  readonly active?: boolean;
  readonly verified?: boolean;
  readonly type?: "user" | "bot";
  readonly requirePasswordChange?: boolean;
  /** Fixed id (seeded accounts); a random one otherwise. */
  readonly _id?: string;
  /** Subscribe to every default room; true unless said otherwise. */
  readonly joinDefaultChannels?: boolean;
  /**
   * Follow Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In; true unless said
   * otherwise. Accounts the server seeds itself say false: Rocket.Chat writes those
   * directly, so the opt-in never reaches them.
   */
  readonly autoOptIn?: boolean;
}

export interface LoginResult {
  readonly user: User;
  readonly token: string;
  readonly tokenExpires: Date;
}

/** Who is logging in: a username, an e-mail, or either in one string. */
export type LoginSelector = { readonly username: string } | { readonly email: string };

/**
 * The lock under which an account's names are checked and taken: creations, renames and
 * e-mail changes, in every process. Usernames are unique ignoring case only through that
 * check (the store's unique index compares them exactly); e-mails are also stored
 * lower-cased under a unique index.
 */
const ACCOUNT_NAMES = "account-names";

/**
 * The lock under which a deletion checks and deletes, so that two deletions of one user
 * (or of the last two administrators) cannot both pass their checks.
 */
const ACCOUNT_DELETIONS = "account-deletions";

export class Accounts {
  constructor(
    private readonly deps: Deps,
    private readonly settings: Settings,
  ) {}

  /**
   * Creates a user after Rocket.Chat's validation and joins them to the default rooms.
   * With `Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In` on, e-mail two-factor
   * authentication starts on (it takes effect once the user has a verified address).
   * Throws ClientError for an invalid username, e-mail or password, and `conflicts`' error
   * (Rocket.Chat's `insertOrUpdateUser` wording by default) for a username or e-mail that
   * another account holds, ignoring case; nothing is written then.
   */
  async createUser(input: NewUser, conflicts: Conflicts = CREATE_CONFLICTS): Promise<User> {
    const { clock, ids } = this.deps;
    const username = input.username.trim();
    if (!usernameMatches(this.settings.get<string>("UTF8_User_Names_Validation"), username)) {
      throw new ClientError(
        "error-input-is-not-a-valid-field",
        `${username} is not a valid username`,
        {
          details: { method: "insertOrUpdateUser", input: username, field: "Username" },
        },
      );
    }
    const email = input.email?.trim().toLowerCase();
    if (email !== undefined && !isEmailAddress(email)) {
      throw new ClientError("error-invalid-email", `Invalid email ${email}`, {
        details: { method: "insertOrUpdateUser", email },
      });
    }
    if (input.password !== undefined) assertPasswordAllowed(this.settings, input.password);
    // Checked once before hashing, so a taken name costs no bcrypt round, and again below.
    await this.assertAvailable(username, email, conflicts);

    const now = clock.now();
    const user: User = {
      _id: input._id ?? ids.id(),
      createdAt: now,
      _updatedAt: now,
      username,
      name: input.name ?? username,
      type: input.type ?? "user",
      active: input.active ?? true,
      roles: [...(input.roles ?? ["user"])],
      status: "offline",
      statusConnection: "offline",
      utcOffset: 0,
      requirePasswordChange: input.requirePasswordChange ?? false,
      settings: {},
      services: {
        ...(input.password !== undefined && {
          password: { bcrypt: await hashDigest(await passwordDigest(input.password)) },
        }),
        ...(input.autoOptIn !== false &&
          this.settings.get<boolean>("Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In") && {
            email2fa: { enabled: true, changedAt: now },
          }),
      },
      ...(email && { emails: [{ address: email, verified: input.verified ?? false }] }),
    };
    await withStoreLock(this.deps, ACCOUNT_NAMES, async () => {
      await this.assertAvailable(username, email, conflicts);
      await this.insertUser(user, email, conflicts);
    });
    if (input.joinDefaultChannels ?? true) await this.joinDefaultRooms(user);
    return user;
  }

  /**
   * Runs `task` alone, in every process, with respect to account creation and every other task given here:
   * what a rename or an e-mail change uses to check a name is free and take it in one step.
   */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return withStoreLock(this.deps, ACCOUNT_NAMES, task);
  }

  /** Runs `task` (a deletion's checks and its work) while no other deletion runs, anywhere. */
  deleting<T>(task: () => Promise<T>): Promise<T> {
    return withStoreLock(this.deps, ACCOUNT_DELETIONS, task);
  }

  /** Throws the conflict for a username or e-mail another account holds, ignoring case. */
  private async assertAvailable(username: string, email: string | undefined, c: Conflicts) {
    if (!(await this.usernameAvailable(username))) throw c.username(username);
    const users = this.deps.db.users;
    if (email && (await users.findOne({ "emails.address": email }, { projection: { _id: 1 } }))) {
      throw c.email(email);
    }
  }

  /** Inserts `user`; the store's unique indexes answer with the conflict of the right field. */
  private async insertUser(user: User, email: string | undefined, c: Conflicts) {
    try {
      await this.deps.db.users.insertOne(user);
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      const conflict =
        email && "emails.address" in error.keyValue ? c.email(email) : c.username(user.username);
      throw Object.assign(conflict, { cause: error });
    }
  }

  /**
   * Throws Rocket.Chat's `error-blocked-username` when `username` is one nobody may
   * register: `all`, `here`, the system's names, or the `Accounts_BlockedUsernameList`.
   */
  assertUsernameNotBlocked(username: string): void {
    assertNotBlocked(username, this.settings.get<string>("Accounts_BlockedUsernameList") ?? "");
  }

  /**
   * Checks what Rocket.Chat checks, in its order, before an administrator creates an
   * account: known roles, a name (when `Accounts_RequireNameForSignUp`), a username and a
   * password, and a username nobody blocked. Throws the first failure as a ClientError.
   */
  async assertCreatable(input: CreationRequest): Promise<void> {
    const roles = await this.deps.db.roles.find({}, { projection: { _id: 1 } });
    assertCreationRequest(input, {
      knownRoles: new Set(roles.map((r) => r._id)),
      requireName: this.settings.get<boolean>("Accounts_RequireNameForSignUp") !== false,
      blockedList: this.settings.get<string>("Accounts_BlockedUsernameList") ?? "",
    });
  }

  /**
   * Registers a visitor as `users.register` does: the registration form must be open
   * (`Accounts_RegistrationForm` "Public", or "Secret URL" with the right secret), the
   * username valid and free, the name free of markup. The account gets the default roles
   * and joins the default rooms. Throws Rocket.Chat's errors, most as plain strings.
   */
  async register(input: Registration): Promise<User> {
    const pattern = this.settings.get<string>("UTF8_User_Names_Validation");
    if (!usernameMatches(pattern, input.username)) {
      throw new ClientError("error-invalid-username", "The username provided is not valid", {
        plain: true,
      });
    }
    if (input.name !== undefined && /[<>/\\]/.test(input.name)) {
      throw new ClientError("error-invalid-name", "Name contains invalid characters", {
        plain: true,
      });
    }
    this.assertUsernameNotBlocked(input.username);
    if (!(await this.usernameAvailable(input.username))) {
      throw REGISTER_CONFLICTS.username(input.username);
    }
    const form = this.settings.get<string>("Accounts_RegistrationForm") ?? "Public";
    if (form === "Disabled") {
      throw new ClientError("error-user-registration-disabled", "User registration is disabled", {
        details: { method: "registerUser" },
      });
    }
    const secret = this.settings.get<string>("Accounts_RegistrationForm_SecretURL");
    if (form === "Secret URL" && (!input.secret || input.secret !== secret)) {
      throw new ClientError(
        "error-user-registration-secret",
        "User registration is only allowed via Secret URL",
        {
          details: { method: "registerUser" },
        },
      );
    }
    // Meteor's check() refuses a registration without a name before anything is written.
    if (input.name === undefined) throw new ClientError(400, "Match failed");
    assertPasswordAllowed(this.settings, input.pass);
    const email = input.email.trim().toLowerCase();
    if (await this.deps.db.users.findOne({ "emails.address": email }, { projection: { _id: 1 } })) {
      throw REGISTER_CONFLICTS.email(email);
    }
    const roles = (this.settings.get<string>("Accounts_Registration_Users_Default_Roles") ?? "user")
      .split(",")
      .map((role) => role.trim())
      .filter(Boolean);
    return this.createUser(
      { username: input.username, email, password: input.pass, name: input.name.trim(), roles },
      REGISTER_CONFLICTS,
    );
  }

  /** The users with these ids, leaving out unknown ids. */
  usersByIds(ids: readonly string[]): Promise<User[]> {
    return this.deps.db.users.find({ _id: { $in: [...ids] } });
  }

  /** The users with these usernames, ignoring case, leaving out unknown names. */
  usersByUsernamesIgnoringCase(usernames: readonly string[]): Promise<User[]> {
    if (usernames.length === 0) return Promise.resolve([]);
    const names = usernames.map((name) => `^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
    return this.deps.db.users.find({
      $or: names.map((name) => ({ username: { $regex: name, $options: "i" } })),
    });
  }

  /** One page of all users, by username unless said otherwise. */
  async list(page: { offset: number; count: number; sort?: Sort }): Promise<UserPage> {
    const [users, total] = await Promise.all([
      this.deps.db.users.find(
        {},
        { sort: page.sort ?? { username: 1 }, skip: page.offset, limit: page.count },
      ),
      this.deps.db.users.countDocuments({}),
    ]);
    return { users, total };
  }

  /** Whether `username` is free: not reserved and not taken, ignoring case. */
  async usernameAvailable(username: string): Promise<boolean> {
    if (RESERVED_USERNAMES.has(username.toLowerCase())) return false;
    const escaped = username.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const exact = await this.deps.db.users.findOne({ username }, { projection: { _id: 1 } });
    if (exact) return false;
    const folded = await this.deps.db.users.findOne(
      { username: { $regex: `^${escaped}$`, $options: "i" } },
      { projection: { _id: 1 } },
    );
    return folded === null;
  }

  /**
   * Logs in with a password given as its SHA-256 hex digest. Throws ClientError 403
   * ("User not found" / "Incorrect password") on failure, as Meteor's accounts do.
   */
  async loginWithPassword(selector: LoginSelector, digest: string): Promise<LoginResult> {
    return this.issueToken(await this.checkPassword(await this.findLogin(selector), digest));
  }

  /** The account a login selector names, or null. */
  findLogin(selector: LoginSelector): Promise<User | null> {
    if ("username" in selector) return this.byUsernameAnyCase(selector.username);
    return this.deps.db.users.findOne({ "emails.address": selector.email.trim().toLowerCase() });
  }

  /**
   * The account named `username`: an exact match first, then one regardless of case when
   * that finds exactly one account, as Meteor's accounts and Rocket.Chat's avatars look
   * users up.
   */
  async byUsernameAnyCase(username: string): Promise<User | null> {
    const exact = await this.deps.db.users.findOne({ username });
    if (exact) return exact;
    const [only, another] = await this.usersByUsernamesIgnoringCase([username]);
    return only && !another ? only : null;
  }

  /**
   * `user` when `digest` (SHA-256 hex of the password) is theirs. Throws ClientError 403
   * "User not found" for no user and "Incorrect password" otherwise, as Meteor does.
   */
  async checkPassword(user: User | null, digest: string): Promise<User> {
    if (!user) throw new ClientError(403, "User not found");
    const hash = user.services?.password?.bcrypt;
    if (!hash || !(await verifyDigest(digest, hash))) {
      throw new ClientError(403, "Incorrect password");
    }
    return user;
  }

  /**
   * The user holding login token `token` and the token as stored. Throws ClientError 403
   * when the token is unknown or expired, and `error-user-is-not-activated` when its user
   * is deactivated.
   */
  async tokenHolder(token: string): Promise<{ user: User; stored: LoginToken }> {
    const hashedToken = await hashLoginToken(token);
    const user = await this.deps.db.users.findOne({
      "services.resume.loginTokens.hashedToken": hashedToken,
    });
    const stored = user?.services?.resume?.loginTokens?.find((t) => t.hashedToken === hashedToken);
    if (!user || !stored || this.expired(stored)) {
      throw new ClientError(403, "You've been logged out by the server. Please log in again.");
    }
    this.assertActive(user);
    return { user, stored };
  }

  /** Logs in with a resume token; throws as `tokenHolder` does. */
  async loginWithToken(token: string): Promise<LoginResult> {
    const { user, stored } = await this.tokenHolder(token);
    await this.deps.db.users.updateOne(
      { _id: user._id },
      { $set: { lastLogin: this.deps.clock.now() } },
    );
    const issued = stored.when ?? stored.createdAt ?? this.deps.clock.now();
    return { user, token, tokenExpires: tokenExpires(issued) };
  }

  /** The user behind REST headers `X-User-Id` + `X-Auth-Token`, or null. */
  async authenticate(userId: string, token: string): Promise<User | null> {
    const hashedToken = await hashLoginToken(token);
    const user = await this.deps.db.users.findOne({
      _id: userId,
      "services.resume.loginTokens.hashedToken": hashedToken,
    });
    const stored = user?.services?.resume?.loginTokens?.find((t) => t.hashedToken === hashedToken);
    if (!user || !stored || this.expired(stored) || !user.active) return null;
    return user;
  }

  /** Removes one login token and closes the connections that used it. */
  async logout(userId: string, token: string): Promise<void> {
    await this.logoutHashed(userId, await hashLoginToken(token));
  }

  /** Removes the login token with this hash and closes the connections that used it. */
  async logoutHashed(userId: string, hashedToken: string): Promise<void> {
    await this.deps.db.users.updateOne(
      { _id: userId },
      { $pull: { "services.resume.loginTokens": { hashedToken } } },
    );
    this.deps.hub.signal(userId, { type: "logged-out", hashedToken });
  }

  /**
   * Logs `user` in: a new login token, stored hashed. Throws `error-user-is-not-activated`
   * for a deactivated account.
   */
  async issueToken(user: User): Promise<LoginResult> {
    this.assertActive(user);
    const token = this.deps.ids.secret();
    const when = this.deps.clock.now();
    const hashedToken = await hashLoginToken(token);
    await this.deps.db.users.updateOne(
      { _id: user._id },
      {
        $push: { "services.resume.loginTokens": { when, hashedToken } },
        $set: { lastLogin: when },
      },
    );
    return {
      user: { ...user, lastLogin: when },
      token,
      tokenExpires: tokenExpires(when),
    };
  }

  private assertActive(user: User): void {
    if (!user.active)
      throw new ClientError("error-user-is-not-activated", "User is not activated", {
        status: 403,
      });
  }

  /** Whether a login token is past its lifetime; personal access tokens never expire. */
  private expired(token: LoginToken): boolean {
    if (token.type === "personalAccessToken") return false;
    if (!token.when) return true;
    return this.deps.clock.now().getTime() - token.when.getTime() > TOKEN_LIFETIME_MS;
  }

  /**
   * Subscribes a new account to every default room. A room that cannot take the join (its
   * actor failing or quarantined) is logged and skipped rather than failing the creation:
   * the account is written by then, so an error would tell the caller it was not, and a
   * retry would find the username taken.
   *
   * Limitation: nothing retries a skipped room, so a user created while a default room was
   * failing stays outside it until they join it or someone adds them.
   */
  private async joinDefaultRooms(user: User): Promise<void> {
    const rooms = await this.deps.db.rooms.find({ default: true }, { projection: { _id: 1 } });
    for (const room of rooms) {
      await this.deps.rooms
        .execute(room._id, { kind: "join", user, silent: false, asDefault: true })
        .catch((error: unknown) => {
          const fields = { err: error, uid: user._id, rid: room._id };
          this.deps.log.warn(fields, "new account not joined to a default room");
        });
    }
  }
}
