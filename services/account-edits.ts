/**
 * Editing accounts: an administrator's `users.update` (Rocket.Chat's saveUser with its
 * validateUserData and validateUserEditing checks, in their order and wording), a user's
 * own `users.updateOwnBasicInfo` (saveUserProfile), and preferences.
 */
import { ClientError } from "../core/errors.ts";
import type { User } from "../core/models.ts";
import { hashDigest, hashLoginToken, passwordDigest, verifyDigest } from "../core/password.ts";
import { assertAdminRoleRemovable, setActiveStatus } from "./account-lifecycle.ts";
import type { Services } from "./index.ts";
import { assertPasswordAllowed } from "./password-policy.ts";
import { checkInvisibleAllowed, statusOf } from "./presence-methods.ts";
import { logoutOtherSessions } from "./sessions.ts";
import {
  assertUsernameFree,
  identityFailure,
  saveEmail,
  saveIdentity,
  validUsername,
} from "./user-identity.ts";

const MAX_BIO_LENGTH = 260;
const MAX_NICKNAME_LENGTH = 120;

/** What `users.update` may change. */
export interface UserEdit {
  readonly email?: string;
  readonly name?: string;
  readonly password?: string;
  readonly username?: string;
  readonly active?: boolean;
  readonly roles?: readonly string[];
  readonly verified?: boolean;
  readonly requirePasswordChange?: boolean;
  readonly bio?: string;
  readonly nickname?: string;
  readonly statusText?: string;
}

function notAllowedAction(reason: string, action: string, method = "insertOrUpdateUser") {
  return new ClientError("error-action-not-allowed", reason, { details: { method, action } });
}

/** Refuses `roles` that grant `admin` unless `me` holds `assign-admin-role`. */
export async function assertAdminAssignable(
  services: Services,
  me: User,
  roles: readonly string[],
): Promise<void> {
  if (roles.includes("admin") && !(await services.authz.can(me, "assign-admin-role"))) {
    throw notAllowedAction("Assigning admin is not allowed", "Assign_admin");
  }
}

/** Rocket.Chat's validateUserData, for an update of `uid` by `me`. */
async function validateUserData(services: Services, me: User, uid: string, edit: UserEdit) {
  if (edit.verified && uid === me._id) {
    throw notAllowedAction("Editing email verification is not allowed", "Editing_user");
  }
  if (uid !== me._id && !(await services.authz.can(me, "edit-other-user-info"))) {
    throw notAllowedAction("Editing user is not allowed", "Editing_user");
  }
  if (edit.roles) {
    const known = await services.deps.db.roles.find({}, { projection: { _id: 1 } });
    const ids = new Set(known.map((r) => r._id));
    if (edit.roles.some((role) => !ids.has(role))) {
      throw notAllowedAction("The field Roles consist invalid role id", "Assign_role");
    }
    await assertAdminAssignable(services, me, edit.roles);
  }
  if (edit.username && !validUsername(services, edit.username)) {
    throw new ClientError(
      "error-input-is-not-a-valid-field",
      `${edit.username} is not a valid username`,
      { details: { method: "insertOrUpdateUser", input: edit.username, field: "Username" } },
    );
  }
}

/**
 * Rocket.Chat's validateUserEditing: which fields the settings let `me` change on `user`.
 * Holders of `edit-other-user-info` (or `-password` for passwords) may change other
 * users' fields that the settings lock, never their own.
 */
