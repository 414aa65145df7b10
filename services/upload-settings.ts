/**
 * The settings of file uploads, with Rocket.Chat's ids, types, defaults and groups: whether
 * uploads are on (everywhere, and in direct messages), the largest file, which media types
 * are allowed or refused, who may download, and the thumbnails of image attachments. The
 * registry merges them in.
 */
import type { SettingDefinition } from "./settings-registry.ts";

const FILE_UPLOAD = { group: "FileUpload" };
const ATTACHMENTS = { group: "Message", section: "Message_Attachments" };

/** A setting of `place`, public unless said otherwise. */
function setting(
  value: SettingDefinition["value"],
  type: SettingDefinition["type"],
  place: { group: string; section?: string },
  extra: Partial<SettingDefinition> = {},
): SettingDefinition {
  return { value, type, ...place, public: true, ...extra };
}

/** Every upload setting by id. */
export const UPLOAD_SETTINGS: Readonly<Record<string, SettingDefinition>> = {
  FileUpload_Enabled: setting(true, "boolean", FILE_UPLOAD),
  FileUpload_MaxFileSize: setting(104857600, "int", FILE_UPLOAD, {
    i18nDescription: "FileUpload_MaxFileSizeDescription",
  }),
  FileUpload_MediaTypeWhiteList: setting("", "string", FILE_UPLOAD, {
    i18nDescription: "FileUpload_MediaTypeWhiteListDescription",
  }),
  FileUpload_MediaTypeBlackList: setting("image/svg+xml", "string", FILE_UPLOAD, {
    i18nDescription: "FileUpload_MediaTypeBlackListDescription",
  }),
  FileUpload_ProtectFiles: setting(true, "boolean", FILE_UPLOAD, {
    i18nDescription: "FileUpload_ProtectFilesDescription",
  }),
  FileUpload_Restrict_to_room_members: setting(true, "boolean", FILE_UPLOAD, { public: false }),
  FileUpload_Restrict_to_users_who_can_access_room: setting(false, "boolean", FILE_UPLOAD, {
    public: false,
  }),
  FileUpload_RotateImages: setting(true, "boolean", FILE_UPLOAD),
  FileUpload_Enabled_Direct: setting(true, "boolean", FILE_UPLOAD),
  Message_Attachments_Thumbnails_Enabled: setting(true, "boolean", ATTACHMENTS, {
    i18nDescription: "Message_Attachments_Thumbnails_EnabledDesc",
  }),
  Message_Attachments_Thumbnails_Width: setting(480, "int", ATTACHMENTS),
  Message_Attachments_Thumbnails_Height: setting(360, "int", ATTACHMENTS),
};
