/**
 * The settings of Omnichannel (livechat), with Rocket.Chat's ids, defaults, groups and
 * public flags: whether it is on, what the widget shows, how conversations are routed to
 * agents and what visitors may do. The widget reads the public ones through
 * `livechat/config`; services read them on every use, so a change takes effect at once.
 */
import type { Setting } from "../core/models.ts";
import type { SettingChoice, SettingDefinition } from "./settings-registry.ts";

type Value = SettingDefinition["value"];

/** A setting of the Omnichannel group, in section `section` when given. */
function omni(
  value: Value,
  type: Setting["type"],
  extra: Partial<SettingDefinition> & { readonly section?: string } = {},
): SettingDefinition {
  return { value, type, group: "Omnichannel", ...extra };
}

const widget = (value: Value, type: Setting["type"], i18nLabel?: string) =>
  omni(value, type, {
    section: "Livechat",
    public: true,
    ...(i18nLabel !== undefined && { i18nLabel }),
  });

const routing = (value: Value, type: Setting["type"], extra: Partial<SettingDefinition> = {}) =>
  omni(value, type, { section: "Routing", ...extra });

/**
 * The routing methods: Rocket.Chat's community ones (External is not offered: Parley calls
 * no outside service) and its load balancing by open chats.
 */
export const ROUTING_METHODS: readonly SettingChoice[] = [
  { key: "Auto_Selection", i18nLabel: "Auto_Selection" },
  { key: "Manual_Selection", i18nLabel: "Manual_Selection" },
  { key: "Load_Balancing", i18nLabel: "Load_Balancing" },
];

/** Every Omnichannel setting by id. */
export const LIVECHAT_SETTINGS: Readonly<Record<string, SettingDefinition>> = {
  Livechat_enabled: omni(true, "boolean", { public: true }),
  Livechat_title: widget("Rocket.Chat", "string"),
  Livechat_title_color: widget("#C1272D", "color"),
  Livechat_enable_message_character_limit: widget(false, "boolean"),
  Livechat_message_character_limit: widget(0, "int"),
  Livechat_display_offline_form: widget(true, "boolean", "Display_offline_form"),
  Livechat_clear_local_storage_when_chat_ended: widget(
    false,
    "boolean",
    "Clear_livechat_session_when_chat_ended",
  ),
  Livechat_validate_offline_email: widget(true, "boolean", "Validate_email_address"),
  Livechat_offline_form_unavailable: widget("", "string", "Offline_form_unavailable_message"),
  Livechat_offline_title: widget("Leave a message", "string", "Title"),
  Livechat_offline_title_color: widget("#666666", "color", "Color"),
  Livechat_offline_message: widget("", "string", "Instructions"),
  Livechat_offline_success_message: widget("", "string", "Offline_success_message"),
  Livechat_allow_switching_departments: widget(true, "boolean", "Allow_switching_departments"),
  Livechat_show_agent_info: widget(true, "boolean", "Show_agent_info"),
  Livechat_show_agent_email: widget(true, "boolean", "Show_agent_email"),
  Livechat_request_comment_when_closing_conversation: omni(true, "boolean", {
    public: true,
    i18nLabel: "Request_comment_when_closing_conversation",
  }),
  Livechat_conversation_finished_message: widget("", "string", "Conversation_finished_message"),
  Livechat_conversation_finished_text: widget("", "string", "Conversation_finished_text"),
  Livechat_registration_form: widget(true, "boolean", "Show_preregistration_form"),
  Livechat_name_field_registration_form: widget(true, "boolean", "Show_name_field"),
  Livechat_email_field_registration_form: widget(true, "boolean", "Show_email_field"),
  Livechat_registration_form_message: widget("", "string"),
  Livechat_guest_count: omni(1, "int"),
  Livechat_Room_Count: omni(1, "int", { i18nLabel: "Livechat_room_count" }),
  Livechat_enabled_when_agent_idle: omni(true, "boolean", {
    i18nLabel: "Accept_new_livechats_when_agent_is_idle",
  }),
  Livechat_history_monitor_type: omni("url", "select", {
    section: "Livechat",
    i18nLabel: "Monitor_history_for_changes_on",
    values: [
      { key: "url", i18nLabel: "Page_URL" },
      { key: "title", i18nLabel: "Page_title" },
    ],
  }),
  Livechat_Visitor_navigation_as_a_message: widget(
    false,
    "boolean",
    "Send_Visitor_navigation_history_as_a_message",
  ),
  Livechat_fileupload_enabled: omni(true, "boolean", {
    public: true,
    i18nLabel: "FileUpload_Enabled",
  }),
  Livechat_enable_transcript: omni(false, "boolean", {
    public: true,
    i18nLabel: "Transcript_Enabled",
  }),
  Livechat_transcript_message: omni("", "string", {
    public: true,
    i18nLabel: "Transcript_message",
  }),
  Livechat_AllowedDomainsList: widget("", "string"),
  Livechat_force_accept_data_processing_consent: omni(false, "boolean", {
    section: "GDPR",
    public: true,
  }),
  Livechat_data_processing_consent_text: omni("", "string", { section: "GDPR", public: true }),
  Livechat_Routing_Method: routing("Auto_Selection", "select", {
    public: true,
    values: ROUTING_METHODS,
  }),
  Livechat_accept_chats_with_no_agents: routing(false, "boolean", {
    i18nLabel: "Accept_with_no_online_agents",
  }),
  Livechat_guest_pool_max_number_incoming_livechats_displayed: routing(0, "int", {
    public: true,
    i18nLabel: "Max_number_incoming_livechats_displayed",
  }),
  Livechat_show_queue_list_link: routing(false, "boolean", {
    public: true,
    i18nLabel: "Show_queue_list_to_all_agents",
  }),
  Livechat_maximum_chats_per_agent: routing(0, "int", {
    i18nLabel: "Max_number_of_chats_per_agent",
  }),
  Livechat_agent_leave_action: omni("none", "select", {
    section: "Sessions",
    i18nLabel: "How_to_handle_open_sessions_when_agent_goes_offline",
    values: [
      { key: "none", i18nLabel: "None" },
      { key: "forward", i18nLabel: "Forward" },
      { key: "close", i18nLabel: "Close" },
    ],
  }),
  Livechat_agent_leave_action_timeout: omni(60, "int", {
    section: "Sessions",
    i18nLabel: "How_long_to_wait_after_agent_goes_offline",
  }),
  Livechat_agent_leave_comment: omni("", "string", {
    section: "Sessions",
    i18nLabel: "Comment_to_leave_on_closing_session",
  }),
  Livechat_offline_email: omni("", "string", {
    section: "Livechat",
    i18nLabel: "Email_address_to_send_offline_messages",
  }),
  Livechat_OfflineMessageToChannel_enabled: widget(false, "boolean"),
  Livechat_OfflineMessageToChannel_channel_name: widget("", "string", "Channel_name"),
  Livechat_transcript_email_subject: omni("", "string", { public: true }),
  Livechat_transcript_show_system_messages: omni(false, "boolean", { public: true }),
  Omnichannel_allow_visitors_to_close_conversation: omni(true, "boolean", {
    section: "Sessions",
    public: true,
  }),
};
