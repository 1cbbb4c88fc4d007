//! A person's time zone: an IANA zone name (tzdb, as shipped in `chrono-tz`), sent to relying
//! parties as the OIDC `zoneinfo` claim (OIDC Core §5.1) and used to show times on their pages.

use chrono::{NaiveDateTime, TimeZone as _};
use chrono_tz::{OffsetName, Tz, TZ_VARIANTS};

/// A valid IANA time zone. Parsed at the edge; what is stored and sent is its canonical spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

/// Regions whose zones the profile page offers; the rest of tzdb (`Etc/GMT+3`, `US/Eastern`,
/// `EST5EDT`) are aliases and legacy names, still accepted when they come in.
const REGIONS: [&str; 10] = [
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
];

impl TimeZone {
    /// A zone from its IANA name, exactly as tzdb spells it (`Europe/Berlin`).
    pub fn parse(name: &str) -> Option<TimeZone> {
        name.parse::<Tz>().ok().map(TimeZone)
    }

    /// A stored value: missing, empty or no longer valid all mean "not set". Values saved before
    /// zones were checked (free text) must not break pages or claims.
    pub fn from_stored(stored: Option<&str>) -> Option<TimeZone> {
        stored.and_then(TimeZone::parse)
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The zone names a person chooses from, sorted.
    pub fn offered() -> Vec<&'static str> {
        let mut names: Vec<&'static str> = TZ_VARIANTS
            .iter()
            .map(|tz| tz.name())
            .filter(|name| {
                name.split_once('/')
                    .is_some_and(|(region, _)| REGIONS.contains(&region))
            })
            .collect();
        names.sort_unstable();
        names
    }
}

/// A UTC time as a person reads it: in their zone with its abbreviation (`2026-12-02 09:14 CET`),
/// or, where tzdb has no letters for it, with the offset and the zone name
/// (`2026-12-02 11:14 +03 Europe/Istanbul`); in UTC when they chose no zone.
pub fn display_time(utc: NaiveDateTime, zone: Option<TimeZone>) -> String {
    let Some(TimeZone(tz)) = zone else {
        return utc.format("%Y-%m-%d %H:%M UTC").to_string();
    };
    let local = tz.from_utc_datetime(&utc);
    let offset = local.offset();
    let stamp = local.format("%Y-%m-%d %H:%M");
    match offset.abbreviation() {
        Some(abbr) if abbr.chars().all(|c| c.is_ascii_alphabetic()) => format!("{stamp} {abbr}"),
        _ => format!("{stamp} {offset} {}", tz.name()),
    }
}

/// The calendar day of a UTC time in a person's zone (`2026-12-02`).
pub fn display_date(utc: NaiveDateTime, zone: Option<TimeZone>) -> String {
    match zone {
        Some(TimeZone(tz)) => tz.from_utc_datetime(&utc).format("%Y-%m-%d").to_string(),
        None => utc.format("%Y-%m-%d").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn only_real_zone_names_parse() {
        assert_eq!(
            TimeZone::parse("Europe/Berlin").map(TimeZone::name),
            Some("Europe/Berlin")
        );
        assert_eq!(
            TimeZone::parse("America/Argentina/Buenos_Aires").map(TimeZone::name),
            Some("America/Argentina/Buenos_Aires")
        );
        assert_eq!(TimeZone::parse("UTC").map(TimeZone::name), Some("UTC"));
        for bad in [
            "Mars/Olympus",
            "europe/berlin",
            "Europe//Berlin",
            "",
            " Europe/Berlin",
            "<script>",
            "+01:00",
        ] {
            assert!(TimeZone::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn invalid_stored_values_count_as_unset() {
        assert_eq!(TimeZone::from_stored(Some("Mars/Olympus")), None);
        assert_eq!(TimeZone::from_stored(None), None);
        assert!(TimeZone::from_stored(Some("Asia/Tokyo")).is_some());
    }

    #[test]
    fn the_offered_list_is_regional_sorted_and_parses() {
        let offered = TimeZone::offered();
        assert!(offered.contains(&"Europe/Berlin") && offered.contains(&"Pacific/Auckland"));
        assert!(!offered.contains(&"US/Eastern") && !offered.contains(&"Etc/GMT+3"));
        assert!(offered.windows(2).all(|w| w[0] < w[1]));
        assert!(offered.iter().all(|name| TimeZone::parse(name).is_some()));
    }

    #[test]
    fn times_show_in_the_zone_on_both_sides_of_daylight_saving() {
        let berlin = TimeZone::parse("Europe/Berlin");
        // Winter: CET is UTC+1.
        assert_eq!(
            display_time(utc(2026, 12, 2, 8, 14), berlin),
            "2026-12-02 09:14 CET"
        );
        // Summer: CEST is UTC+2.
        assert_eq!(
            display_time(utc(2026, 7, 2, 8, 14), berlin),
            "2026-07-02 10:14 CEST"
        );
        // Either side of the switch on 2026-03-29 at 01:00 UTC.
        assert_eq!(
            display_time(utc(2026, 3, 29, 0, 59), berlin),
            "2026-03-29 01:59 CET"
        );
        assert_eq!(
            display_time(utc(2026, 3, 29, 1, 0), berlin),
            "2026-03-29 03:00 CEST"
        );
        let new_york = TimeZone::parse("America/New_York");
        assert_eq!(
            display_time(utc(2026, 1, 15, 3, 30), new_york),
            "2026-01-14 22:30 EST"
        );
        assert_eq!(
            display_time(utc(2026, 6, 15, 3, 30), new_york),
            "2026-06-14 23:30 EDT"
        );
    }

    #[test]
    fn zones_without_letters_show_offset_and_name() {
        let istanbul = TimeZone::parse("Europe/Istanbul");
        assert_eq!(
            display_time(utc(2026, 12, 2, 8, 14), istanbul),
            "2026-12-02 11:14 +03 Europe/Istanbul"
        );
    }

    #[test]
    fn no_zone_means_utc() {
        assert_eq!(
            display_time(utc(2026, 12, 2, 8, 14), None),
            "2026-12-02 08:14 UTC"
        );
        assert_eq!(display_date(utc(2026, 12, 2, 23, 30), None), "2026-12-02");
        assert_eq!(
            display_date(utc(2026, 12, 2, 23, 30), TimeZone::parse("Asia/Tokyo")),
            "2026-12-03"
        );
    }
}
