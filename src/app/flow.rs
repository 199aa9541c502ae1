//! How the reference app answers a customer's message: the dialogue ([`dialog`]) under the
//! tenant's lock, with the app's other dependencies around it — the LLM for what the rules do
//! not understand ([`llm`]), the PMS that must accept a booking before it is confirmed
//! ([`pms`]), the payment link sent with the confirmation ([`payments`]). Every call to a
//! dependency is made outside the lock, in a spawned task, so a slow dependency delays only
//! its own customer.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::calendar::Appointment;
use super::config::LlmEndpoint;
use super::conversation::{self, Effect, Stage};
use super::dialog;
use super::llm::{self, Understanding};
use super::media;
use super::payments;
use super::pms;
use super::reply::Body;
use super::state::{send, tenant_config, App, Shared, TenantState, Unpaid};
use super::webhook::{self, Content, Inbound};

/// Runs the conversation for one message and queues the reply; a voice note is downloaded
/// and checked first, in the background.
pub fn converse(app: &Shared, m: Inbound) {
    let Some(tenant) = app.tenants.get(&m.tenant) else {
        return;
    };
    // A voice note, or any audio: downloaded and checked; the reply asks the customer to write.
    if let Content::Media(media) = &m.content {
        if media.voice || media.kind == "audio" {
            let app = Arc::clone(app);
            let media = media.clone();
            tokio::spawn(async move {
                let reply = hear(&app, &m.tenant, &media).await;
                send(&app, &m.tenant, m.customer, reply);
            });
            return;
        }
    }
    if let Content::Text(text) = &m.content {
        if let Some(llm) = &app.config.dependencies.llm {
            if for_llm(tenant, &m, text) {
                let (app, llm, text) = (Arc::clone(app), llm.clone(), text.clone());
                tokio::spawn(async move { understand(app, m, llm, text).await });
                return;
            }
        }
    }
    respond(app, m);
}

/// Runs the dialogue for `m` and queues the reply; a booking goes to the PMS and payments
/// first, when the app has them.
fn respond(app: &Shared, m: Inbound) {
    let Some(tenant) = app.tenants.get(&m.tenant) else {
        return;
    };
    let now = chrono::Local::now().naive_local();
    let (body, effect) = {
        let mut state = tenant.lock().unwrap_or_else(|e| e.into_inner());
        let TenantState {
            calendar,
            conversations,
        } = &mut *state;
        let key = m.customer.key();
        let stage = conversations.entry(key.to_string()).or_default();
        let answer = dialog::answer(stage, calendar, key, &m.content, now);
        super::conversation::forget_if_idle(conversations, key);
        answer
    };
    match &effect {
        Effect::Booked(_) => app.counters.bookings.fetch_add(1, Ordering::Relaxed),
        Effect::Cancelled(_) => app.counters.cancellations.fetch_add(1, Ordering::Relaxed),
        Effect::None => 0,
    };
    let deps = &app.config.dependencies;
    match (body, effect) {
        (Some(body), Effect::Booked(a)) if deps.pms_url.is_some() || deps.payments.is_some() => {
            let app = Arc::clone(app);
            tokio::spawn(async move { confirm_booking(&app, m, body, a).await });
        }
        (Some(body), _) => send(app, &m.tenant, m.customer, body),
        (None, _) => {}
    }
}

/// Downloads a voice note and checks its hash; the reply asks the customer to write.
async fn hear(app: &App, tenant: &str, media: &webhook::Media) -> Body {
    let token = tenant_config(app, tenant)
        .and_then(|t| t.token.clone())
        .unwrap_or_else(|| app.config.credential.clone());
    match media::fetch_verified(app.outbox.client(), tenant, &token, media).await {
        Ok(bytes) => {
            app.counters.media_verified.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                tenant,
                bytes = bytes.len(),
                "voice note downloaded and verified"
            );
            dialog::voice_note(true)
        }
        Err(e) => {
            app.counters.media_failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(tenant, "voice note not usable: {e}");
            dialog::voice_note(false)
        }
    }
}

/// Whether the LLM should read `text`: the customer has no conversation open, and the rules
/// understand nothing in it (no intent, not a question about the sites).
fn for_llm(tenant: &std::sync::Mutex<TenantState>, m: &Inbound, text: &str) -> bool {
    let idle = {
        let state = tenant.lock().unwrap_or_else(|e| e.into_inner());
        state
            .conversations
            .get(m.customer.key())
            .is_none_or(|s| *s == Stage::Idle)
    };
    let t = super::nlu::normalize(text);
    idle && super::nlu::intent(&t) == super::nlu::Intent::Unknown && !dialog::asks_for_site(text)
}

