//! The conversation as a clinic bot holds it on WhatsApp: the booking dialogue of
//! [`conversation`] (text in, text out) with its structure made interactive — free slots as a
//! list menu, the confirmation with reply buttons — taps understood by their ids, a shared
//! location answered with the nearest site, and media acknowledged. Pure like
//! [`conversation`]; voice notes are downloaded by the server, which then asks [`voice_note`]
//! what to say.

use chrono::NaiveDateTime;

use super::calendar::{Calendar, Slot, DOCTORS};
use super::conversation::{self, Effect, Stage};
use super::nlu;
use super::reply::{Body, Button, Menu, Row};
use super::sites;
use super::webhook::Content;

/// Button id: list my appointments.
pub const MY_APPOINTMENTS: &str = "citas";
/// Button id prefix: cancel appointment `cancelar:<id>`.
pub const CANCEL_PREFIX: &str = "cancelar:";
/// Row id prefix: `slot:<YYYY-MM-DD>T<HH:MM>:<doctor index>`.
pub const SLOT_PREFIX: &str = "slot:";

pub const VOICE_ASK_TO_WRITE: &str = "🎤 Recibí su nota de voz, pero todavía no puedo escuchar \
audios. ¿Podría escribirme su mensaje? Por ejemplo: \"Necesito una cita con cardiología para mañana\".";
pub const VOICE_UNREADABLE: &str = "🎤 No pude descargar su nota de voz. ¿Podría escribirme su \
mensaje, por favor?";

/// The answer to one message: the reply (none for what needs no answer) and its effect.
pub fn answer(
    stage: &mut Stage,
    calendar: &mut Calendar,
    customer: &str,
    content: &Content,
    now: NaiveDateTime,
) -> (Option<Body>, Effect) {
    let (text, effect) = match content {
        Content::Text(t) if asks_for_site(t) => {
            return (Some(Body::Text(ask_location())), Effect::None)
        }
        Content::Text(t) => conversation::respond(stage, calendar, customer, t, now),
        Content::Choice { id, title } => tap(stage, calendar, customer, id, title, now),
        Content::Location {
            latitude,
            longitude,
            ..
        } => {
            return (
                Some(Body::Text(nearest_site(*latitude, *longitude))),
                Effect::None,
            )
        }
        Content::Media(m) => {
            let what = match m.kind.as_str() {
                "image" => "su imagen",
                "video" => "su video",
                "document" => "su documento",
                "sticker" => "su sticker",
                _ => "su audio",
            };
            let text = format!(
                "Gracias, recibí {what}. Por ahora solo entiendo mensajes escritos: {}",
                "¿en qué puedo ayudarle?"
            );
            return (Some(Body::Text(text)), Effect::None);
        }
        Content::Other(_) => return (None, Effect::None),
    };
    (Some(structure(stage, text, &effect)), effect)
}

/// What to say about a voice note once the server tried to download it.
pub fn voice_note(downloaded_and_verified: bool) -> Body {
    Body::Text(if downloaded_and_verified {
        VOICE_ASK_TO_WRITE.to_string()
    } else {
        VOICE_UNREADABLE.to_string()
    })
}

/// A tap: a slot row books that slot (still offered or not: it names the slot), a cancel
/// button cancels that appointment of this customer, "Mis citas" lists them; anything else
/// is read as its title.
fn tap(
    stage: &mut Stage,
    calendar: &mut Calendar,
    customer: &str,
    id: &str,
    title: &str,
    now: NaiveDateTime,
) -> (String, Effect) {
    if let Some(slot) = id.strip_prefix(SLOT_PREFIX).and_then(parse_slot) {
        let pick = match stage {
            Stage::Choosing { options, .. } => options.iter().position(|s| *s == slot),
            _ => None,
        };
        let i = pick.unwrap_or_else(|| {
            *stage = Stage::Choosing {
                specialty: slot.doctor().specialty,
                options: vec![slot],
            };
            0
        });
        return conversation::respond(stage, calendar, customer, &(i + 1).to_string(), now);
    }
    if let Some(appointment) = id.strip_prefix(CANCEL_PREFIX) {
        let own = appointment
            .parse::<u64>()
            .ok()
            .filter(|a| calendar.of_customer(customer).iter().any(|x| x.id == *a));
        if let Some(a) = own {
            *stage = Stage::ChoosingCancel { ids: vec![a] };
            return conversation::respond(stage, calendar, customer, "1", now);
        }
        return conversation::respond(stage, calendar, customer, "cancelar", now);
    }
    let said = if id == MY_APPOINTMENTS {
        "mis citas"
    } else {
        title
    };
    conversation::respond(stage, calendar, customer, said, now)
}

