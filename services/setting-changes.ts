/**
 * Reading and changing workspace settings as an administrator: the permission checks,
 * and the announcement of each change to the clients that may see the setting.
 */
import type { Setting, User } from "../core/models.ts";
import type { Services } from "./index.ts";
import { settingFailure } from "./settings.ts";

/** A setting as the settings routes answer it. */
export interface SettingView {
  readonly _id: string;
  readonly value: unknown;
  readonly packageValue?: unknown;
}

/**
 * Setting `id` as `{_id, value}`, for the route that lets holders of
 * `view-privileged-setting` read any setting (public ones too, as in Rocket.Chat: anyone
 * else reads those from `settings.public`). Throws Rocket.Chat's bare 400 for an unknown id.
 */
export async function viewSetting(services: Services, id: string): Promise<SettingView> {
  const setting = services.settings.find(id);
  if (!setting) throw settingFailure();
  return { _id: setting._id, value: setting.value };
}

/**
 * The settings `user` may list, ordered by id: every one with `view-privileged-setting`,
 * the public ones otherwise. `includeDefaults` adds each setting's `packageValue`.
 */
export async function listSettings(
  services: Services,
  user: User,
  includeDefaults: boolean,
): Promise<SettingView[]> {
  const privileged = await services.authz.can(user, "view-privileged-setting");
  return services.settings
    .all()
    .filter((s) => privileged || s.public)
    .map((s) => ({
      _id: s._id,
      value: s.value,
      ...(includeDefaults && { packageValue: s.packageValue }),
    }));
}

/**
 * Sets setting `id` to `value`, for the route that lets holders of
 * `edit-privileged-setting` change settings; the change is stored, read by every service
 * at once, and announced. Throws Rocket.Chat's bare 400 for an unknown id or a missing value, and
 * `error-invalid-setting-value` for a value of the wrong type.
 */
export async function changeSetting(services: Services, id: string, value: unknown): Promise<void> {
  if (value === undefined) throw settingFailure();

  const updated = await services.settings.set(id, value);
  announce(services, updated);
}

/**
 * Tells clients about a changed setting as Rocket.Chat does: everyone hears public ones on
 * `stream-notify-all`, and every setting goes to `stream-notify-logged`, where only users
 * allowed to see privileged settings may listen (see `services/streams.ts`).
 */
function announce(services: Services, setting: Setting): void {
  const change = ["updated", { _id: setting._id, value: setting.value }];
  if (setting.public)
    services.deps.hub.emit("stream-notify-all", "public-settings-changed", change);
  services.deps.hub.emit("stream-notify-logged", "private-settings-changed", change);
}

/** Whether `user` may see privileged settings, to read them or hear them change. */
export async function seesPrivilegedSettings(services: Services, user: User): Promise<boolean> {
  return (
    (await services.authz.can(user, "view-privileged-setting")) ||
    (await services.authz.can(user, "edit-privileged-setting"))
  );
}