export async function validateUserEditing(
  services: Services,
  me: User,
  user: User,
  edit: Pick<UserEdit, "roles" | "username" | "statusText" | "name" | "email" | "password">,
) {
  const { authz, settings } = services;
  const self = me._id === user._id;
  const canEditOther = await authz.can(me, "edit-other-user-info");
  const canEditPassword = await authz.can(me, "edit-other-user-password");
  const allowed = (id: string) => settings.get<boolean>(id) !== false;
  const changes = (before: unknown, after: unknown) => after !== undefined && after !== before;
  const rolesChange =
    edit.roles !== undefined &&
    (edit.roles.some((r) => !user.roles.includes(r)) ||
      user.roles.some((r) => !edit.roles?.includes(r)));
  if (rolesChange && !(await authz.can(me, "assign-roles"))) {
    throw notAllowedAction("Assign roles is not allowed", "Assign_role");
  }
  if (!allowed("Accounts_AllowUserProfileChange") && !canEditOther && !canEditPassword) {
    throw notAllowedAction("Edit user profile is not allowed", "Update_user");
  }
  const locked = (setting: string) => !allowed(setting) && (!canEditOther || self);
  const checks: [boolean, string, string][] = [
    [changes(user.username, edit.username), "Accounts_AllowUsernameChange", "username"],
    [
      changes(user.statusText, edit.statusText),
      "Accounts_AllowUserStatusMessageChange",
      "user status",
    ],
    [changes(user.name, edit.name), "Accounts_AllowRealNameChange", "user real name"],
    [
      user.emails?.[0] !== undefined && changes(user.emails[0].address, edit.email),
      "Accounts_AllowEmailChange",
      "user email",
    ],
  ];
  for (const [changing, setting, what] of checks) {
    if (changing && locked(setting))
      throw notAllowedAction(`Edit ${what} is not allowed`, "Update_user");
  }
  if (edit.password && !allowed("Accounts_AllowPasswordChange") && (!canEditPassword || self)) {
    throw notAllowedAction("Edit user password is not allowed", "Update_user");
  }
}

/** Throws Rocket.Chat's size errors for a bio or nickname over its limit. */
function checkSizes(bio: string | undefined, nickname: string | undefined, method: string) {
  if (bio !== undefined && bio.length > MAX_BIO_LENGTH) {
    throw new ClientError(
      "error-bio-size-exceeded",
      `Bio size exceeds ${MAX_BIO_LENGTH} characters`,
      {
        details: { method },
      },
    );
  }
  if (nickname !== undefined && nickname.length > MAX_NICKNAME_LENGTH) {
    throw new ClientError(
      "error-nickname-size-exceeded",
      `Nickname size exceeds ${MAX_NICKNAME_LENGTH} characters`,
      { details: { method } },
    );
  }
}

/** `$set`/`$unset` of a bio or nickname: a blank one removes it. */
function textField(field: string, value: string | undefined) {
  if (value === undefined) return {};
  return value.trim() ? { $set: { [field]: value.trim() } } : { $unset: { [field]: 1 } };
}

/**
 * Renames `user` after the identity checks, alone with other renames and creations. The
 * account is read again once alone: a rename that finished meanwhile changed the name
 * whose copies (direct messages, partners' subscriptions) this one must rewrite.
 */
async function rename(services: Services, stale: User, username?: string, name?: string) {
  const trimmedName = name?.trim();
  if (name !== undefined && !trimmedName) {
    const required = services.settings.get<boolean>("Accounts_RequireNameForSignUp") !== false;
    if (required) throw identityFailure();
  }
  const newName = username?.trim();
  await services.accounts.exclusive(async () => {
    const user = (await services.deps.db.users.findOne({ _id: stale._id })) ?? stale;
    if (newName !== undefined && newName !== user.username) {
      await assertUsernameFree(services, user, newName);
    }
    await saveIdentity(services, user, {
      ...(newName !== undefined && { username: newName }),
      ...(name !== undefined && { name: trimmedName }),
    });
  });
}

/** Stores a new password for `uid` (its SHA-256 digest under bcrypt). */
async function storePassword(services: Services, uid: string, password: string) {
  const bcrypt = await hashDigest(await passwordDigest(password));
  // A reset link mailed before the change must not undo it, as Meteor's setPassword ensures.
  await services.deps.db.users.updateOne(
    { _id: uid },
    {
      $set: { "services.password.bcrypt": bcrypt, _updatedAt: services.deps.clock.now() },
      $unset: { "services.password.reset": 1 },
    },
  );
}

