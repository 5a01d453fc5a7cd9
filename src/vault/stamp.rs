//! When something happened, as the vault records it: a UTC time to the second, written
//! RFC 3339 (`2026-11-26T17:43:06Z`) in the vault's JSON and everywhere it is shown.
//!
//! Parsed once, when the vault is read: a date the vault cannot hold (not RFC 3339, before
//! 1970) makes the vault unreadable like any other malformed field, instead of turning up
//! later as a string `check` cannot compare. Held as a number, it costs 8 bytes where the
//! text cost a 24-byte `String` and its 20-byte allocation (a 10,000-variable vault holds
//! 20,000 of them), and dates compare as numbers.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC time to the second, from 1970 on.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(u64);

impl Stamp {
    /// Now, to the second.
    pub fn now() -> Stamp {
        Stamp::from_system(SystemTime::now())
    }

    /// `time`, to the second (a time before 1970 becomes 1970).
    pub fn from_system(time: SystemTime) -> Stamp {
        Stamp(
            time.duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs()),
        )
    }

    /// The same moment as a `SystemTime`.
    pub fn to_system(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0)
    }

    /// How long before `now` this was (zero for a time after `now`).
    pub fn age(self, now: SystemTime) -> Duration {
        now.duration_since(self.to_system()).unwrap_or_default()
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        humantime::format_rfc3339_seconds(self.to_system()).fmt(f)
    }
}

impl fmt::Debug for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a date was refused (the text is not quoted: it is not secret, but it may be long).
#[derive(Debug, PartialEq, Eq)]
pub struct BadStamp;

impl fmt::Display for BadStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date written like 2026-11-26T17:43:06Z (RFC 3339, UTC)")
    }
}

impl FromStr for Stamp {
    type Err = BadStamp;

    /// RFC 3339 in UTC (`Z`); fractions of a second are dropped.
    fn from_str(text: &str) -> Result<Stamp, BadStamp> {
        humantime::parse_rfc3339(text)
            .map(Stamp::from_system)
            .map_err(|_| BadStamp)
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Stamp, D::Error> {
        struct StampVisitor;
        impl Visitor<'_> for StampVisitor {
            type Value = Stamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&BadStamp, f)
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Stamp, E> {
                text.parse()
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
            }
        }
        d.deserialize_str(StampVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_the_vaults_spelling() {
        let stamp: Stamp = "2026-11-26T17:43:06Z".parse().unwrap();
        assert_eq!(stamp.to_string(), "2026-11-26T17:43:06Z");
        assert_eq!(
            serde_json::to_string(&stamp).unwrap(),
            "\"2026-11-26T17:43:06Z\""
        );
        let back: Stamp = serde_json::from_str("\"2026-11-26T17:43:06Z\"").unwrap();
        assert_eq!(back, stamp);
        // Fractions of a second are dropped, as envgen never wrote them.
        assert_eq!("2026-11-26T17:43:06.75Z".parse::<Stamp>().unwrap(), stamp);
    }

    #[test]
    fn refuses_what_is_not_an_rfc_3339_utc_date() {
        for bad in [
            "",
            "yesterday",
            "2026-11-26",
            "2026-13-01T00:00:00Z",
            "2026-11-26 17:43:06",
            "1969-12-31T23:59:59Z",
            "2026-11-26T17:43:06Z ",
        ] {
            assert_eq!(bad.parse::<Stamp>(), Err(BadStamp), "{bad:?}");
        }
        let err = serde_json::from_str::<Stamp>("\"soon\"").unwrap_err();
        assert!(err.to_string().contains("RFC 3339"), "{err}");
        assert!(serde_json::from_str::<Stamp>("1764179000").is_err());
    }

    #[test]
    fn orders_and_measures_like_the_clock() {
        let earlier: Stamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let later: Stamp = "2026-01-02T00:00:00Z".parse().unwrap();
        assert!(earlier < later);
        assert_eq!(earlier.age(later.to_system()), Duration::from_secs(86_400));
        assert_eq!(later.age(earlier.to_system()), Duration::ZERO);
        let now = Stamp::now();
        assert_eq!(Stamp::from_system(now.to_system()), now);
    }
}
