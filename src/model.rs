//! The domain: agreements, amendments, changes, clauses and typed terms.
//!
//! These are plain data types. Every id type validates itself when it is made
//! (from input or from stored bytes), and [`Amendment::validate`] checks the
//! rules that involve several fields, so an `Amendment` that passed it is
//! well-formed on its own; whether it fits an agreement's timeline is the
//! ledger's question (see `projection`).
//!
//! ```
//! use pactum::model::{ClauseId, Date};
//! let d: Date = "2025-01-21".parse().unwrap();
//! assert_eq!(d.to_string(), "2025-01-21");
//! assert!("2025-02-30".parse::<Date>().is_err());
//! assert!(ClauseId::new("compute.exclusivity").is_ok());
//! assert!(ClauseId::new("Compute").is_err());
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::limits::*;

/// A limit with its name, for messages.
macro_rules! lim {
    ($n:ident) => {
        ($n, stringify!($n))
    };
}

// ---------------------------------------------------------------- dates

/// A calendar day (valid time, day precision), `YYYY-MM-DD`, years 1–9999.
///
/// Stored as the `u32` `YYYYMMDD` (e.g. `20250121`); written as text everywhere else.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(jiff::civil::Date);

impl Date {
    /// 0001-01-01, the earliest date.
    pub const FIRST: Date = Date(jiff::civil::date(1, 1, 1));

    /// The date with these parts, if it exists.
    pub fn new(year: i16, month: i8, day: i8) -> Option<Date> {
        if !(YEAR_MIN..=YEAR_MAX).contains(&year) {
            return None;
        }
        jiff::civil::Date::new(year, month, day).ok().map(Date)
    }

    /// The jiff date.
    pub fn civil(self) -> jiff::civil::Date {
        self.0
    }

    /// From a jiff date (refused outside years 1–9999).
    pub fn from_civil(d: jiff::civil::Date) -> Option<Date> {
        Date::new(d.year(), d.month(), d.day())
    }

    /// The packed `YYYYMMDD` form used in stored bytes.
    pub fn packed(self) -> u32 {
        self.0.year() as u32 * 10_000 + self.0.month() as u32 * 100 + self.0.day() as u32
    }

    /// From the packed `YYYYMMDD` form.
    pub fn from_packed(v: u32) -> Option<Date> {
        let year = i16::try_from(v / 10_000).ok()?;
        Date::new(year, ((v / 100) % 100) as i8, (v % 100) as i8)
    }

    /// The day after, if there is one.
    pub fn next(self) -> Option<Date> {
        self.0.tomorrow().ok().and_then(Date::from_civil)
    }

    /// Whether `s` has the shape `DDDD-DD-DD` (a date or a mistaken one).
    pub fn looks_like_date(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 10
            && b.iter().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            self.0.month(),
            self.0.day()
        )
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateError(pub String);

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Date {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Date, DateError> {
        if !Date::looks_like_date(s) {
            return Err(DateError(format!(
                "`{}` is not a date of the form YYYY-MM-DD",
                clip(s)
            )));
        }
        let year: i16 = s[0..4]
            .parse()
            .map_err(|_| DateError(format!("`{s}` has a bad year")))?;
        let month: i8 = s[5..7]
            .parse()
            .map_err(|_| DateError(format!("`{s}` has a bad month")))?;
        let day: i8 = s[8..10]
            .parse()
            .map_err(|_| DateError(format!("`{s}` has a bad day")))?;
        Date::new(year, month, day).ok_or_else(|| DateError(format!("`{s}` is not a real date")))
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_u32(self.packed())
        }
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        if d.is_human_readable() {
            d.deserialize_any(DateVisitor)
        } else {
            let v = u32::deserialize(d)?;
            Date::from_packed(v)
                .ok_or_else(|| de::Error::custom(format!("stored date {v} is not a real date")))
        }
    }
}

struct DateVisitor;

impl<'de> Visitor<'de> for DateVisitor {
    type Value = Date;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date YYYY-MM-DD")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Date, E> {
        v.parse().map_err(|e: DateError| E::custom(e))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Date, A::Error> {
        // A TOML date arrives as toml's own datetime type.
        let dt = toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))?;
        toml_date(&dt).map_err(de::Error::custom)
    }
}