/// `2026-11-23T09:00:0` → the slot, if it names a real doctor.
fn parse_slot(s: &str) -> Option<Slot> {
    let (when, doctor) = s.rsplit_once(':')?;
    let at = NaiveDateTime::parse_from_str(when, "%Y-%m-%dT%H:%M").ok()?;
    let doctor: usize = doctor.parse().ok()?;
    (doctor < DOCTORS.len()).then_some(Slot {
        date: at.date(),
        time: at.time(),
        doctor,
    })
}

fn slot_id(s: &Slot) -> String {
    format!(
        "{SLOT_PREFIX}{}T{}:{}",
        s.date.format("%Y-%m-%d"),
        s.time.format("%H:%M"),
        s.doctor
    )
}

/// The reply's structure from where the conversation now stands: offered slots as a list,
/// a booking's confirmation with buttons, the rest as text.
fn structure(stage: &Stage, text: String, effect: &Effect) -> Body {
    if let Stage::Choosing { specialty, options } = stage {
        let rows = options
            .iter()
            .map(|s| Row {
                id: slot_id(s),
                title: s.time.format("%H:%M").to_string(),
                description: format!("{} · {}", s.doctor().name, conversation::date(s.date)),
            })
            .collect();
        return Body::List(Menu {
            text,
            button: "Ver horarios".into(),
            section: cut(specialty, 24),
            rows,
        });
    }
    if let Effect::Booked(a) = effect {
        return Body::Buttons {
            text,
            buttons: vec![
                Button {
                    id: MY_APPOINTMENTS.into(),
                    title: "Mis citas".into(),
                },
                Button {
                    id: format!("{CANCEL_PREFIX}{}", a.id),
                    title: "Cancelar cita".into(),
                },
            ],
        };
    }
    Body::Text(text)
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// "¿Cuál es la sede más cercana?", "¿dónde están?".
pub fn asks_for_site(text: &str) -> bool {
    let t = nlu::normalize(text);
    t.split(' ').any(|w| w.starts_with("sede"))
        || t.contains("donde estan")
        || t.contains("direccion")
}

fn ask_location() -> String {
    let mut msg = "Envíeme su ubicación (📎 › Ubicación) y le digo cuál es la sede más cercana. \
Nuestras sedes:\n"
        .to_string();
    for s in sites::SITES {
        msg.push_str(&format!("• {}: {}\n", s.name, s.address));
    }
    msg.trim_end().to_string()
}

fn nearest_site(latitude: f64, longitude: f64) -> String {
    match sites::nearest(latitude, longitude) {
        Some((site, km)) => format!(
            "📍 La sede más cercana es {} ({}), a {:.1} km. https://maps.google.com/?q={},{}",
            site.name, site.address, km, site.latitude, site.longitude
        ),
        None => "No pude leer esa ubicación. ¿Podría enviarla de nuevo?".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::conversation::tests::now;
    use crate::app::webhook::{Media, MediaSource};

    /// One customer's chat (`A`).
    struct Dialog {
        stage: Stage,
        cal: Calendar,
    }

    impl Dialog {
        fn send(&mut self, c: Content) -> (Option<Body>, Effect) {
            answer(&mut self.stage, &mut self.cal, "A", &c, now())
        }
        fn text(&mut self, t: &str) -> Body {
            self.send(Content::Text(t.into())).0.unwrap()
        }
        fn tap(&mut self, id: &str, title: &str) -> (Body, Effect) {
            let (b, e) = self.send(Content::Choice {
                id: id.into(),
                title: title.into(),
            });
            (b.unwrap(), e)
        }
    }

    fn chat() -> Dialog {
        Dialog {
            stage: Stage::default(),
            cal: Calendar::default(),
        }
    }

    #[test]
    fn slots_as_a_list_confirmation_with_buttons_taps_by_id() {
        let mut c = chat();
        let Body::List(Menu {
            text,
            rows,
            section,
            ..
        }) = c.text("Necesito una cita con cardiología para mañana")
        else {
            panic!()
        };
        assert!(text.contains("1. 09:00 con Dra. Ana Pérez"), "{text}");
        assert_eq!(section, "cardiología");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].id, "slot:2026-11-23T09:00:1");
        assert_eq!(rows[1].title, "09:00");
        assert_eq!(rows[1].description, "Dr. Luis Gómez · 23/11/2026");
        let (confirm, effect) = c.tap(&rows[1].id, &rows[1].title);
        let Body::Buttons { text, buttons } = confirm else {
            panic!()
        };
        assert!(text.contains("a las 09:00 con Dr. Luis Gómez"), "{text}");
        let Effect::Booked(a) = effect else { panic!() };
        assert_eq!(buttons[0].id, MY_APPOINTMENTS);
        assert_eq!(buttons[1].id, format!("cancelar:{}", a.id));
        let (list, _) = c.tap(MY_APPOINTMENTS, "Mis citas");
        assert!(list.text().starts_with("Sus citas:"), "{list:?}");
        let (done, effect) = c.tap(&buttons[1].id, "Cancelar cita");
        assert!(done.text().starts_with("❌ Cita cancelada"), "{done:?}");
        assert!(matches!(effect, Effect::Cancelled(_)));
    }

    #[test]
    fn a_stale_row_still_books_its_slot_once_and_foreign_cancel_ids_are_refused() {
        let mut c = chat();
        c.text("cita con cardiología mañana");
        c.text("mis citas"); // leaves the choice
        let (b, e) = c.tap("slot:2026-11-23T10:00:0", "10:00");
        assert!(b.text().contains("a las 10:00 con Dra. Ana Pérez"), "{b:?}");
        assert!(matches!(e, Effect::Booked(_)));
        let mut other = Stage::default();
        let tap = Content::Choice {
            id: "slot:2026-11-23T10:00:0".into(),
            title: "10:00".into(),
        };
        let (b, e) = answer(&mut other, &mut c.cal, "B", &tap, now());
        assert!(
            b.unwrap()
                .text()
                .starts_with("Ese horario acaba de ser reservado"),
            "taken"
        );
        assert_eq!(e, Effect::None);
        let cancel = Content::Choice {
            id: "cancelar:0".into(),
            title: "Cancelar cita".into(),
        };
        let (b, _) = answer(&mut other, &mut c.cal, "B", &cancel, now());
        assert_eq!(b.unwrap().text(), "No tiene citas programadas.");
        assert_eq!(c.cal.len(), 1);
        assert!(parse_slot("2026-11-23T10:00:99").is_none());
    }

    #[test]
    fn location_gives_the_nearest_site_and_media_is_acknowledged() {
        let mut c = chat();
        assert!(c
            .text("¿Cuál es la sede más cercana?")
            .text()
            .contains("Envíeme su ubicación"));
        let (b, _) = c.send(Content::Location {
            latitude: 4.6765,
            longitude: -74.0482,
            name: None,
        });
        let text = b.unwrap().text().to_string();
        assert!(
            text.starts_with("📍 La sede más cercana es Sede Norte (Calle 127 # 15-40), a 3.0 km"),
            "{text}"
        );
        let image = Content::Media(Media {
            kind: "image".into(),
            voice: false,
            mime: None,
            sha256: None,
            source: MediaSource::Meta { id: "1".into() },
        });
        assert!(c.send(image).0.unwrap().text().contains("recibí su imagen"));
        assert_eq!(c.send(Content::Other("reaction".into())).0, None);
        assert_eq!(voice_note(true).text(), VOICE_ASK_TO_WRITE);
        assert_eq!(voice_note(false).text(), VOICE_UNREADABLE);
    }

    #[test]
    fn a_pending_choice_survives_a_site_question() {
        let mut c = chat();
        c.text("cita con cardiología mañana");
        c.text("¿dónde están?");
        assert!(matches!(c.stage, Stage::Choosing { .. }));
    }
}
