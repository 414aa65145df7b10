/**
 * The room actor's commands that manage the room itself: its settings and archive state
 * (room-settings-commands.ts), its members' roles (room-role-commands.ts), and its
 * deletion and pruning (room-lifecycle-commands.ts), gathered so that the actor registers
 * them as one family.
 */
import type { Room } from "../core/models.ts";
import type { CommandHandlers } from "./room-commands.ts";
import {
  type CleanHistoryResult,
  type RoomLifecycleCommand,
  roomLifecycleHandlers,
} from "./room-lifecycle-commands.ts";
import { type RoomRoleCommand, roomRoleHandlers } from "./room-role-commands.ts";
import { type RoomSettingsCommand, roomSettingsHandlers } from "./room-settings-commands.ts";

/** Every command that manages the room itself. */
export type RoomAdminCommand = RoomSettingsCommand | RoomRoleCommand | RoomLifecycleCommand;

/** The answer of command `C`: pruning answers its result, the others the room. */
export type RoomAdminReply<C extends RoomAdminCommand> = C extends {
  readonly kind: "lifecycle.cleanHistory";
}
  ? CleanHistoryResult
  : Room;

/** The handlers of every command that manages the room itself. */
export const roomAdminHandlers: CommandHandlers<RoomAdminCommand> = {
  ...roomSettingsHandlers,
  ...roomRoleHandlers,
  ...roomLifecycleHandlers,
};