/// A TOML datetime that must be a bare local date.
pub(crate) fn toml_date(dt: &toml::value::Datetime) -> Result<Date, String> {
    match (&dt.date, &dt.time, &dt.offset) {
        (Some(d), None, None) => Date::new(d.year as i16, d.month as i8, d.day as i8)
            .ok_or_else(|| format!("`{dt}` is not a real date")),
        _ => Err(format!(
            "`{dt}` has a time; dates are days, written YYYY-MM-DD"
        )),
    }
}

/// When the ledger recorded an entry: microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordedAt(pub i64);

impl RecordedAt {
    /// From a jiff timestamp (truncated to microseconds).
    pub fn from_timestamp(t: jiff::Timestamp) -> RecordedAt {
        RecordedAt(t.as_microsecond())
    }
    /// The latest time a ledger records: 9999-12-30T22:00:00Z, the
    /// last microsecond jiff's `Timestamp::from_microsecond` takes (its range leaves room for
    /// any UTC offset), so that every recorded time can be formatted and
    /// parsed back (`--known-at`, exports).
    pub const MAX: RecordedAt = RecordedAt(253_402_207_200_000_000);

    /// Whether this time is one a ledger records (1970-01-01T00:00:00Z to
    /// [`RecordedAt::MAX`]).
    pub fn in_range(self) -> bool {
        (0..=RecordedAt::MAX.0).contains(&self.0)
    }

    /// As a jiff timestamp.
    pub fn timestamp(self) -> jiff::Timestamp {
        jiff::Timestamp::from_microsecond(self.0).unwrap_or(jiff::Timestamp::MIN)
    }
    /// The UTC day.
    pub fn date(self) -> Option<Date> {
        Date::from_civil(self.timestamp().to_zoned(jiff::tz::TimeZone::UTC).date())
    }
}

impl fmt::Display for RecordedAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // RFC 3339, UTC, microseconds.
        write!(f, "{}", self.timestamp().strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    }
}

impl fmt::Debug for RecordedAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

// ---------------------------------------------------------------- ids

fn clip(s: &str) -> String {
    if s.len() <= 80 {
        s.to_string()
    } else {
        let mut end = 80;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    }
}

fn is_slug_segment(s: &str, extra: &[u8]) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || extra.contains(c)
        })
}

fn check_slug(s: &str, what: &str, (max, limit): (usize, &str)) -> Result<(), String> {
    if s.len() > max {
        return Err(format!(
            "{what} `{}` is {} bytes, over the limit of {max} bytes ({limit})",
            clip(s),
            s.len()
        ));
    }
    if !is_slug_segment(s, b"") {
        return Err(format!(
            "{what} `{}` must match [a-z0-9][a-z0-9-]{{0,{}}}",
            clip(s),
            max - 1
        ));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident, $what:expr, $check:expr) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps.
            pub fn new(s: impl Into<String>) -> Result<$name, String> {
                let s = s.into();
                let check: fn(&str) -> Result<(), String> = $check;
                check(&s)?;
                Ok($name(s))
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// What this kind of id is called in messages.
            pub const WHAT: &'static str = $what;
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<$name, String> {
                $name::new(s)
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(s).map_err(de::Error::custom)
            }
        }
    };
}

