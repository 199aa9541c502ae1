//! Understanding a customer's Spanish message: intent, medical specialty, day, slot choice.
//!
//! Deliberately simple and deterministic (keyword rules over accent-free lower-case text):
//! the reference app exists to exercise the harness, and a test must know what it will say.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// What the customer wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Book,
    Cancel,
    List,
    Greeting,
    Unknown,
}

/// Lower-case, accents removed, punctuation turned into spaces, single-spaced.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            c if c.is_alphanumeric() || c == '/' || c == ':' => c,
            _ => ' ',
        };
        out.push(c);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn has_word(text: &str, words: &[&str]) -> bool {
    text.split(' ')
        .any(|w| words.iter().any(|k| w.starts_with(k)))
}

/// The intent of a normalized message.
pub fn intent(text: &str) -> Intent {
    if has_word(text, &["cancel", "anul"]) {
        Intent::Cancel
    } else if text.contains("mis citas")
        || text.contains("mis turnos")
        || has_word(text, &["listar", "consultar"])
    {
        Intent::List
    } else if has_word(text, &["cita", "turno", "agend", "reserv", "consulta"])
        || text.contains("pedir hora")
    {
        Intent::Book
    } else if has_word(text, &["hola", "buenas", "buenos", "menu", "ayuda"]) {
        Intent::Greeting
    } else {
        Intent::Unknown
    }
}

/// Specialties the clinic offers: (canonical name, keyword stems).
pub const SPECIALTIES: &[(&str, &[&str])] = &[
    ("cardiología", &["cardio", "corazon"]),
    ("dermatología", &["dermat", "piel"]),
    ("pediatría", &["pediat", "nino", "nina"]),
    (
        "medicina general",
        &["general", "medico de cabecera", "clinico"],
    ),
    ("traumatología", &["trauma", "hueso", "fractura"]),
    ("ginecología", &["gineco"]),
];

/// The specialty named in a normalized message, canonical name.
pub fn specialty(text: &str) -> Option<&'static str> {
    SPECIALTIES
        .iter()
        .find(|(_, stems)| stems.iter().any(|s| text.contains(s)))
        .map(|(name, _)| *name)
}

const WEEKDAYS: &[(&str, Weekday)] = &[
    ("lunes", Weekday::Mon),
    ("martes", Weekday::Tue),
    ("miercoles", Weekday::Wed),
    ("jueves", Weekday::Thu),
    ("viernes", Weekday::Fri),
    ("sabado", Weekday::Sat),
    ("domingo", Weekday::Sun),
];

