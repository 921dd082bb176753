//! # pactum
//!
//! An event-sourced, tamper-evident ledger of agreement amendments.
//! Amendments are appended as SHA-256 hash-chained entries (in sled by
//! default); projections rebuild what an agreement said on any date, as it
//! was known at any moment; an audit proves nobody rewrote the record.
//!
//! Data flows one way: [`input`] → [`model`] → [`ledger`] → ([`codec`],
//! [`chain`], [`store`]); [`projection`] and [`audit`] read entries and write
//! nothing. The library never prints and never reads the clock: callers pass
//! the time to [`Ledger::append`].
//!
//! ```
//! use pactum::{Ledger, projection::{self, KnownAt}, store::MemStore, model::RecordedAt};
//!
//! let ledger = Ledger::create(MemStore::default(), [1; 16]).unwrap();
//! let amendments = pactum::input::parse_str("history.jsonl", concat!(
//!   r#"{"agreement":"acme","id":"start","title":"Start","effective":"2024-01-01","change":["#,
//!   r#"{"op":"establish","title":"Acme supply","parties":[{"id":"acme","name":"Acme"}]},"#,
//!   r#"{"op":"add","clause":"price","text":"Ten per unit.","terms":{"unit_price_usd":10}}]}"#, "\n",
//!   r#"{"agreement":"acme","id":"raise","title":"Raise","effective":"2025-01-01","change":["#,
//!   r#"{"op":"amend","clause":"price","text":"Twelve per unit.","set":{"unit_price_usd":12}}]}"#,
//! )).unwrap();
//! ledger.append(&amendments, RecordedAt(1_700_000_000_000_000), Default::default()).unwrap();
//!
//! let agreement = "acme".parse().unwrap();
//! let entries = ledger.agreement_entries(&agreement).unwrap();
//! let s = projection::state(&agreement, &entries, "2024-06-01".parse().unwrap(), KnownAt::All).unwrap();
//! assert_eq!(s.clauses[0].text, "Ten per unit.");
//! let report = pactum::audit::audit_store(ledger.store(), None, &mut |_| {}).unwrap();
//! assert!(report.ok);
//! ```

#![deny(missing_docs)]

pub mod audit;
pub mod batch;
pub mod catalog;
pub mod chain;
pub mod codec;
pub mod error;
pub mod export;
pub mod input;
pub mod layout;
pub mod ledger;
pub mod limits;
pub mod merkle;
pub mod model;
pub mod note;
pub mod picture;
pub mod place;
pub mod projection;
pub mod proof;
pub mod signfile;
pub mod store;
pub mod timeline;

pub use error::Error;
pub use ledger::{Ledger, Submission};
