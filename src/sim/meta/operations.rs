//! The Cloud API endpoint operations the simulator serves: the coverage table.
//!
//! One row per operation of Meta's Cloud API reference (method, path, the reference section it
//! comes from, an example request) and the integration tests (in `tests/sim_meta/`) that check
//! its success body and a schema rejection. `tests/sim_meta/coverage.rs` sends every row to a
//! running simulator and fails if one answers as an unknown path (Graph 2500 or 100/33) or 501,
//! and if a named test does not exist; `docs/simulators-meta.md` shows the table.
//!
//! Path placeholders: `{phone-number-id}`, `{waba-id}`, `{app-id}`, `{media-id}`,
//! `{media-url}` (the `url` of `GET /{media-id}`), `{template-id}`, `{flow-id}`, `{qr-code}`,
//! `{upload-session-id}`. Sources: /work/shared/reference/meta-cloud-api.md (§), Meta's pages
//! as pywa `pywa/api.py` calls them (pywa 4.4.0 @0bcf2f19).

/// One endpoint operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub group: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    /// What it does (distinguishes operations sharing a method and path).
    pub summary: &'static str,
    /// Reference section or Meta page (and the pywa function that calls it).
    pub source: &'static str,
    /// An example JSON body (empty: none).
    pub example: &'static str,
    /// Tests in `tests/sim_meta/` checking a success body and a rejection.
    pub tests: &'static [&'static str],
}

const fn op(
    group: &'static str,
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    source: &'static str,
    example: &'static str,
    tests: &'static [&'static str],
) -> Operation {
    Operation {
        group,
        method,
        path,
        summary,
        source,
        example,
        tests,
    }
}

const SEND: &[&str] = &[
    "every_message_kind_on_versioned_and_unversioned_paths",
    "validation_errors_are_graph_objects",
];
const MEDIA: &[&str] = &["media_upload_retrieve_download_delete"];
const NUMBERS: &[&str] = &["phone_numbers_unknown_paths_and_faults"];
const REG: &[&str] = &["registration_ladder_and_two_step_pin"];
const PROFILE: &[&str] = &["business_profile_settings_and_automation"];
const BLOCK: &[&str] = &["block_users_only_recent_customers"];
const QR: &[&str] = &["qr_codes_crud_with_image"];
const TPL: &[&str] = &[
    "template_lifecycle_with_webhooks",
    "template_sends_checked_against_the_store",
];
const WABA: &[&str] = &["waba_node_and_phone_webhook_override"];
const SUBS: &[&str] = &["waba_override_and_verification_at_start"];
const UPLOAD: &[&str] = &["resumable_upload_session"];
const FLOWS: &[&str] = &["flows_draft_publish_delete"];

