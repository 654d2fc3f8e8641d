//! The care file (`config/care.yaml`, or `CARE_RULES`): business hours in the bank's calendar,
//! when a waiting customer is told when to expect a person, and the targets per category.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

use super::CATEGORIES;

/// The care file teller ships with.
pub const DEFAULT_CARE: &str = include_str!("../../../config/care.yaml");

/// How fast the bank promises to answer and resolve one category of ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// An agent's first answer within this many minutes of the ticket opening.
    pub first_response_minutes: u32,
    /// Closed within this many hours.
    pub resolution_hours: u32,
}

/// The care rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareRules {
    /// Opening and closing time per weekday (Monday first); `None` when closed.
    pub hours: [Option<(NaiveTime, NaiveTime)>; 7],
    /// A waiting customer is told when to expect a person after this many minutes.
    pub tell_waiting_after: Duration,
    /// Targets per category (every category has one).
    pub targets: BTreeMap<String, Target>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    business_hours: BTreeMap<String, Day>,
    tell_waiting_after_minutes: u32,
    targets: BTreeMap<String, Target>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Day {
    Open([String; 2]),
    Closed(String),
}

const DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

impl CareRules {
    /// Reads the care file at `path`, or the shipped one.
    pub fn load(path: Option<&Path>) -> anyhow::Result<CareRules> {
        match path {
            None => CareRules::parse(DEFAULT_CARE).context("the built-in care rules are invalid"),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the care rules in {}", path.display()))?;
                CareRules::parse(&text)
                    .with_context(|| format!("the care rules in {} are invalid", path.display()))
            }
        }
    }

    /// Parses and checks a care file.
    pub fn parse(text: &str) -> anyhow::Result<CareRules> {
        let file: File = marked_yaml::from_yaml(0, text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut hours = [None; 7];
        for (name, day) in &file.business_hours {
            let Some(i) = DAYS.iter().position(|d| d == name) else {
                bail!("business_hours: {name:?} is not a day (monday … sunday)");
            };
            hours[i] = match day {
                Day::Closed(word) if word == "closed" => None,
                Day::Closed(other) => {
                    bail!("business_hours.{name}: [\"08:00\", \"18:00\"] or closed, not {other:?}")
                }
                Day::Open([from, to]) => {
                    let time = |t: &str| {
                        NaiveTime::parse_from_str(t, "%H:%M")
                            .with_context(|| format!("business_hours.{name}: {t:?} is not HH:MM"))
                    };
                    let (from, to) = (time(from)?, time(to)?);
                    if from >= to {
                        bail!("business_hours.{name}: opens at or after it closes");
                    }
                    Some((from, to))
                }
            };
        }
        if DAYS.iter().any(|d| !file.business_hours.contains_key(*d)) {
            bail!("business_hours: every day from monday to sunday, each open or closed");
        }
        if hours.iter().all(Option::is_none) {
            bail!("business_hours: care is never open");
        }
        if !(1..=24 * 60).contains(&file.tell_waiting_after_minutes) {
            bail!("tell_waiting_after_minutes: from 1 to 1440");
        }
        for category in CATEGORIES {
            let Some(target) = file.targets.get(category) else { bail!("targets: {category} has no target") };
            if target.first_response_minutes == 0 || target.resolution_hours == 0 {
                bail!("targets.{category}: more than zero");
            }
        }
        if let Some(unknown) = file.targets.keys().find(|k| !CATEGORIES.contains(&k.as_str())) {
            bail!("targets: {unknown:?} is not a category ({})", CATEGORIES.join(", "));
        }
        Ok(CareRules {
            hours,
            tell_waiting_after: Duration::minutes(i64::from(file.tell_waiting_after_minutes)),
            targets: file.targets,
        })
    }

    /// Category `category`'s target (`other`'s for an unknown one).
    pub fn target(&self, category: &str) -> Target {
        self.targets
            .get(category)
            .or_else(|| self.targets.get("other"))
            .copied()
            .unwrap_or(Target { first_response_minutes: 240, resolution_hours: 72 })
    }

    /// Whether care is open at `at` in `zone`.
    pub fn open_at(&self, at: DateTime<Utc>, zone: Tz) -> bool {
        let local = at.with_timezone(&zone);
        self.hours[local.weekday().num_days_from_monday() as usize]
            .is_some_and(|(from, to)| (from..to).contains(&local.time()))
    }

    /// When care next opens at or after `at` (`at` itself when open).
    pub fn next_open(&self, at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        if self.open_at(at, zone) {
            return at;
        }
        let local = at.with_timezone(&zone);
        for ahead in 0..8 {
            let day = local.date_naive() + Duration::days(ahead);
            let Some((from, _)) = self.hours[day.weekday().num_days_from_monday() as usize] else { continue };
            if let Some(opens) = zone.from_local_datetime(&day.and_time(from)).earliest()
                && opens >= at
            {
                return opens.with_timezone(&Utc);
            }
        }
        at
    }
}

/// `weekday` as customers read it.
pub fn day_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lagos(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Africa::Lagos.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_shipped_rules_open_on_weekdays_and_saturday_mornings() {
        let rules = CareRules::load(None).unwrap();
        let zone = chrono_tz::Africa::Lagos;
        // Friday 4 Dec 2026, 17:59 open; 18:00 closed until Saturday 09:00.
        assert!(rules.open_at(lagos(2026, 12, 4, 17, 59), zone));
        assert!(!rules.open_at(lagos(2026, 12, 4, 18, 0), zone));
        assert_eq!(rules.next_open(lagos(2026, 12, 4, 18, 0), zone), lagos(2026, 12, 5, 9, 0));
        // Saturday 14:00 → Monday 08:00 (closed on Sunday).
        assert_eq!(rules.next_open(lagos(2026, 12, 5, 14, 0), zone), lagos(2026, 12, 7, 8, 0));
        assert_eq!(rules.target("fraud").first_response_minutes, 15);
    }

    #[test]
    fn a_care_file_with_a_mistake_is_refused_with_where() {
        let good = DEFAULT_CARE;
        for (from, to, says) in [
            ("sunday: closed", "sunday: shut", "business_hours.sunday"),
            (
                "  monday: [\"08:00\", \"18:00\"]",
                "  monday: [\"18:00\", \"08:00\"]",
                "opens at or after it closes",
            ),
            ("  monday: [\"08:00\", \"18:00\"]", "  monday: [\"8am\", \"18:00\"]", "is not HH:MM"),
            ("  loan: { first_response_minutes: 240, resolution_hours: 72 }\n", "", "loan has no target"),
            ("tell_waiting_after_minutes: 10", "tell_waiting_after_minutes: 0", "from 1 to 1440"),
        ] {
            assert!(good.contains(from), "{from}");
            let err = format!("{:#}", CareRules::parse(&good.replacen(from, to, 1)).unwrap_err());
            assert!(err.contains(says), "{says}: {err}");
        }
    }
}
