/**
 * Custom user statuses: names an administrator defines (holders of `manage-user-status`),
 * each shown with one of the four presence types, which clients offer besides the four
 * built-in statuses. Changes go out on `stream-notify-logged` as `updateCustomUserStatus`
 * and `deleteCustomUserStatus`, as Rocket.Chat announces them.
 */
import { ClientError } from "../core/errors.ts";
import {
  type CustomUserStatus,
  USER_STATUSES,
  type User,
  type UserStatus,
} from "../core/models.ts";
import { DuplicateKeyError } from "../store/types.ts";
import type { Services } from "./index.ts";
import { type MethodDef, signedIn } from "./method-params.ts";

/** What a create or an update asks for, already shaped. */
export interface StatusDraft {
  readonly name: string;
  /** One of the four statuses, or "" for none; an update without it keeps the type. */
  readonly statusType?: string;
}

function notAuthorized(): ClientError {
  return new ClientError("not_authorized");
}

function nameInUse(): ClientError {
  return new ClientError(
    "Custom_User_Status_Error_Name_Already_In_Use",
    "The custom user status name is already in use",
    { details: { method: "insertOrUpdateUserStatus" } },
  );
}

/** Checks `draft` for `user` in Rocket.Chat's order; `id` is the status being updated. */
async function checkDraft(services: Services, user: User, draft: StatusDraft, id?: string) {
  if (!(await services.authz.can(user, "manage-user-status"))) throw notAuthorized();
  if (!draft.name.trim()) {
    throw new ClientError("error-the-field-is-required", "The field Name is required", {
      details: { method: "insertOrUpdateUserStatus", field: "Name" },
    });
  }
  if (/[><&"']/.test(draft.name)) {
    throw new ClientError("error-input-is-not-a-valid-field", `${draft.name} is not a valid name`, {
      details: { method: "insertOrUpdateUserStatus", input: draft.name, field: "Name" },
    });
  }
  const same = await services.deps.db.customUserStatus.findOne({
    name: draft.name,
    ...(id !== undefined && { _id: { $ne: id } }),
  });
  if (same) throw nameInUse();
  if (draft.statusType && !(USER_STATUSES as readonly string[]).includes(draft.statusType)) {
    throw new ClientError(
      "error-input-is-not-a-valid-field",
      `${draft.statusType} is not a valid status type`,
      {
        details: {
          method: "insertOrUpdateUserStatus",
          input: draft.statusType,
          field: "StatusType",
        },
      },
    );
  }
}

/**
 * Announces a change of custom status `status`: a creation or an update with what the
 * caller gave (no `_updatedAt`), a deletion with the whole record, as Rocket.Chat
 * broadcasts each.
 */
function announce(services: Services, event: string, status: CustomUserStatus): void {
  const { _updatedAt: _, ...given } = status;
  const userStatusData = event === "deleteCustomUserStatus" ? status : given;
  services.deps.hub.emit("stream-notify-logged", event, [{ userStatusData }]);
}

/** Creates a custom status; resolves with it as stored. */
export async function createCustomStatus(
  services: Services,
  user: User,
  draft: StatusDraft,
): Promise<CustomUserStatus> {
  await checkDraft(services, user, draft);
  const status: CustomUserStatus = {
    _id: services.deps.ids.id(),
    name: draft.name,
    statusType: (draft.statusType ?? "") as UserStatus,
    _updatedAt: services.deps.clock.now(),
  };
  try {
    await services.deps.db.customUserStatus.insertOne(status);
  } catch (error) {
    if (error instanceof DuplicateKeyError) throw nameInUse();
    throw error;
  }
  announce(services, "updateCustomUserStatus", status);
  return status;
}

/**
 * Renames custom status `id` and changes its type; resolves with it as stored. Answers
 * Rocket.Chat's plain failure for an id that does not exist, before any other check.
 */
export async function updateCustomStatus(
  services: Services,
  user: User,
  id: string,
  draft: StatusDraft,
): Promise<CustomUserStatus> {
  const { customUserStatus } = services.deps.db;
  if (!(await customUserStatus.findOne({ _id: id }))) {
    throw new ClientError(400, `No custom user status found with the id of "${id}".`, {
      plain: true,
    });
  }
  await checkDraft(services, user, draft, id);
  const set = {
    name: draft.name,
    ...(draft.statusType !== undefined && { statusType: draft.statusType }),
    _updatedAt: services.deps.clock.now(),
  };
  try {
    await customUserStatus.updateOne({ _id: id }, { $set: set });
  } catch (error) {
    if (error instanceof DuplicateKeyError) throw nameInUse();
    throw error;
  }
  const updated = (await customUserStatus.findOne({ _id: id })) as CustomUserStatus;
  announce(services, "updateCustomUserStatus", updated);
  return updated;
}

/** Deletes custom status `id`. */
export async function deleteCustomStatus(services: Services, user: User, id: string) {
  if (!(await services.authz.can(user, "manage-user-status"))) throw notAuthorized();
  const { customUserStatus } = services.deps.db;
  const status = await customUserStatus.findOne({ _id: id });
  if (!status || (await customUserStatus.deleteOne({ _id: id })) === 0) {
    throw new ClientError("Custom_User_Status_Error_Invalid_User_Status", "Invalid user status", {
      details: { method: "deleteCustomUserStatus" },
    });
  }
  announce(services, "deleteCustomUserStatus", status);
}

export const CUSTOM_STATUS_METHODS: Record<string, MethodDef> = {
  /** Every custom status, as Rocket.Chat's web client loads them at start-up. */
  listCustomUserStatus: signedIn(async (services) =>
    services.deps.db.customUserStatus.find({}, { sort: { name: 1 } }),
  ),
};
