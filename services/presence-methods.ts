/**
 * The DDP methods of presence: `setUserStatus` and `UserPresence:setDefaultStatus` (the
 * status the user chooses, which wins over idleness), and `UserPresence:away` /
 * `UserPresence:online` (a client reporting its connection idle or back). As in
 * Rocket.Chat, the `UserPresence:*` methods answer nothing to an anonymous caller.
 */
import { ClientError } from "../core/errors.ts";
import { USER_STATUSES, type User, type UserStatus } from "../core/models.ts";
import type { Services } from "./index.ts";
import { matchFailed, type MethodDef, open, optionalStr, signedIn } from "./method-params.ts";

/** `value` as one of the four statuses; Rocket.Chat's `error-invalid-status` otherwise. */
export function statusOf(value: unknown, method: string): UserStatus {
  if (typeof value === "string" && (USER_STATUSES as readonly string[]).includes(value)) {
    return value as UserStatus;
  }
  throw new ClientError(
    "error-invalid-status",
    "Valid status types include online, away, offline, and busy.",
    { details: { method } },
  );
}

/** Refuses `offline` (invisible) when the workspace does not offer it. */
export function checkInvisibleAllowed(services: Services, status: UserStatus, method: string) {
  if (
    status === "offline" &&
    !services.settings.get<boolean>("Accounts_AllowInvisibleStatusOption")
  ) {
    throw new ClientError("error-status-not-allowed", "Invisible status is disabled", {
      details: { method },
    });
  }
}

/**
 * `setUserStatus(statusType, statusText)`: either may be absent; an empty text clears it.
 * The text needs `Accounts_AllowUserStatusMessageChange`.
 */
async function setUserStatus(services: Services, user: User, params: readonly unknown[]) {
  const [statusType, statusText] = params;
  const status = statusType ? statusOf(statusType, "setUserStatus") : undefined;
  if (status) checkInvisibleAllowed(services, status, "setUserStatus");
  const text = optionalStr(statusText);
  if (
    text !== undefined &&
    !services.settings.get<boolean>("Accounts_AllowUserStatusMessageChange")
  ) {
    throw new ClientError("error-not-allowed", "Not allowed", {
      details: { method: "setUserStatus" },
    });
  }
  if (status === undefined && text === undefined) return undefined;
  await services.deps.presence.choose(user._id, {
    ...(status && { status }),
    ...(text !== undefined && { statusText: text }),
  });
  return undefined;
}

export const PRESENCE_METHODS: Record<string, MethodDef> = {
  setUserStatus: signedIn((services, caller, params) =>
    setUserStatus(services, caller.user, params),
  ),
  "UserPresence:setDefaultStatus": open(async (services, caller, [status]) => {
    if (!caller.user) return undefined;
    if (typeof status !== "string") throw matchFailed();
    const chosen = statusOf(status, "UserPresence:setDefaultStatus");
    checkInvisibleAllowed(services, chosen, "UserPresence:setDefaultStatus");
    await services.deps.presence.choose(caller.user._id, { status: chosen });
    return true;
  }),
  "UserPresence:online": open(async (services, caller) => {
    if (!caller.user) return undefined;
    await services.deps.presence.setConnectionStatus(
      caller.user._id,
      caller.connectionId,
      "online",
    );
    return true;
  }),
  "UserPresence:away": open(async (services, caller) => {
    if (!caller.user) return undefined;
    await services.deps.presence.setConnectionStatus(caller.user._id, caller.connectionId, "away");
    return true;
  }),
};