const MONTHS: &[&str] = &[
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

/// The day named in a normalized message, relative to `today`: hoy, mañana, pasado mañana,
/// a weekday (the next one, today excluded), `15/12[/2026]`, `15 de diciembre`.
pub fn day(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    if text.contains("pasado manana") {
        return Some(today + Duration::days(2));
    }
    let words: Vec<&str> = text.split(' ').collect();
    // "mañana" as a day, not "por la mañana" (the morning).
    let tomorrow = words
        .iter()
        .enumerate()
        .any(|(i, w)| *w == "manana" && (i == 0 || words[i - 1] != "la"));
    if tomorrow {
        return Some(today + Duration::days(1));
    }
    if words.contains(&"hoy") {
        return Some(today);
    }
    if let Some(&(_, wd)) = WEEKDAYS.iter().find(|(name, _)| words.contains(name)) {
        let ahead = (7 + wd.num_days_from_monday() as i64
            - today.weekday().num_days_from_monday() as i64)
            % 7;
        return Some(today + Duration::days(if ahead == 0 { 7 } else { ahead }));
    }
    numeric_date(&words, today).or_else(|| spelled_date(&words, today))
}

/// `15/12` or `15/12/2026`: the next such date from today.
fn numeric_date(words: &[&str], today: NaiveDate) -> Option<NaiveDate> {
    words.iter().find_map(|w| {
        let parts: Vec<&str> = w.split('/').collect();
        match parts.as_slice() {
            [d, m] => upcoming(d.parse().ok()?, m.parse().ok()?, today),
            [d, m, y] => {
                let y: i32 = y.parse().ok()?;
                NaiveDate::from_ymd_opt(
                    if y < 100 { 2000 + y } else { y },
                    m.parse().ok()?,
                    d.parse().ok()?,
                )
            }
            _ => None,
        }
    })
}

/// `15 de diciembre`.
fn spelled_date(words: &[&str], today: NaiveDate) -> Option<NaiveDate> {
    words.windows(3).find_map(|w| {
        let d: u32 = w[0].parse().ok()?;
        let m = MONTHS.iter().position(|name| *name == w[2])? as u32 + 1;
        (w[1] == "de").then_some(())?;
        upcoming(d, m, today)
    })
}

fn upcoming(d: u32, m: u32, today: NaiveDate) -> Option<NaiveDate> {
    let this_year = NaiveDate::from_ymd_opt(today.year(), m, d)?;
    if this_year >= today {
        Some(this_year)
    } else {
        NaiveDate::from_ymd_opt(today.year() + 1, m, d)
    }
}

/// The option chosen from a numbered list of `count`: `2`, `la 2`, `opcion 2`, `segunda`.
pub fn choice(text: &str, count: usize) -> Option<usize> {
    const ORDINALS: &[&str] = &["primer", "segund", "tercer", "cuart", "quint"];
    let n = text
        .split(' ')
        .find_map(|w| w.parse::<usize>().ok())
        .or_else(|| {
            text.split(' ').find_map(|w| {
                ORDINALS
                    .iter()
                    .position(|o| w.starts_with(o))
                    .map(|i| i + 1)
            })
        })?;
    (1..=count).contains(&n).then(|| n - 1)
}

/// Spanish weekday name of a date.
pub fn weekday_name(date: NaiveDate) -> &'static str {
    [
        "lunes",
        "martes",
        "miércoles",
        "jueves",
        "viernes",
        "sábado",
        "domingo",
    ][date.weekday().num_days_from_monday() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    // 2026-11-22 is a Sunday.
    const TODAY: (i32, u32, u32) = (2026, 11, 22);
    fn today() -> NaiveDate {
        d(TODAY.0, TODAY.1, TODAY.2)
    }

    #[test]
    fn normalizes_accents_case_and_punctuation() {
        assert_eq!(
            normalize("¡Necesito una cita con CARDIOLOGÍA para mañana!"),
            "necesito una cita con cardiologia para manana"
        );
    }

    #[test]
    fn plan_000_message_is_a_booking_for_cardiology_tomorrow() {
        let t = normalize("Necesito una cita con cardiología para mañana");
        assert_eq!(intent(&t), Intent::Book);
        assert_eq!(specialty(&t), Some("cardiología"));
        assert_eq!(day(&t, today()), Some(d(2026, 11, 23)));
    }

    #[test]
    fn intents() {
        assert_eq!(
            intent(&normalize("Quiero cancelar mi cita")),
            Intent::Cancel
        );
        assert_eq!(intent(&normalize("¿Cuáles son mis citas?")), Intent::List);
        assert_eq!(intent(&normalize("Hola")), Intent::Greeting);
        assert_eq!(intent(&normalize("quiero agendar un turno")), Intent::Book);
        assert_eq!(intent(&normalize("el clima")), Intent::Unknown);
    }

    #[test]
    fn days() {
        let t = today();
        assert_eq!(day("hoy", t), Some(t));
        assert_eq!(day("pasado manana", t), Some(d(2026, 11, 24)));
        assert_eq!(day("el lunes", t), Some(d(2026, 11, 23)));
        assert_eq!(
            day("el domingo", t),
            Some(d(2026, 11, 29)),
            "today's weekday means next week"
        );
        assert_eq!(day("el 15/12", t), Some(d(2026, 12, 15)));
        assert_eq!(
            day("el 3/1", t),
            Some(d(2027, 1, 3)),
            "a past date means next year"
        );
        assert_eq!(day("1/2/27", t), Some(d(2027, 2, 1)));
        assert_eq!(day("el 15 de diciembre", t), Some(d(2026, 12, 15)));
        assert_eq!(day("por la manana", t), None);
        assert_eq!(day("31/02", t), None);
    }

    #[test]
    fn choices() {
        assert_eq!(choice("2", 3), Some(1));
        assert_eq!(choice("la opcion 3", 3), Some(2));
        assert_eq!(choice("la primera", 3), Some(0));
        assert_eq!(choice("4", 3), None);
        assert_eq!(choice("no se", 3), None);
    }
}
