//! The clinic's in-memory calendar: doctors, free slots, appointments. Pure data; one per
//! tenant (instance or phone-number-id), so tenants never see each other's bookings.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doctor {
    pub name: &'static str,
    pub specialty: &'static str,
}

/// The clinic's doctors (two per specialty, so a day has 2 × 14 slots per specialty).
pub const DOCTORS: &[Doctor] = &[
    Doctor {
        name: "Dra. Ana Pérez",
        specialty: "cardiología",
    },
    Doctor {
        name: "Dr. Luis Gómez",
        specialty: "cardiología",
    },
    Doctor {
        name: "Dra. María Ruiz",
        specialty: "dermatología",
    },
    Doctor {
        name: "Dr. Pablo Núñez",
        specialty: "dermatología",
    },
    Doctor {
        name: "Dr. Carlos Díaz",
        specialty: "pediatría",
    },
    Doctor {
        name: "Dra. Elena Vidal",
        specialty: "pediatría",
    },
    Doctor {
        name: "Dra. Sofía Torres",
        specialty: "medicina general",
    },
    Doctor {
        name: "Dr. Andrés Rojas",
        specialty: "medicina general",
    },
    Doctor {
        name: "Dr. Jorge Castro",
        specialty: "traumatología",
    },
    Doctor {
        name: "Dra. Lucía Méndez",
        specialty: "traumatología",
    },
    Doctor {
        name: "Dra. Carmen Soto",
        specialty: "ginecología",
    },
    Doctor {
        name: "Dra. Julia Herrera",
        specialty: "ginecología",
    },
];

/// Consultation start times: 09:00–12:30 and 15:00–17:30, every 30 minutes, Monday to Friday.
fn day_times() -> impl Iterator<Item = NaiveTime> {
    let morning = (0..8).map(|i| 9 * 60 + i * 30);
    let afternoon = (0..6).map(|i| 15 * 60 + i * 30);
    morning
        .chain(afternoon)
        .filter_map(|m| NaiveTime::from_hms_opt(m / 60, m % 60, 0))
}

/// How far ahead the clinic looks for a free day.
const HORIZON_DAYS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    pub date: NaiveDate,
    pub time: NaiveTime,
    /// Index into [`DOCTORS`].
    pub doctor: usize,
}

impl Slot {
    pub fn doctor(&self) -> &'static Doctor {
        &DOCTORS[self.doctor]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    pub id: u64,
    pub customer: String,
    pub slot: Slot,
}

#[derive(Debug, Default, Clone)]
pub struct Calendar {
    taken: HashSet<Slot>,
    appointments: BTreeMap<u64, Appointment>,
    next_id: u64,
}

impl Calendar {
    /// Free slots of `specialty` on `date` after `now`, earliest first, at most `limit`.
    pub fn free_slots(
        &self,
        specialty: &str,
        date: NaiveDate,
        now: NaiveDateTime,
        limit: usize,
    ) -> Vec<Slot> {
        if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for time in day_times() {
            if date.and_time(time) <= now {
                continue;
            }
            for (doctor, d) in DOCTORS.iter().enumerate() {
                let slot = Slot { date, time, doctor };
                if d.specialty == specialty && !self.taken.contains(&slot) {
                    out.push(slot);
                    if out.len() == limit {
                        return out;
                    }
                }
            }
        }
        out
    }

    /// The first day from `from` (inclusive) with free slots of `specialty`, within the horizon.
    pub fn first_free_day(
        &self,
        specialty: &str,
        from: NaiveDate,
        now: NaiveDateTime,
        limit: usize,
    ) -> Option<(NaiveDate, Vec<Slot>)> {
        (0..HORIZON_DAYS)
            .map(|i| from + Duration::days(i))
            .find_map(|date| {
                let slots = self.free_slots(specialty, date, now, limit);
                (!slots.is_empty()).then_some((date, slots))
            })
    }

    /// Books `slot` for `customer`; `None` when it was taken meanwhile.
    pub fn book(&mut self, customer: &str, slot: Slot) -> Option<Appointment> {
        if !self.taken.insert(slot) {
            return None;
        }
        self.next_id += 1;
        let appointment = Appointment {
            id: self.next_id,
            customer: customer.to_string(),
            slot,
        };
        self.appointments
            .insert(appointment.id, appointment.clone());
        Some(appointment)
    }

    /// Cancels appointment `id`, freeing its slot.
    pub fn cancel(&mut self, id: u64) -> Option<Appointment> {
        let appointment = self.appointments.remove(&id)?;
        self.taken.remove(&appointment.slot);
        Some(appointment)
    }

    /// The customer's appointments, earliest first.
    pub fn of_customer(&self, customer: &str) -> Vec<&Appointment> {
        let mut list: Vec<&Appointment> = self
            .appointments
            .values()
            .filter(|a| a.customer == customer)
            .collect();
        list.sort_by_key(|a| a.slot);
        list
    }

    /// Every appointment, by id.
    pub fn all(&self) -> impl Iterator<Item = &Appointment> {
        self.appointments.values()
    }

    pub fn len(&self) -> usize {
        self.appointments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.appointments.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }
    fn sunday_noon() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 22)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    }

    #[test]
    fn offers_earliest_slots_of_the_specialty_only() {
        let cal = Calendar::default();
        let slots = cal.free_slots("cardiología", monday(), sunday_noon(), 3);
        assert_eq!(slots.len(), 3);
        assert!(slots.iter().all(|s| s.doctor().specialty == "cardiología"));
        assert_eq!(slots[0].time, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        assert_eq!(slots[2].time, NaiveTime::from_hms_opt(9, 30, 0).unwrap());
        assert!(
            cal.free_slots("cardiología", sunday_noon().date(), sunday_noon(), 3)
                .is_empty(),
            "closed on Sunday"
        );
    }

    #[test]
    fn past_times_of_today_are_not_offered() {
        let cal = Calendar::default();
        let now = monday().and_hms_opt(16, 10, 0).unwrap();
        let slots = cal.free_slots("pediatría", monday(), now, 100);
        assert!(slots.iter().all(|s| s.time > now.time()));
        assert_eq!(slots.len(), 2 * 3, "16:30, 17:00, 17:30 for two doctors");
    }

    #[test]
    fn booking_takes_the_slot_and_cancel_frees_it() {
        let mut cal = Calendar::default();
        let slot = cal.free_slots("cardiología", monday(), sunday_noon(), 1)[0];
        let a = cal.book("5511999", slot).unwrap();
        assert!(
            cal.book("5511888", slot).is_none(),
            "double booking refused"
        );
        assert_ne!(
            cal.free_slots("cardiología", monday(), sunday_noon(), 1)[0],
            slot
        );
        assert_eq!(cal.of_customer("5511999").len(), 1);
        assert!(cal.of_customer("5511888").is_empty());
        assert_eq!(cal.cancel(a.id).map(|x| x.slot), Some(slot));
        assert!(cal.is_empty());
        assert_eq!(
            cal.free_slots("cardiología", monday(), sunday_noon(), 1)[0],
            slot
        );
    }

    #[test]
    fn a_full_day_moves_to_the_next_free_one() {
        let mut cal = Calendar::default();
        for s in cal.free_slots("ginecología", monday(), sunday_noon(), 100) {
            cal.book("x", s);
        }
        let (day, slots) = cal
            .first_free_day("ginecología", monday(), sunday_noon(), 3)
            .unwrap();
        assert_eq!(day, monday().succ_opt().unwrap());
        assert_eq!(slots.len(), 3);
    }
}