id_type!(
    /// An agreement's slug, e.g. `microsoft-openai`: `[a-z0-9][a-z0-9-]{0,63}`.
    AgreementId, "agreement id", |s| check_slug(s, "agreement id", lim!(AGREEMENT_ID_BYTES_MAX))
);
id_type!(
    /// An amendment's id, unique within its agreement: `[a-z0-9][a-z0-9.-]{0,127}`.
    AmendmentId, "amendment id", |s| {
        if s.len() > AMENDMENT_ID_BYTES_MAX {
            return Err(format!("amendment id `{}` is {} bytes, over the limit of {AMENDMENT_ID_BYTES_MAX} bytes (AMENDMENT_ID_BYTES_MAX)", clip(s), s.len()));
        }
        if !is_slug_segment(s, b".") {
            return Err(format!("amendment id `{}` must match [a-z0-9][a-z0-9.-]{{0,127}}", clip(s)));
        }
        Ok(())
    }
);
id_type!(
    /// A clause id: slug segments joined by `.`, e.g. `compute.exclusivity`, at most 128 bytes.
    ClauseId, "clause id", |s| {
        if s.len() > CLAUSE_ID_BYTES_MAX {
            return Err(format!("clause id `{}` is {} bytes, over the limit of {CLAUSE_ID_BYTES_MAX} bytes (CLAUSE_ID_BYTES_MAX)", clip(s), s.len()));
        }
        if !s.split('.').all(|seg| is_slug_segment(seg, b"")) {
            return Err(format!("clause id `{}` must be [a-z0-9][a-z0-9-]* segments joined by `.`", clip(s)));
        }
        Ok(())
    }
);
id_type!(
    /// An event named by `occur` and `until_event`, e.g. `agi-verified`.
    EventId, "event id", |s| check_slug(s, "event id", lim!(EVENT_ID_BYTES_MAX))
);
id_type!(
    /// A party's id, e.g. `microsoft`.
    PartyId, "party id", |s| check_slug(s, "party id", lim!(PARTY_ID_BYTES_MAX))
);
id_type!(
    /// A term's name: `[a-z][a-z0-9_]{0,63}`, unit last (`commitment_usd`).
    TermName, "term name", |s| {
        if s.len() > TERM_NAME_BYTES_MAX {
            return Err(format!("term name `{}` is {} bytes, over the limit of {TERM_NAME_BYTES_MAX} bytes (TERM_NAME_BYTES_MAX)", clip(s), s.len()));
        }
        let b = s.as_bytes();
        if b.is_empty() || !b[0].is_ascii_lowercase()
            || !b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
        {
            return Err(format!("term name `{}` must match [a-z][a-z0-9_]{{0,63}}", clip(s)));
        }
        Ok(())
    }
);

// ---------------------------------------------------------------- terms

/// A typed term value.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum TermValue {
    /// Text (a text that is a valid `YYYY-MM-DD` is a [`TermValue::Date`] instead).
    Text(String),
    /// A signed 64-bit integer.
    Integer(i64),
    /// A boolean.
    Boolean(bool),
    /// A date.
    Date(Date),
}

impl TermValue {
    /// Text, normalised: a valid date becomes a date; an invalid date-shaped text is refused.
    pub fn from_text(s: &str) -> Result<TermValue, String> {
        if Date::looks_like_date(s) {
            return s.parse().map(TermValue::Date).map_err(|e: DateError| e.0);
        }
        Ok(TermValue::Text(s.to_string()))
    }
}

impl fmt::Display for TermValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TermValue::Text(s) => write!(f, "{s:?}"),
            TermValue::Integer(i) => write!(f, "{i}"),
            TermValue::Boolean(b) => write!(f, "{b}"),
            TermValue::Date(d) => write!(f, "{d}"),
        }
    }
}

#[derive(Serialize, Deserialize)]
enum StoredTermValue {
    Text(String),
    Integer(i64),
    Boolean(bool),
    Date(Date),
}

impl Serialize for TermValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            match self {
                TermValue::Text(t) => s.serialize_str(t),
                TermValue::Integer(i) => s.serialize_i64(*i),
                TermValue::Boolean(b) => s.serialize_bool(*b),
                TermValue::Date(d) => d.serialize(s),
            }
        } else {
            let v = match self {
                TermValue::Text(t) => StoredTermValue::Text(t.clone()),
                TermValue::Integer(i) => StoredTermValue::Integer(*i),
                TermValue::Boolean(b) => StoredTermValue::Boolean(*b),
                TermValue::Date(d) => StoredTermValue::Date(*d),
            };
            v.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for TermValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TermValue, D::Error> {
        if d.is_human_readable() {
            d.deserialize_any(TermVisitor)
        } else {
            Ok(match StoredTermValue::deserialize(d)? {
                StoredTermValue::Text(t) => {
                    // Stored text is never date-shaped: input normalised it.
                    if Date::looks_like_date(&t) {
                        return Err(de::Error::custom(
                            "stored text term is date-shaped (not canonical)",
                        ));
                    }
                    TermValue::Text(t)
                }
                StoredTermValue::Integer(i) => TermValue::Integer(i),
                StoredTermValue::Boolean(b) => TermValue::Boolean(b),
                StoredTermValue::Date(d) => TermValue::Date(d),
            })
        }
    }
}