/// Asks the LLM what `text` means, then answers as the rules would have answered its
/// meaning; the fallback reply when the LLM cannot be used.
async fn understand(app: Shared, m: Inbound, llm: LlmEndpoint, text: String) {
    let today = chrono::Local::now().date_naive();
    let mishandle = app.config.mishandle;
    let meant = llm::understand(&app.http, &llm, &m.tenant, &text, today, mishandle).await;
    let counter = match &meant {
        Understanding::Failed(_) => &app.counters.llm_fallback,
        _ => &app.counters.llm_understood,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    match meant {
        Understanding::Said(said) => respond(
            &app,
            Inbound {
                content: Content::Text(said),
                ..m
            },
        ),
        Understanding::Menu => send(
            &app,
            &m.tenant,
            m.customer,
            Body::Text(conversation::MENU.into()),
        ),
        Understanding::Failed(why) => {
            tracing::warn!(tenant = %m.tenant, "LLM not usable, fallback reply: {why}");
            send(&app, &m.tenant, m.customer, Body::Text(llm::fallback()));
        }
    }
}

/// A booking: accepted by the PMS (when there is one) before the customer is told, with the
/// payment link (when the app takes payments).
async fn confirm_booking(app: &Shared, m: Inbound, body: Body, a: Appointment) {
    let deps = &app.config.dependencies;
    if let Some(url) = &deps.pms_url {
        let request = pms::booking_body(&m.tenant, &a);
        if app.config.mishandle.pms_timeout {
            // Mishandled: the booking is claimed whatever the PMS says.
            let (http, url) = (app.http.clone(), url.clone());
            tokio::spawn(async move { pms::book(&http, &url, &request).await });
        } else if let Err(why) = pms::book(&app.http, url, &request).await {
            app.counters.pms_failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(tenant = %m.tenant, "booking not confirmed: {why}");
            release(app, &m.tenant, &a);
            let text = pms_failed(&a);
            return send(app, &m.tenant, m.customer, Body::Text(text));
        } else {
            app.counters.pms_accepted.fetch_add(1, Ordering::Relaxed);
        }
    }
    let body = match &deps.payments {
        Some(api) => with_payment_link(app, api, &m, body, &a).await,
        None => body,
    };
    send(app, &m.tenant, m.customer, body);
}

/// Takes back a booking the PMS did not accept.
fn release(app: &App, tenant: &str, a: &Appointment) {
    if let Some(state) = app.tenants.get(tenant) {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        state.calendar.cancel(a.id);
    }
    app.counters.bookings.fetch_sub(1, Ordering::Relaxed);
}

/// `de cardiología del 23/11/2026 a las 09:00`.
fn describe(a: &Appointment) -> String {
    format!(
        "de {} del {} a las {}",
        a.slot.doctor().specialty,
        conversation::date(a.slot.date),
        a.slot.time.format("%H:%M")
    )
}

/// The reply when the PMS did not accept the booking.
pub fn pms_failed(a: &Appointment) -> String {
    format!(
        "⚠️ No pudimos confirmar su cita {}: el sistema de reservas de la clínica no respondió. \
La cita NO quedó reservada. Por favor, inténtelo de nuevo en unos minutos.",
        describe(a)
    )
}

/// The confirmation with the payment link appended (or a note that there is none).
async fn with_payment_link(
    app: &Shared,
    api: &super::config::PaymentsEndpoint,
    m: &Inbound,
    body: Body,
    a: &Appointment,
) -> Body {
    let reference = pms::reference(&m.tenant, a);
    let title = format!("Consulta de {}", a.slot.doctor().specialty);
    let hook = format!("{}{}", app.public_url, payments::WEBHOOK_PATH);
    let link = payments::create_preference(&app.http, api, &reference, &title, &hook).await;
    let note = match link {
        Ok(link) => {
            let unpaid = Unpaid {
                tenant: m.tenant.clone(),
                customer: m.customer.clone(),
                what: describe(a),
            };
            app.ledger().insert(reference, unpaid);
            format!("\n💳 Pague la consulta aquí: {link}")
        }
        Err(why) => {
            tracing::warn!(tenant = %m.tenant, "no payment link: {why}");
            "\n💳 No pudimos generar el enlace de pago: puede pagar en la clínica.".to_string()
        }
    };
    match body {
        Body::Buttons { text, buttons } => Body::Buttons {
            text: text + &note,
            buttons,
        },
        other => Body::Text(format!("{}{note}", other.text())),
    }
}
