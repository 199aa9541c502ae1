//! The booking conversation: one state per customer, one reply per message. Pure: the
//! caller passes the calendar and the current time, so every reply is reproducible in a test.

use chrono::{NaiveDate, NaiveDateTime};

use super::calendar::{Appointment, Calendar, Slot};
use super::nlu::{self, Intent};

/// How many slots are offered at once.
const OFFERED: usize = 3;

/// Where a customer's conversation stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Stage {
    #[default]
    Idle,
    /// Booking: the specialty is missing (the day may be known).
    NeedSpecialty { day: Option<NaiveDate> },
    /// Booking: the day is missing.
    NeedDay { specialty: &'static str },
    /// Slots were offered; waiting for the customer's pick.
    Choosing {
        specialty: &'static str,
        options: Vec<Slot>,
    },
    /// Several appointments were listed for cancellation; waiting for the pick.
    ChoosingCancel { ids: Vec<u64> },
}

/// What happened, besides the reply: the app keeps confirmed bookings safe until their
/// confirmation is delivered.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    None,
    Booked(Appointment),
    Cancelled(Appointment),
}

pub const MENU: &str = "¡Hola! Soy el asistente de la clínica. Puedo ayudarle a:\n\
• pedir una cita (por ejemplo: \"Necesito una cita con cardiología para mañana\")\n\
• ver sus citas (\"mis citas\")\n\
• cancelar una cita (\"cancelar\")";

const ASK_SPECIALTY: &str =
    "¿Para qué especialidad desea la cita? Tenemos: cardiología, dermatología, \
pediatría, medicina general, traumatología y ginecología.";

/// Handles one message of `customer`; returns the reply and its effect.
pub fn respond(
    stage: &mut Stage,
    calendar: &mut Calendar,
    customer: &str,
    text: &str,
    now: NaiveDateTime,
) -> (String, Effect) {
    let t = nlu::normalize(text);
    let intent = nlu::intent(&t);
    let today = now.date();
    // A pending question is answered unless the message clearly starts something else.
    let pending = std::mem::take(stage);
    let restart = matches!(intent, Intent::Cancel | Intent::List | Intent::Greeting)
        || (intent == Intent::Book && nlu::specialty(&t).is_some());
    match (pending, restart) {
        (Stage::Choosing { specialty, options }, false) => {
            choose(stage, calendar, customer, &t, specialty, options, now)
        }
        (Stage::ChoosingCancel { ids }, false) => choose_cancel(stage, calendar, &t, ids),
        (Stage::NeedSpecialty { day }, false) => match nlu::specialty(&t) {
            Some(sp) => book(stage, calendar, sp, nlu::day(&t, today).or(day), now),
            None => {
                *stage = Stage::NeedSpecialty { day };
                (ASK_SPECIALTY.to_string(), Effect::None)
            }
        },
        (Stage::NeedDay { specialty }, false) => {
            book(stage, calendar, specialty, nlu::day(&t, today), now)
        }
        _ => match intent {
            Intent::Book => match nlu::specialty(&t) {
                Some(sp) => book(stage, calendar, sp, nlu::day(&t, today), now),
                None => {
                    *stage = Stage::NeedSpecialty {
                        day: nlu::day(&t, today),
                    };
                    (ASK_SPECIALTY.to_string(), Effect::None)
                }
            },
            Intent::Cancel => cancel(stage, calendar, customer),
            Intent::List => (list(calendar, customer), Effect::None),
            Intent::Greeting | Intent::Unknown => (MENU.to_string(), Effect::None),
        },
    }
}

fn book(
    stage: &mut Stage,
    calendar: &Calendar,
    specialty: &'static str,
    day: Option<NaiveDate>,
    now: NaiveDateTime,
) -> (String, Effect) {
    let Some(day) = day else {
        *stage = Stage::NeedDay { specialty };
        let msg = format!(
            "¿Para qué día desea la cita de {specialty}? Puede decir hoy, mañana, un día de la semana o una fecha (15/12)."
        );
        return (msg, Effect::None);
    };
    if day < now.date() {
        *stage = Stage::NeedDay { specialty };
        return (
            format!(
                "La fecha {} ya pasó. ¿Para qué día desea la cita?",
                date(day)
            ),
            Effect::None,
        );
    }
    let offered = calendar.free_slots(specialty, day, now, OFFERED);
    let (shown_day, options, preface) = if offered.is_empty() {
        match calendar.first_free_day(specialty, day, now, OFFERED) {
            Some((d, slots)) => (d, slots, format!("No quedan horarios de {specialty} para el {}. ", long_date(day))),
            None => return (format!("Lo siento, no hay horarios disponibles de {specialty} en los próximos dos meses."), Effect::None),
        }
    } else {
        (day, offered, String::new())
    };
    let mut msg = format!(
        "{preface}Horarios disponibles de {specialty} para el {}:\n",
        long_date(shown_day)
    );
    for (i, s) in options.iter().enumerate() {
        msg.push_str(&format!(
            "{}. {} con {}\n",
            i + 1,
            s.time.format("%H:%M"),
            s.doctor().name
        ));
    }
    msg.push_str("Responda con el número del horario que prefiera.");
    *stage = Stage::Choosing { specialty, options };
    (msg, Effect::None)
}

