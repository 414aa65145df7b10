/**
 * The permission table as clients read and change it: listing with `updatedSince`,
 * replacing the roles of permissions (persisted, cached by Authz at once, announced as
 * `permissions-changed` on `stream-notify-logged`), and the DDP method `permissions/get`.
 */
import { CONFIRM_MS } from "../bus/bus.ts";
import type { Permission } from "../core/models.ts";
import type { Services } from "./index.ts";
import { optionalDate, type MethodDef, signedIn } from "./method-params.ts";

/** What a client sees of one permission. */
export interface PermissionView {
  readonly _id: string;
  readonly roles: string[];
  readonly _updatedAt: Date;
}

/** One requested change: permission `_id` is held by exactly `roles`. */
export interface PermissionChange {
  readonly _id: string;
  readonly roles: readonly string[];
}

/** A change Rocket.Chat refuses, with its error text and type. */
export interface PermissionRefusal {
  readonly error: "Invalid permission" | "Invalid role";
  readonly errorType: "error-invalid-permission" | "error-invalid-role";
}

function view(p: Permission): PermissionView {
  return { _id: p._id, roles: p.roles, _updatedAt: p._updatedAt };
}

/** Every permission, sorted by id; with `since`, only those changed after it. */
export async function listPermissions(services: Services, since?: Date): Promise<PermissionView[]> {
  const all = await services.deps.db.permissions.find({});
  return all
    .filter((p) => !since || p._updatedAt > since)
    .map(view)
    .sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
}

/**
 * Replaces the roles of each named permission. Refuses the whole request, changing
 * nothing, when a permission or a role does not exist. Resolves the refusal, or null once
 * every change is stored, the Authz cache reloaded and each change announced.
 */
export async function updatePermissions(
  services: Services,
  changes: readonly PermissionChange[],
): Promise<PermissionRefusal | null> {
  const { db, clock, hub } = services.deps;
  const ids = new Set(changes.map((c) => c._id));
  const known = await db.permissions.find({ _id: { $in: [...ids] } }, { projection: { _id: 1 } });
  // A permission named twice counts twice, as in Rocket.Chat, which compares lengths.
  if (known.length !== changes.length) {
    return { error: "Invalid permission", errorType: "error-invalid-permission" };
  }
  const roleIds = [...new Set(changes.flatMap((c) => c.roles))];
  const roles = await db.roles.find({ _id: { $in: roleIds } }, { projection: { _id: 1 } });
  if (roles.length !== roleIds.length) {
    return { error: "Invalid role", errorType: "error-invalid-role" };
  }

  const changed: Permission[] = [];
  for (const change of changes) {
    await db.permissions.updateOne(
      { _id: change._id },
      { $set: { roles: [...new Set(change.roles)], _updatedAt: clock.now() } },
    );
    const stored = await db.permissions.findOne({ _id: change._id });
    if (stored) changed.push(stored);
  }
  await services.authz.reload();
  await services.deps.bus.publishConfirmed({ kind: "permissions-changed" }, CONFIRM_MS);
  for (const p of changed)
    hub.emit("stream-notify-logged", "permissions-changed", ["updated", view(p)]);
  return null;
}

/** The DDP method `permissions/get` (`[updatedSince?]`): an array, or `{update, remove}`. */
export const PERMISSION_METHODS: Record<string, MethodDef> = {
  "permissions/get": signedIn(async (services, caller, [updatedSince]) => {
    const since = optionalDate(updatedSince);
    const update = await listPermissions(services, since);
    return since ? { update, remove: [] } : update;
  }),
};
