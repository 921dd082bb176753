//! The `location` target: a `--ledger` location as given on the command
//! line or in `PACTUM_LEDGER` — a folder, or a PostgreSQL URL with pactum's
//! `ledger` parameter (`src/place.rs`, `src/store/postgres.rs`).
//!
//! Nothing is opened (no folder is looked at, no connection is made): the
//! checks are on the text. A URL splits into the URL libpq gets and a valid
//! ledger name, once (splitting again changes nothing); libpq's parser
//! (the `postgres` crate's) never panics on what pactum passes it; and the
//! URL as pactum shows it in messages never carries the password libpq
//! would use.

use std::path::Path;

use pactum::place;
use pactum::store::postgres::{is_url, shown, split_url, LEDGER_NAME_BYTES_MAX};

/// Checks one location; panics on a finding.
pub fn check_location(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = &*text;
    let url = place::pg_url(Path::new(text));
    assert_eq!(url.is_some(), is_url(text), "pg_url and is_url disagree");
    // Whatever the text, showing it never panics and hides what it must.
    let shown_text = shown(text);
    if !is_url(text) {
        return;
    }
    match split_url(text) {
        Ok((libpq, name)) => {
            assert!(
                !name.is_empty()
                    && name.len() <= LEDGER_NAME_BYTES_MAX
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "an invalid ledger name passes: {name:?}"
            );
            assert!(
                is_url(&libpq),
                "the URL for libpq lost its scheme: {libpq:?}"
            );
            let again = split_url(&libpq).expect("the URL for libpq splits again");
            assert_eq!(again.0, libpq, "splitting twice changes the URL");
            assert_eq!(again.1, "pactum", "a `ledger` parameter is left for libpq");
            let Ok(config) = libpq.parse::<postgres::Config>() else {
                return;
            };
            let Some(password) = config.get_password().filter(|p| !p.is_empty()) else {
                return;
            };
            // The URL as messages show it: the password libpq takes from it is
            // hidden (none, or `***`).
            let (shown_libpq, _) = split_url(&shown_text)
                .unwrap_or_else(|e| panic!("the shown URL {shown_text:?} does not split: {e}"));
            let seen = shown_libpq
                .parse::<postgres::Config>()
                .ok()
                .and_then(|c| c.get_password().map(<[u8]>::to_vec));
            assert!(
                seen.as_deref().is_none_or(|p| p == b"***"),
                "the password {:?} of {text:?} shows as {:?} in {shown_text:?}",
                String::from_utf8_lossy(password),
                seen.as_deref().map(String::from_utf8_lossy)
            );
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