struct TermVisitor;

impl<'de> Visitor<'de> for TermVisitor {
    type Value = TermValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a term value: text, integer, boolean or date")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<TermValue, E> {
        TermValue::from_text(v).map_err(E::custom)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<TermValue, E> {
        Ok(TermValue::Boolean(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<TermValue, E> {
        Ok(TermValue::Integer(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<TermValue, E> {
        i64::try_from(v).map(TermValue::Integer).map_err(|_| {
            E::custom(format!(
                "integer {v} is larger than the largest term integer (i64)"
            ))
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<TermValue, E> {
        if v.fract() == 0.0 && v.abs() >= 9.2e18 {
            return Err(E::custom(format!(
                "integer {v:e} is out of range: term integers are 64-bit (i64), from {} to {}",
                i64::MIN,
                i64::MAX
            )));
        }
        Err(E::custom(format!(
            "floating-point number {v} is refused: write it as a decimal string such as \"{v}\""
        )))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<TermValue, A::Error> {
        // A TOML date arrives as toml's datetime; any other table is refused by it.
        let dt = toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))
            .map_err(|_| {
                de::Error::custom(
                    "a term value must be text, an integer, a boolean or a date, not a table",
                )
            })?;
        toml_date(&dt)
            .map(TermValue::Date)
            .map_err(de::Error::custom)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _seq: A) -> Result<TermValue, A::Error> {
        Err(de::Error::custom(
            "a term value must be text, an integer, a boolean or a date, not a list",
        ))
    }
    fn visit_unit<E: de::Error>(self) -> Result<TermValue, E> {
        Err(E::custom(
            "a term value must be text, an integer, a boolean or a date, not null",
        ))
    }
}

/// Terms of a clause, by name (ordered, so encodings are canonical).
pub type Terms = BTreeMap<TermName, TermValue>;

// ---------------------------------------------------------------- amendments

/// A party to an agreement.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Party {
    /// Its id, e.g. `microsoft`.
    pub id: PartyId,
    /// Its name, e.g. `Microsoft Corporation`.
    pub name: String,
    /// Its verifier key (product.md §8): when every party of an establish
    /// has one, the agreement is signed.
    ///
    /// Not part of the amendment record's encoding (`serde(skip)`), which
    /// stays that of entry version 1: entry version 2 stores the keys after
    /// the amendment, and `codec::amendment_bytes` appends them (so what a
    /// party signs covers them).
    #[serde(skip)]
    pub key: Option<crate::note::VerifierKey>,
}

/// One change of an amendment.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Change {
    /// Overrides the amendment's effective date for this change.
    pub effective: Option<Date>,
    /// What the change does.
    pub op: Op,
}

/// The seven operations.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Op {
    /// Creates the agreement; only in its first amendment, as its first change.
    Establish {
        /// The agreement's title.
        title: String,
        /// Its parties.
        parties: Vec<Party>,
    },
    /// Adds a clause that is not in force.
    Add {
        /// The clause.
        clause: ClauseId,
        /// Optional heading.
        heading: Option<String>,
        /// The text.
        text: String,
        /// Typed terms.
        terms: Terms,
        /// Last day in force (inclusive).
        until: Option<Date>,
        /// In force until this event occurs.
        until_event: Option<EventId>,
    },
    /// Changes a clause in force.
    Amend {
        /// The clause.
        clause: ClauseId,
        /// New heading.
        heading: Option<String>,
        /// New text.
        text: Option<String>,
        /// Terms to set.
        set: Terms,
        /// Terms to remove.
        unset: Vec<TermName>,
        /// New last day in force.
        until: Option<Date>,
        /// New ending event.
        until_event: Option<EventId>,
    },
    /// Removes a clause in force.
    Repeal {
        /// The clause.
        clause: ClauseId,
    },
    /// An event occurs; clauses waiting for it end.
    Occur {
        /// The event.
        event: EventId,
        /// Optional note.
        note: Option<String>,
    },
    /// Voids an earlier amendment (an erratum).
    Retract {
        /// The amendment retracted.
        amendment: AmendmentId,
        /// Why.
        reason: String,
    },
    /// Ends the agreement.
    Terminate {
        /// Optional note.
        note: Option<String>,
    },
    /// Replaces a party's key for every amendment recorded after this one;
    /// alone in its amendment, with no date of its own (product.md §8).
    Rekey {
        /// The party.
        party: PartyId,
        /// Its new verifier key.
        key: crate::note::VerifierKey,
    },
}

impl Op {
    /// The op's name as written in input (`amend`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Establish { .. } => "establish",
            Op::Add { .. } => "add",
            Op::Amend { .. } => "amend",
            Op::Repeal { .. } => "repeal",
            Op::Occur { .. } => "occur",
            Op::Retract { .. } => "retract",
            Op::Terminate { .. } => "terminate",
            Op::Rekey { .. } => "rekey",
        }
    }

    /// The clause this change is about, if any.
    pub fn clause(&self) -> Option<&ClauseId> {
        match self {
            Op::Add { clause, .. } | Op::Amend { clause, .. } | Op::Repeal { clause } => {
                Some(clause)
            }
            _ => None,
        }
    }

    /// What the change does, in one line: [`Op::describe`] and for `amend`
    /// what it amends, for `establish` the title, for `retract` the reason
    /// (`amend cloud.exclusivity: text, kind = "rofr"`).
    pub fn summary(&self) -> String {
        match self {
            Op::Establish { title, .. } => format!("establish \"{title}\""),
            Op::Add { clause, .. } => format!("add {clause}"),
            Op::Amend {
                clause,
                heading,
                text,
                set,
                unset,
                until,
                until_event,
            } => {
                let mut what = Vec::new();
                if heading.is_some() {
                    what.push("heading".to_string());
                }
                if text.is_some() {
                    what.push("text".to_string());
                }
                for (k, v) in set {
                    what.push(format!("{k} = {v}"));
                }
                for k in unset {
                    what.push(format!("unset {k}"));
                }
                if let Some(u) = until {
                    what.push(format!("until {u}"));
                }
                if let Some(e) = until_event {
                    what.push(format!("until event {e}"));
                }
                format!("amend {clause}: {}", what.join(", "))
            }
            Op::Repeal { clause } => format!("repeal {clause}"),
            Op::Occur { event, .. } => format!("occur {event}"),
            Op::Rekey { party, key } => format!("rekey {party}: {}", key.name()),
            Op::Retract { amendment, reason } => format!("retract {amendment}: {reason}"),
            Op::Terminate { .. } => "terminate".to_string(),
        }
    }

    /// A short description: `amend compute.exclusivity`, `occur agi-verified`.
    pub fn describe(&self) -> String {
        match self {
            Op::Add { clause, .. } | Op::Amend { clause, .. } | Op::Repeal { clause } => {
                format!("{} {clause}", self.name())
            }
            Op::Occur { event, .. } => format!("occur {event}"),
            Op::Retract { amendment, .. } => format!("retract {amendment}"),
            Op::Rekey { party, .. } => format!("rekey {party}"),
            Op::Establish { .. } | Op::Terminate { .. } => self.name().to_string(),
        }
    }
}

/// A dated, atomic set of changes to one agreement.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Amendment {
    /// The agreement changed.
    pub agreement: AgreementId,
    /// Unique within the agreement; the idempotency key.
    pub id: AmendmentId,
    /// A short title.
    pub title: String,
    /// Default effective date of every change; `None` only for a retraction,
    /// which has no date of its own.
    pub effective: Option<Date>,
    /// When the parties executed it.
    pub signed: Option<Date>,
    /// Where the text comes from.
    pub source: Option<String>,
    /// The changes, in order.
    pub changes: Vec<Change>,
}

/// A rule of [`Amendment::validate`] that failed: which change (0-based) if any, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// 0-based index of the change at fault, if one is.
    pub change: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl Invalid {
    fn at(change: usize, message: impl Into<String>) -> Invalid {
        Invalid {
            change: Some(change),
            message: message.into(),
        }
    }
    fn whole(message: impl Into<String>) -> Invalid {
        Invalid {
            change: None,
            message: message.into(),
        }
    }
}

/// Checks a text field: length limit, no control characters but tab and newline.
pub fn check_text(
    field: &str,
    s: &str,
    (max, name): (usize, &str),
    allow_empty: bool,
) -> Result<(), String> {
    if s.len() > max {
        return Err(format!(
            "`{field}` is {} bytes, over the limit of {max} bytes ({name})",
            s.len()
        ));
    }
    if !allow_empty && s.trim().is_empty() {
        return Err(format!("`{field}` must not be empty"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(format!(
            "`{field}` contains the control character U+{:04X}",
            c as u32
        ));
    }
    Ok(())
}

fn check_terms(field: &str, terms: &Terms) -> Result<(), String> {
    if terms.len() > TERMS_PER_CLAUSE_MAX {
        return Err(format!(
            "`{field}` has {} terms, over the limit of {TERMS_PER_CLAUSE_MAX} (TERMS_PER_CLAUSE_MAX)",
            terms.len()
        ));
    }
    for (name, v) in terms {
        if let TermValue::Text(t) = v {
            check_text(
                &format!("{field}.{name}"),
                t,
                lim!(TERM_TEXT_BYTES_MAX),
                true,
            )?;
            if Date::looks_like_date(t) {
                return Err(format!("`{field}.{name}`: `{t}` is not a real date"));
            }
        }
    }
    Ok(())
}

impl Amendment {
    /// The effective date of change `i`: its own, or the amendment's.
    pub fn change_date(&self, i: usize) -> Option<Date> {
        self.changes
            .get(i)
            .and_then(|c| c.effective.or(self.effective))
    }

    /// Whether this amendment is a retraction (its one change is `retract`).
    pub fn is_retraction(&self) -> bool {
        matches!(
            self.changes.first(),
            Some(Change {
                op: Op::Retract { .. },
                ..
            })
        )
    }

    /// The amendment it retracts, if it is a retraction.
    pub fn retracts(&self) -> Option<&AmendmentId> {
        match self.changes.first() {
            Some(Change {
                op: Op::Retract { amendment, .. },
                ..
            }) => Some(amendment),
            _ => None,
        }
    }

    /// Whether this amendment is a rekey (its one change is `rekey`).
    pub fn is_rekey(&self) -> bool {
        matches!(
            self.changes.first(),
            Some(Change {
                op: Op::Rekey { .. },
                ..
            })
        )
    }

    /// Whether recording this amendment sets its agreement's keys: an
    /// establish that gives keys, or a rekey.
    pub fn sets_keys(&self) -> bool {
        self.is_rekey() || self.establish_keys().is_some()
    }

    /// The parties' keys given by an establishing change, if it gives any.
    pub fn establish_keys(&self) -> Option<Vec<(&PartyId, &crate::note::VerifierKey)>> {
        match self.changes.first().map(|c| &c.op) {
            Some(Op::Establish { parties, .. }) if parties.iter().any(|p| p.key.is_some()) => Some(
                parties
                    .iter()
                    .filter_map(|p| p.key.as_ref().map(|k| (&p.id, k)))
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Checks every rule that does not depend on the ledger (§2 of the design):
    /// limits, required fields, fields that go together.
    pub fn validate(&self) -> Result<(), Invalid> {
        check_text("title", &self.title, lim!(SHORT_TEXT_BYTES_MAX), false)
            .map_err(Invalid::whole)?;
        if let Some(s) = &self.source {
            check_text("source", s, lim!(SOURCE_BYTES_MAX), false).map_err(Invalid::whole)?;
        }
        if self.changes.is_empty() {
            return Err(Invalid::whole("an amendment needs at least one change"));
        }
        if self.changes.len() > CHANGES_PER_AMENDMENT_MAX {
            return Err(Invalid::whole(format!(
                "{} changes, over the limit of {CHANGES_PER_AMENDMENT_MAX} changes per amendment (CHANGES_PER_AMENDMENT_MAX)",
                self.changes.len()
            )));
        }
        let undated = |op: &Op| matches!(op, Op::Retract { .. } | Op::Rekey { .. });
        if let Some(first) = self.changes.iter().find(|c| undated(&c.op)) {
            let (verb, noun) = match first.op {
                Op::Rekey { .. } => ("rekeys", "rekey"),
                _ => ("retracts", "retraction"),
            };
            if self.changes.len() != 1 {
                let i = self
                    .changes
                    .iter()
                    .position(|c| !std::ptr::eq(c, first))
                    .unwrap_or(1);
                return Err(Invalid::at(
                    i,
                    format!("an amendment that {verb} contains nothing else"),
                ));
            }
            if self.effective.is_some() || self.changes[0].effective.is_some() {
                return Err(Invalid::whole(format!(
                    "a {noun} has no date of its own: remove `effective`"
                )));
            }
        } else if self.effective.is_none() {
            return Err(Invalid::whole("missing field `effective`"));
        }
        for (i, c) in self.changes.iter().enumerate() {
            let date = c.effective.or(self.effective);
            let check_until = |until: &Option<Date>| -> Result<(), Invalid> {
                match (until, date) {
                    (Some(u), Some(d)) if *u < d => Err(Invalid::at(
                        i,
                        format!("`until` {u} is before the change's effective date {d}"),
                    )),
                    _ => Ok(()),
                }
            };
            match &c.op {
                Op::Establish { title, parties } => {
                    if i != 0 {
                        return Err(Invalid::at(
                            i,
                            "`establish` must be the first change of its amendment",
                        ));
                    }
                    check_text("title", title, lim!(SHORT_TEXT_BYTES_MAX), false)
                        .map_err(|m| Invalid::at(i, m))?;
                    if parties.is_empty() {
                        return Err(Invalid::at(i, "`establish` needs at least one party"));
                    }
                    if parties.len() > PARTIES_PER_AGREEMENT_MAX {
                        return Err(Invalid::at(
                            i,
                            format!(
                                "{} parties, over the limit of {PARTIES_PER_AGREEMENT_MAX} (PARTIES_PER_AGREEMENT_MAX)",
                                parties.len()
                            ),
                        ));
                    }
                    for (j, p) in parties.iter().enumerate() {
                        check_text("parties.name", &p.name, lim!(SHORT_TEXT_BYTES_MAX), false)
                            .map_err(|m| Invalid::at(i, m))?;
                        if parties[..j].iter().any(|q| q.id == p.id) {
                            return Err(Invalid::at(
                                i,
                                format!("party `{}` is listed twice", p.id),
                            ));
                        }
                        if let Some(k) = &p.key {
                            if k.alg() != crate::note::ALG_ED25519 {
                                return Err(Invalid::at(
                                    i,
                                    format!("the key of party `{}` is a cosignature key (type 0x04); a party signs with a type 0x01 key", p.id),
                                ));
                            }
                            if let Some(q) = parties[..j]
                                .iter()
                                .find(|q| q.key.as_ref().map(|x| x.public()) == Some(k.public()))
                            {
                                return Err(Invalid::at(
                                    i,
                                    format!(
                                        "parties `{}` and `{}` have the same key: each party signs with its own",
                                        q.id, p.id
                                    ),
                                ));
                            }
                        }
                    }
                    let keyed: Vec<&PartyId> = parties
                        .iter()
                        .filter(|p| p.key.is_some())
                        .map(|p| &p.id)
                        .collect();
                    if !keyed.is_empty() && keyed.len() != parties.len() {
                        let missing: Vec<String> = parties
                            .iter()
                            .filter(|p| p.key.is_none())
                            .map(|p| format!("`{}`", p.id))
                            .collect();
                        return Err(Invalid::at(
                            i,
                            format!(
                                "a signed agreement gives every party a `key`: {} {} none",
                                missing.join(", "),
                                if missing.len() == 1 { "has" } else { "have" }
                            ),
                        ));
                    }
                }
                Op::Add {
                    heading,
                    text,
                    terms,
                    until,
                    ..
                } => {
                    check_text("text", text, lim!(CLAUSE_TEXT_BYTES_MAX), false)
                        .map_err(|m| Invalid::at(i, m))?;
                    if let Some(h) = heading {
                        check_text("heading", h, lim!(SHORT_TEXT_BYTES_MAX), false)
                            .map_err(|m| Invalid::at(i, m))?;
                    }
                    check_terms("terms", terms).map_err(|m| Invalid::at(i, m))?;
                    check_until(until)?;
                }
                Op::Amend {
                    heading,
                    text,
                    set,
                    unset,
                    until,
                    until_event,
                    ..
                } => {
                    if heading.is_none()
                        && text.is_none()
                        && set.is_empty()
                        && unset.is_empty()
                        && until.is_none()
                        && until_event.is_none()
                    {
                        return Err(Invalid::at(i, "an `amend` must name something to change: `set`, `unset`, `heading`, `text`, `until` or `until_event`"));
                    }
                    if let Some(t) = text {
                        check_text("text", t, lim!(CLAUSE_TEXT_BYTES_MAX), false)
                            .map_err(|m| Invalid::at(i, m))?;
                    }
                    if let Some(h) = heading {
                        check_text("heading", h, lim!(SHORT_TEXT_BYTES_MAX), false)
                            .map_err(|m| Invalid::at(i, m))?;
                    }
                    check_terms("set", set).map_err(|m| Invalid::at(i, m))?;
                    if unset.len() > TERMS_PER_CLAUSE_MAX {
                        return Err(Invalid::at(
                            i,
                            format!(
                                "`unset` names {} terms, over the limit of {TERMS_PER_CLAUSE_MAX} (TERMS_PER_CLAUSE_MAX)",
                                unset.len()
                            ),
                        ));
                    }
                    if let Some(w) = unset.windows(2).find(|w| w[0] >= w[1]) {
                        let m = if w[0] == w[1] {
                            format!("`unset` names the term `{}` twice", w[1])
                        } else {
                            format!(
                                "`unset` lists its terms out of order: `{}` before `{}` (stored amendments list them sorted)",
                                w[0], w[1]
                            )
                        };
                        return Err(Invalid::at(i, m));
                    }
                    if let Some(t) = unset.iter().find(|t| set.contains_key(*t)) {
                        return Err(Invalid::at(
                            i,
                            format!("term `{t}` is both in `set` and in `unset`"),
                        ));
                    }
                    check_until(until)?;
                }
                Op::Repeal { .. } => {}
                Op::Occur { note, .. } | Op::Terminate { note } => {
                    if let Some(n) = note {
                        check_text("note", n, lim!(SHORT_TEXT_BYTES_MAX), false)
                            .map_err(|m| Invalid::at(i, m))?;
                    }
                }
                Op::Retract { amendment, reason } => {
                    check_text("reason", reason, lim!(SHORT_TEXT_BYTES_MAX), false)
                        .map_err(|m| Invalid::at(i, m))?;
                    if *amendment == self.id {
                        return Err(Invalid::at(i, "an amendment cannot retract itself"));
                    }
                }
                Op::Rekey { key, .. } => {
                    if key.alg() != crate::note::ALG_ED25519 {
                        return Err(Invalid::at(
                            i,
                            "a party's key is a type 0x01 (signing) key, not a cosignature key",
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every recorded time in range formats as RFC 3339 and parses back to
    /// itself, up to the last one; the next microsecond is out of range (an
    /// independent verifier found times in the last ~26 hours of the old
    /// range that decoded but could never be formatted).
    #[test]
    fn every_recorded_time_in_range_formats_and_parses_back() {
        let last = RecordedAt::MAX;
        assert_eq!(last.to_string(), "9999-12-30T22:00:00.000000Z");
        assert!(!RecordedAt(last.0 + 1).in_range());
        assert!(jiff::Timestamp::from_microsecond(last.0 + 1).is_err());
        for t in [0, 1, last.0 - 3_600_000_000 * 26, last.0 - 1, last.0] {
            let text = RecordedAt(t).to_string();
            let back: jiff::Timestamp = text.parse().expect("parses");
            assert_eq!(back.as_microsecond(), t, "{text}");
        }
    }
}