/// The 43 operations.
pub const OPERATIONS: &[Operation] = &[
    op(
        "messages",
        "POST",
        "/{phone-number-id}/messages",
        "send a message",
        "§1.2; pywa send_message",
        r#"{"messaging_product":"whatsapp","to":"16505551234","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}"#,
        SEND,
    ),
    op(
        "messages",
        "POST",
        "/{phone-number-id}/messages",
        "mark as read / typing indicator",
        "§1.2 [M-read][M-typing]; pywa mark_message_as_read",
        r#"{"messaging_product":"whatsapp","status":"read","message_id":"wamid.unknown"}"#,
        &[
            "validation_errors_are_graph_objects",
            "inbound_webhook_is_signed_ascii_and_complete",
        ],
    ),
    op(
        "media",
        "POST",
        "/{phone-number-id}/media",
        "upload media",
        "§6; pywa upload_media",
        "",
        MEDIA,
    ),
    op(
        "media",
        "GET",
        "/{media-id}",
        "retrieve the media URL",
        "§6; pywa get_media_url",
        "",
        MEDIA,
    ),
    op(
        "media",
        "DELETE",
        "/{media-id}",
        "delete media",
        "§6; pywa delete_media",
        "",
        MEDIA,
    ),
    op(
        "media",
        "GET",
        "{media-url}",
        "download media (Range honoured)",
        "§6; pywa stream_media_bytes",
        "",
        MEDIA,
    ),
    op(
        "phone numbers",
        "GET",
        "/{waba-id}/phone_numbers",
        "list the account's numbers",
        "§6; pywa get_business_phone_numbers",
        "",
        NUMBERS,
    ),
    op(
        "phone numbers",
        "GET",
        "/{phone-number-id}",
        "read a number (fields, conversational_automation)",
        "§6; pywa get_business_phone_number",
        "",
        &[
            "phone_numbers_unknown_paths_and_faults",
            "business_profile_settings_and_automation",
        ],
    ),
    op(
        "registration",
        "POST",
        "/{phone-number-id}/register",
        "register (messaging_product, 6-digit pin)",
        "Meta Registration; pywa register_phone_number",
        r#"{"messaging_product":"whatsapp","pin":"123456"}"#,
        REG,
    ),
    op(
        "registration",
        "POST",
        "/{phone-number-id}/deregister",
        "deregister",
        "Meta Registration; pywa deregister_phone_number",
        "",
        REG,
    ),
    op(
        "registration",
        "POST",
        "/{phone-number-id}/request_code?code_method=SMS&language=en",
        "request a verification code",
        "Meta Phone numbers; pywa request_verification_code",
        "",
        REG,
    ),
    op(
        "registration",
        "POST",
        "/{phone-number-id}/verify_code?code=000000",
        "verify the code",
        "Meta Phone numbers; pywa verify_phone_number",
        "",
        REG,
    ),
    op(
        "two-step verification",
        "POST",
        "/{phone-number-id}",
        "set the two-step PIN (or webhook_configuration)",
        "Meta Two-step verification; pywa set_phone_alternate_callback_url",
        r#"{"pin":"654321"}"#,
        &[
            "registration_ladder_and_two_step_pin",
            "waba_node_and_phone_webhook_override",
        ],
    ),
    op(
        "business profile",
        "GET",
        "/{phone-number-id}/whatsapp_business_profile",
        "read the profile",
        "Meta Business profiles; pywa get_business_profile",
        "",
        PROFILE,
    ),
    op(
        "business profile",
        "POST",
        "/{phone-number-id}/whatsapp_business_profile",
        "update the profile",
        "Meta Business profiles; pywa update_business_profile",
        r#"{"messaging_product":"whatsapp","about":"Open 9-5"}"#,
        PROFILE,
    ),
    op(
        "settings",
        "GET",
        "/{phone-number-id}/settings",
        "read the number's settings",
        "Meta Phone number settings; pywa get_business_phone_number_settings",
        "",
        PROFILE,
    ),
    op(
        "settings",
        "POST",
        "/{phone-number-id}/settings",
        "update the number's settings",
        "Meta Phone number settings; pywa update_business_phone_number_settings",
        r#"{"calling":{"status":"ENABLED"}}"#,
        PROFILE,
    ),
    op(
        "conversational automation",
        "POST",
        "/{phone-number-id}/conversational_automation",
        "set ice breakers and commands",
        "Meta Conversational components; pywa update_conversational_automation",
        r#"{"prompts":["Book a visit"]}"#,
        PROFILE,
    ),
    op(
        "block users",
        "GET",
        "/{phone-number-id}/block_users",
        "list blocked users",
        "Meta Block users; pywa get_blocked_users",
        "",
        BLOCK,
    ),
    op(
        "block users",
        "POST",
        "/{phone-number-id}/block_users",
        "block users",
        "Meta Block users; pywa block_users",
        r#"{"messaging_product":"whatsapp","block_users":[{"user":"16505551234"}]}"#,
        BLOCK,
    ),
    op(
        "block users",
        "DELETE",
        "/{phone-number-id}/block_users",
        "unblock users",
        "Meta Block users; pywa unblock_users",
        r#"{"messaging_product":"whatsapp","block_users":[{"user":"16505551234"}]}"#,
        BLOCK,
    ),
    op(
        "QR codes",
        "GET",
        "/{phone-number-id}/message_qrdls",
        "list QR codes",
        "Meta QR codes; pywa get_qr_codes",
        "",
        QR,
    ),
    op(
        "QR codes",
        "POST",
        "/{phone-number-id}/message_qrdls",
        "create a QR code",
        "Meta QR codes; pywa create_qr_code",
        r#"{"prefilled_message":"Hi","generate_qr_image":"PNG"}"#,
        QR,
    ),
    op(
        "QR codes",
        "POST",
        "/{phone-number-id}/message_qrdls",
        "update a QR code (code)",
        "Meta QR codes; pywa update_qr_code",
        r#"{"code":"{qr-code}","prefilled_message":"Hello"}"#,
        QR,
    ),
    op(
        "QR codes",
        "GET",
        "/{phone-number-id}/message_qrdls/{qr-code}",
        "read a QR code",
        "Meta QR codes; pywa get_qr_code",
        "",
        QR,
    ),
    op(
        "QR codes",
        "DELETE",
        "/{phone-number-id}/message_qrdls/{qr-code}",
        "delete a QR code",
        "Meta QR codes; pywa delete_qr_code",
        "",
        QR,
    ),
    op(
        "templates",
        "GET",
        "/{waba-id}/message_templates",
        "list templates (filters)",
        "Meta Message templates; pywa get_templates",
        "",
        TPL,
    ),
    op(
        "templates",
        "POST",
        "/{waba-id}/message_templates",
        "create a template (PENDING)",
        "Meta Message templates; pywa create_template",
        r#"{"name":"probe","language":"en_US","category":"UTILITY","components":[{"type":"BODY","text":"Probe"}]}"#,
        TPL,
    ),
    op(
        "templates",
        "DELETE",
        "/{waba-id}/message_templates?name=probe_gone",
        "delete a template by name",
        "Meta Message templates; pywa delete_template",
        "",
        TPL,
    ),
    op(
        "templates",
        "GET",
        "/{template-id}",
        "read a template",
        "Meta Message templates; pywa get_template",
        "",
        TPL,
    ),
    op(
        "templates",
        "POST",
        "/{template-id}",
        "edit a template (back to review)",
        "Meta Message templates; pywa update_template",
        r#"{"category":"MARKETING"}"#,
        TPL,
    ),
    op(
        "business account",
        "GET",
        "/{waba-id}",
        "read the WhatsApp Business Account",
        "Meta WhatsApp Business Account; pywa get_waba_info",
        "",
        WABA,
    ),
    op(
        "subscribed apps",
        "GET",
        "/{waba-id}/subscribed_apps",
        "list subscribed apps",
        "§6; pywa get_waba_subscribed_apps",
        "",
        SUBS,
    ),
    op(
        "subscribed apps",
        "POST",
        "/{waba-id}/subscribed_apps",
        "subscribe (optional override_callback_uri)",
        "§6; pywa set_waba_alternate_callback_url",
        "",
        SUBS,
    ),
    op(
        "subscribed apps",
        "DELETE",
        "/{waba-id}/subscribed_apps",
        "unsubscribe",
        "Meta Webhooks override",
        "",
        SUBS,
    ),
    op(
        "resumable uploads",
        "POST",
        "/{app-id}/uploads?file_name=a.png&file_length=4&file_type=image/png",
        "open an upload session",
        "Graph Resumable Upload; pywa create_upload_session",
        "",
        UPLOAD,
    ),
    op(
        "resumable uploads",
        "POST",
        "/{upload-session-id}",
        "upload bytes at file_offset",
        "Graph Resumable Upload; pywa upload_file",
        "",
        UPLOAD,
    ),
    op(
        "resumable uploads",
        "GET",
        "/{upload-session-id}",
        "read the session offset",
        "Graph Resumable Upload; pywa get_upload_session",
        "",
        UPLOAD,
    ),
    op(
        "flows",
        "GET",
        "/{waba-id}/flows",
        "list flows",
        "Meta Flows API; pywa get_flows",
        "",
        FLOWS,
    ),
    op(
        "flows",
        "POST",
        "/{waba-id}/flows",
        "create a flow (DRAFT)",
        "Meta Flows API; pywa create_flow",
        r#"{"name":"probe","categories":["SURVEY"]}"#,
        FLOWS,
    ),
    op(
        "flows",
        "GET",
        "/{flow-id}",
        "read a flow",
        "Meta Flows API; pywa get_flow",
        "",
        FLOWS,
    ),
    op(
        "flows",
        "POST",
        "/{flow-id}/publish",
        "publish a flow",
        "Meta Flows API; pywa publish_flow",
        "",
        FLOWS,
    ),
    op(
        "flows",
        "DELETE",
        "/{flow-id}",
        "delete a draft flow",
        "Meta Flows API; pywa delete_flow",
        "",
        FLOWS,
    ),
];

/// The table as Markdown (the docs show it; a unit test keeps them equal).
pub fn markdown() -> String {
    let mut s = String::from("| # | group | method | path | operation | source | tests |\n|---|---|---|---|---|---|---|\n");
    for (i, o) in OPERATIONS.iter().enumerate() {
        s.push_str(&format!(
            "| {} | {} | {} | `{}` | {} | {} | {} |\n",
            i + 1,
            o.group,
            o.method,
            o.path,
            o.summary,
            o.source,
            o.tests.join(", ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_three_distinct_operations() {
        assert_eq!(OPERATIONS.len(), 43);
        for (i, a) in OPERATIONS.iter().enumerate() {
            for b in &OPERATIONS[i + 1..] {
                assert!(
                    (a.method, a.path, a.summary) != (b.method, b.path, b.summary),
                    "{a:?}"
                );
            }
            assert!(!a.tests.is_empty());
        }
    }

    #[test]
    fn docs_show_the_table() {
        let docs = include_str!("../../../docs/simulators-meta.md");
        let table = markdown();
        assert!(
            docs.contains(&table),
            "docs/simulators-meta.md must contain operations::markdown():\n{table}"
        );
    }
}