/**
 * `users.update`: `me` changes user `uid` as `edit` says, after Rocket.Chat's checks.
 * A password is set only by holders of `edit-other-user-password`, and ends the user's
 * other logins (personal access tokens stay). `roles` without `admin` are refused for the
 * last active administrator, as every other way of taking that role away refuses them. `active` runs the deactivation rules,
 * `confirmRelinquish` included. Resolves to the user as stored afterwards.
 */
export async function updateUser(
  services: Services,
  me: User,
  uid: string,
  edit: UserEdit,
  confirmRelinquish: boolean,
): Promise<User> {
  await validateUserData(services, me, uid, edit);
  const { db, clock } = services.deps;
  const user = await db.users.findOne({ _id: uid });
  if (!user) throw new ClientError("error-invalid-user", "Invalid user");
  await validateUserEditing(services, me, user, edit);
  checkSizes(edit.bio, edit.nickname, "saveUserProfile");
  if (edit.roles && !edit.roles.includes("admin")) await assertAdminRoleRemovable(services, user);

  if (edit.username !== undefined || edit.name !== undefined) {
    await rename(services, user, edit.username, edit.name);
  }
  // Through presence, which stores the text and announces it to everyone who watches.
  if (edit.statusText !== undefined) {
    await services.deps.presence.choose(uid, { statusText: edit.statusText });
  }
  if (edit.email) await saveEmail(services, user, edit.email, edit.verified === true);
  if (edit.password?.trim() && (await services.authz.can(me, "edit-other-user-password"))) {
    assertPasswordAllowed(services.settings, edit.password);
    await storePassword(services, uid, edit.password.trim());
    if (uid !== me._id) await logoutOtherSessions(services.deps, uid, []);
  }
  const set: Record<string, unknown> = { _updatedAt: clock.now() };
  if (edit.roles) set.roles = [...edit.roles];
  if (edit.requirePasswordChange !== undefined)
    set.requirePasswordChange = edit.requirePasswordChange;
  if (edit.verified !== undefined && !edit.email) set["emails.0.verified"] = edit.verified;
  const bio = textField("bio", edit.bio);
  const nickname = textField("nickname", edit.nickname);
  const unset = {
    ...bio.$unset,
    ...nickname.$unset,
    ...(edit.requirePasswordChange === false && { requirePasswordChangeReason: 1 }),
  };
  await db.users.updateOne(
    { _id: uid },
    {
      $set: { ...set, ...bio.$set, ...nickname.$set },
      ...(Object.keys(unset).length > 0 && { $unset: unset }),
    },
  );
  if (edit.active !== undefined && edit.active !== user.active) {
    await setActiveStatus(services, me, uid, edit.active, confirmRelinquish);
  }
  return (await db.users.findOne({ _id: uid })) as User;
}

/** What `users.updateOwnBasicInfo` may change. */
export interface OwnInfoEdit {
  readonly email?: string;
  readonly name?: string;
  readonly username?: string;
  readonly nickname?: string;
  readonly bio?: string;
  readonly statusText?: string;
  /** The status the user chooses, as `setUserStatus` takes it; empty changes nothing. */
  readonly statusType?: string;
  /** SHA-256 hex digest of the current password; needed to change e-mail or password. */
  readonly currentPassword?: string;
  readonly newPassword?: string;
}

/**
 * Checks `digest` (SHA-256 hex of the current password, any case) against `me`'s
 * password, as Rocket.Chat's password second factor does: `totp-required` when missing,
 * `totp-invalid` when wrong.
 */
async function assertCurrentPassword(me: User, digest: string | undefined): Promise<void> {
  if (!digest) {
    throw new ClientError("totp-required", "TOTP Required", {
      details: { method: "password", codeGenerated: false, availableMethods: ["password"] },
    });
  }
  const hash = me.services?.password?.bcrypt;
  if (!hash || !(await verifyDigest(digest.toLowerCase(), hash))) {
    throw new ClientError("totp-invalid", "TOTP Invalid", { details: { method: "password" } });
  }
}

/**
 * `users.updateOwnBasicInfo`: `me` changes their own profile. Changing the e-mail or the
 * password needs `currentPassword`; a new password must differ from the current one and
 * meet the policy, and ends every other login of `me` but the one this call came with
 * (`authToken`) and personal access tokens. Resolves to the user as stored afterwards.
 */