fn choose(
    stage: &mut Stage,
    calendar: &mut Calendar,
    customer: &str,
    t: &str,
    specialty: &'static str,
    options: Vec<Slot>,
    now: NaiveDateTime,
) -> (String, Effect) {
    let Some(i) = nlu::choice(t, options.len()) else {
        let n = options.len();
        *stage = Stage::Choosing { specialty, options };
        return (
            format!("No entendí la opción. Responda con un número del 1 al {n}."),
            Effect::None,
        );
    };
    match calendar.book(customer, options[i]) {
        Some(a) => {
            let msg = format!(
                "✅ Cita confirmada para {} a las {} con {}\nPara cancelarla, escriba \"cancelar\".",
                date(a.slot.date),
                a.slot.time.format("%H:%M"),
                a.slot.doctor().name
            );
            (msg, Effect::Booked(a))
        }
        None => {
            let (msg, effect) = book(stage, calendar, specialty, Some(options[i].date), now);
            (
                format!("Ese horario acaba de ser reservado por otra persona. {msg}"),
                effect,
            )
        }
    }
}

fn cancel(stage: &mut Stage, calendar: &mut Calendar, customer: &str) -> (String, Effect) {
    let ids: Vec<u64> = calendar
        .of_customer(customer)
        .iter()
        .map(|a| a.id)
        .collect();
    match ids.as_slice() {
        [] => ("No tiene citas programadas.".to_string(), Effect::None),
        [id] => cancel_one(calendar, *id),
        _ => {
            let mut msg = "¿Qué cita desea cancelar?\n".to_string();
            for (i, a) in calendar.of_customer(customer).iter().enumerate() {
                msg.push_str(&format!("{}. {}\n", i + 1, describe(a)));
            }
            msg.push_str("Responda con el número.");
            *stage = Stage::ChoosingCancel { ids };
            (msg, Effect::None)
        }
    }
}

fn choose_cancel(
    stage: &mut Stage,
    calendar: &mut Calendar,
    t: &str,
    ids: Vec<u64>,
) -> (String, Effect) {
    match nlu::choice(t, ids.len()) {
        Some(i) => cancel_one(calendar, ids[i]),
        None => {
            let n = ids.len();
            *stage = Stage::ChoosingCancel { ids };
            (
                format!("No entendí la opción. Responda con un número del 1 al {n}."),
                Effect::None,
            )
        }
    }
}

fn cancel_one(calendar: &mut Calendar, id: u64) -> (String, Effect) {
    match calendar.cancel(id) {
        Some(a) => (
            format!("❌ Cita cancelada: {}.", describe(&a)),
            Effect::Cancelled(a),
        ),
        None => ("Esa cita ya no existe.".to_string(), Effect::None),
    }
}

fn list(calendar: &Calendar, customer: &str) -> String {
    let list = calendar.of_customer(customer);
    if list.is_empty() {
        return "No tiene citas programadas.".to_string();
    }
    let mut msg = "Sus citas:\n".to_string();
    for (i, a) in list.iter().enumerate() {
        msg.push_str(&format!("{}. {}\n", i + 1, describe(a)));
    }
    msg.trim_end().to_string()
}

fn describe(a: &Appointment) -> String {
    format!(
        "{} a las {} — {} con {}",
        long_date(a.slot.date),
        a.slot.time.format("%H:%M"),
        a.slot.doctor().specialty,
        a.slot.doctor().name
    )
}

/// `24/11/2026`.
pub fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// `martes 24/11/2026`.
fn long_date(d: NaiveDate) -> String {
    format!("{} {}", nlu::weekday_name(d), date(d))
}