export async function updateOwnInfo(
  services: Services,
  me: User,
  edit: OwnInfoEdit,
  authToken: string | null,
): Promise<User> {
  if (services.settings.get<boolean>("Accounts_AllowUserProfileChange") === false) {
    throw new ClientError("error-not-allowed", "Not allowed", {
      details: { method: "saveUserProfile" },
    });
  }
  if (edit.email || edit.newPassword) await assertCurrentPassword(me, edit.currentPassword);
  await validateUserEditing(services, me, me, {
    ...(edit.email !== undefined && { email: edit.email }),
    ...(edit.username !== undefined && { username: edit.username }),
    ...(edit.name !== undefined && { name: edit.name }),
    ...(edit.newPassword !== undefined && { password: edit.newPassword }),
    ...(edit.statusText !== undefined && { statusText: edit.statusText }),
  });
  checkSizes(edit.bio, edit.nickname, "saveUserProfile");
  // As Rocket.Chat's saveUserProfile, which hands the status to setUserStatus: refused in
  // its words, and before anything is written.
  const status = edit.statusType ? statusOf(edit.statusType, "setUserStatus") : undefined;
  if (status) checkInvisibleAllowed(services, status, "setUserStatus");
  const { db } = services.deps;
  if (edit.name || edit.username) {
    if (edit.username && !validUsername(services, edit.username.trim())) throw identityFailure();
    await rename(services, me, edit.username || undefined, edit.name || undefined);
  }
  const set: Record<string, unknown> = { _updatedAt: services.deps.clock.now() };
  if (edit.bio !== undefined) set.bio = edit.bio.trim();
  if (edit.nickname) set.nickname = edit.nickname.trim();
  await db.users.updateOne({ _id: me._id }, { $set: set });
  if (edit.statusText !== undefined || status) {
    await services.deps.presence.choose(me._id, {
      ...(edit.statusText !== undefined && { statusText: edit.statusText }),
      ...(status && { status }),
    });
  }
  if (edit.email) await saveEmail(services, me, edit.email, false);
  if (
    edit.newPassword &&
    services.settings.get<boolean>("Accounts_AllowPasswordChange") !== false
  ) {
    const hash = me.services?.password?.bcrypt;
    if (hash && (await verifyDigest(await passwordDigest(edit.newPassword), hash))) {
      throw new ClientError(
        "error-password-same-as-current",
        "Entered password same as current password",
        { details: { method: "saveUserProfile" } },
      );
    }
    assertPasswordAllowed(services.settings, edit.newPassword);
    await storePassword(services, me._id, edit.newPassword);
    const keep = authToken ? [await hashLoginToken(authToken)] : [];
    await logoutOtherSessions(services.deps, me._id, keep);
  }
  return (await db.users.findOne({ _id: me._id })) as User;
}

/**
 * Stores preferences (and `language`) for user `uid`, merged over the ones they have.
 * Throws `error-action-not-allowed` when `me` edits someone else without
 * `edit-other-user-info`, and `error-invalid-user` when there is no such user.
 */
export async function setPreferences(
  services: Services,
  me: User,
  uid: string,
  preferences: Record<string, unknown>,
): Promise<User> {
  if (uid !== me._id && !(await services.authz.can(me, "edit-other-user-info"))) {
    throw new ClientError("error-action-not-allowed", "Editing user is not allowed");
  }
  const { db } = services.deps;
  const user = await db.users.findOne({ _id: uid }, { projection: { _id: 1 } });
  if (!user) {
    throw new ClientError(
      "error-invalid-user",
      'The optional "userId" param provided does not match any users',
    );
  }
  const { language, ...rest } = preferences;
  const set: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) set[`settings.preferences.${key}`] = value;
  if (typeof language === "string") set.language = language;
  if (Object.keys(set).length > 0) await db.users.updateOne({ _id: uid }, { $set: set });
  return (await db.users.findOne({ _id: uid })) as User;
}