/// Drops the state of `customer` when their conversation is over ([`Stage::Idle`], the
/// default): the map holds only open conversations (it grew with every customer ever seen —
/// found by benches/soak.sh).
pub fn forget_if_idle(
    conversations: &mut std::collections::HashMap<String, Stage>,
    customer: &str,
) {
    if matches!(conversations.get(customer), Some(Stage::Idle)) {
        conversations.remove(customer);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_finished_conversation_is_forgotten_an_open_one_kept() {
        let mut map = std::collections::HashMap::new();
        map.insert("a".to_string(), Stage::Idle);
        map.insert(
            "b".to_string(),
            Stage::NeedDay {
                specialty: "cardiología",
            },
        );
        forget_if_idle(&mut map, "a");
        forget_if_idle(&mut map, "b");
        assert!(!map.contains_key("a"));
        assert!(map.contains_key("b"));
    }

    /// Sunday 22/11/2026, 12:00.
    pub(crate) fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 22)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    }

    struct Chat {
        stage: Stage,
        cal: Calendar,
    }

    impl Chat {
        fn new() -> Self {
            Self {
                stage: Stage::default(),
                cal: Calendar::default(),
            }
        }
        fn say(&mut self, who: &str, text: &str) -> (String, Effect) {
            respond(&mut self.stage, &mut self.cal, who, text, now())
        }
    }

    #[test]
    fn plan_000_booking_flow_intent_availability_appointment_confirmation() {
        let mut c = Chat::new();
        let (offer, _) = c.say("A", "Necesito una cita con cardiología para mañana");
        assert!(offer.starts_with("Horarios disponibles de cardiología para el lunes 23/11/2026:\n1. 09:00 con Dra. Ana Pérez\n"), "{offer}");
        let (confirm, effect) = c.say("A", "1");
        assert!(
            confirm
                .starts_with("✅ Cita confirmada para 23/11/2026 a las 09:00 con Dra. Ana Pérez"),
            "{confirm}"
        );
        assert!(matches!(effect, Effect::Booked(ref a) if a.customer == "A"));
        assert_eq!(c.stage, Stage::Idle);
    }

    #[test]
    fn asks_for_what_is_missing_multi_turn() {
        let mut c = Chat::new();
        assert_eq!(c.say("A", "Quiero pedir una cita").0, ASK_SPECIALTY);
        let (ask_day, _) = c.say("A", "dermatología");
        assert!(
            ask_day.starts_with("¿Para qué día desea la cita de dermatología?"),
            "{ask_day}"
        );
        let (offer, _) = c.say("A", "el martes");
        assert!(offer.contains("martes 24/11/2026"), "{offer}");
        let (retry, _) = c.say("A", "no sé");
        assert_eq!(
            retry,
            "No entendí la opción. Responda con un número del 1 al 3."
        );
        let (confirm, _) = c.say("A", "la segunda");
        assert!(
            confirm.contains("24/11/2026 a las 09:00 con Dr. Pablo Núñez"),
            "{confirm}"
        );
    }

    #[test]
    fn list_and_cancel() {
        let mut c = Chat::new();
        assert_eq!(c.say("A", "mis citas").0, "No tiene citas programadas.");
        c.say("A", "cita de pediatría para el lunes");
        c.say("A", "1");
        c.say("A", "cita de pediatría para el martes");
        c.say("A", "1");
        let (list, _) = c.say("A", "mis citas");
        assert_eq!(list.lines().count(), 3, "{list}");
        let (which, _) = c.say("A", "cancelar");
        assert!(which.starts_with("¿Qué cita desea cancelar?"), "{which}");
        let (done, effect) = c.say("A", "2");
        assert!(
            done.starts_with("❌ Cita cancelada: martes 24/11/2026"),
            "{done}"
        );
        assert!(matches!(effect, Effect::Cancelled(_)));
        let (done, _) = c.say("A", "cancelar");
        assert!(
            done.starts_with("❌ Cita cancelada: lunes 23/11/2026"),
            "{done}"
        );
        assert!(c.cal.is_empty());
    }

    #[test]
    fn customers_do_not_see_each_others_bookings_and_slots_are_not_double_booked() {
        let mut c = Chat::new();
        let (offer_a, _) = c.say("A", "cita con cardiología mañana");
        let mut other = Stage::default();
        let (offer_b, _) = respond(
            &mut other,
            &mut c.cal,
            "B",
            "cita con cardiología mañana",
            now(),
        );
        assert_eq!(offer_a, offer_b, "same free slots offered to both");
        c.say("A", "1");
        let (b_reply, effect) = respond(&mut other, &mut c.cal, "B", "1", now());
        assert!(
            b_reply.starts_with("Ese horario acaba de ser reservado"),
            "{b_reply}"
        );
        assert_eq!(effect, Effect::None);
        assert_eq!(c.say("B", "mis citas").0, "No tiene citas programadas.");
    }

    #[test]
    fn greeting_and_unknown_get_the_menu_and_a_new_intent_interrupts_a_question() {
        let mut c = Chat::new();
        assert_eq!(c.say("A", "Hola").0, MENU);
        assert_eq!(c.say("A", "qué tiempo hace").0, MENU);
        c.say("A", "cita con cardiología mañana");
        assert_eq!(c.say("A", "mis citas").0, "No tiene citas programadas.");
        assert_eq!(c.stage, Stage::Idle);
    }

    #[test]
    fn weekend_request_offers_the_next_working_day() {
        let mut c = Chat::new();
        let (offer, _) = c.say("A", "cita de traumatología para el sábado");
        assert!(offer.starts_with("No quedan horarios de traumatología para el sábado 28/11/2026. Horarios disponibles de traumatología para el lunes 30/11/2026"), "{offer}");
    }
}
