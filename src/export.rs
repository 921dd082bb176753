//! Export files: a verified JSON Lines copy of the whole ledger.
//!
//! Line 1 is a header `{"pactum_export":1,"origin":HEX}`; then one line per
//! entry (its exact stored bytes in hex, with its leaf and chain hash, and
//! readable copies of a few fields); the last line is `{"head":"N:HASH"}`.
//! An export is checked as it is written and can be checked again offline
//! ([`verify_export`]) or imported into an empty ledger, reproducing every
//! hash. The layout is in `docs/format.md`.

use std::io::{BufRead, Write as IoWrite};

use serde::{Deserialize, Serialize};

use crate::audit::{self, Expect, Failure, Kind, Report, Verifier};
use crate::chain::{self, Checkpoint, Hash, Origin};
use crate::codec::Entry;
use crate::error::Error;
use crate::layout::{keys, StoredEntry};
use crate::ledger::Ledger;
use crate::limits::ENTRY_BYTES_MAX;
use crate::model::Date;
use crate::store::Store;

/// The export format version.
pub const EXPORT_VERSION: u32 = 1;

/// The first line.
#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`EXPORT_VERSION`].
    pub pactum_export: u32,
    /// The ledger's origin, hex.
    pub origin: String,
}

/// One entry. `seq`, `recorded_at`, `agreement`, `amendment`, `effective`
/// and `hash` are also the fields of `pactum log --json`.
#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct EntryLine {
    /// Its seq.
    pub seq: u64,
    /// When recorded (RFC 3339, UTC).
    pub recorded_at: String,
    /// Its agreement.
    pub agreement: String,
    /// Its amendment id.
    pub amendment: String,
    /// The amendment's effective date (null for a retraction).
    pub effective: Option<Date>,
    /// Chain hash after it, hex.
    pub hash: String,
    /// Leaf hash, hex.
    pub leaf: String,
    /// The exact stored entry bytes, hex.
    pub entry: String,
}

impl EntryLine {
    /// The line for an entry.
    pub fn new(e: &Entry, bytes: &[u8], leaf: &Hash, hash: &Hash) -> EntryLine {
        EntryLine {
            seq: e.seq,
            recorded_at: e.recorded_at.to_string(),
            agreement: e.amendment.agreement.to_string(),
            amendment: e.amendment.id.to_string(),
            effective: e.amendment.effective,
            hash: chain::hex(hash),
            leaf: chain::hex(leaf),
            entry: chain::hex(bytes),
        }
    }
}

/// The last line.
#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Trailer {
    /// The checkpoint `N:HASH` after the last entry.
    pub head: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Entry(EntryLine),
    Trailer(Trailer),
}

/// Writes a verified export of the ledger; stops with an error at the first
/// damaged entry. `progress` is called with the count written.
pub fn write_export<S: Store>(
    ledger: &Ledger<S>,
    out: &mut dyn IoWrite,
    progress: &mut dyn FnMut(u64),
) -> Result<Checkpoint, Error> {
    let origin = ledger.origin();
    let io = |e: std::io::Error| Error::Io {
        message: format!("cannot write the export: {e}"),
        kind: e.kind(),
    };
    let header = Header {
        pactum_export: EXPORT_VERSION,
        origin: chain::hex(&origin),
    };
    writeln!(
        out,
        "{}",
        serde_json::to_string(&header).map_err(|e| Error::Usage(e.to_string()))?
    )
    .map_err(io)?;
    let mut v = Verifier::new(&origin, None);
    let end = keys::prefix_end(&[keys::ENTRY]);
    for item in ledger.store().scan(&[keys::ENTRY], Some(&end)) {
        let (k, value) = item?;
        let damaged = |f: Failure| Error::Damaged {
            seq: f.seq,
            detail: f.to_string(),
        };
        let seq = keys::entry_seq(&k).ok_or_else(|| Error::Damaged {
            seq: None,
            detail: "malformed entry key".into(),
        })?;
        let stored = StoredEntry::split(&value).ok_or_else(|| Error::Damaged {
            seq: Some(seq),
            detail: "entry value too short".into(),
        })?;
        let e = v
            .check(seq, stored.bytes, &stored.leaf, &stored.chain)
            .map_err(damaged)?;
        let line = EntryLine::new(&e, stored.bytes, &stored.leaf, &stored.chain);
        writeln!(
            out,
            "{}",
            serde_json::to_string(&line).map_err(|e| Error::Usage(e.to_string()))?
        )
        .map_err(io)?;
        if seq % 1024 == 0 {
            progress(seq);
        }
    }
    let head = v.head();
    if head != ledger.head().checkpoint() {
        return Err(Error::Damaged {
            seq: None,
            detail: "the head does not match the entries".into(),
        });
    }
    writeln!(
        out,
        "{}",
        serde_json::to_string(&Trailer {
            head: head.to_string()
        })
        .map_err(|e| Error::Usage(e.to_string()))?
    )
    .map_err(io)?;
    out.flush().map_err(io)?;
    Ok(head)
}

/// What an export file holds, once verified.
#[derive(Debug)]
pub struct Verified {
    /// The audit's answer.
    pub report: Report,
    /// The origin from the header (if it could be read).
    pub origin: Option<Origin>,
}

/// Verifies an export file offline: every line, leaf, link, the field copies
/// and the trailer. Any damage, an unreadable line included, is a failure.
/// `sink` receives each verified entry's bytes and chain hash (for import).
pub fn verify_export(
    reader: &mut dyn BufRead,
    checkpoint: Option<Expect>,
    sink: &mut dyn FnMut(&Entry, &[u8], &Hash),
) -> Verified {
    let mut lines = reader.split(b'\n');
    let unreadable = |seq: Option<u64>, detail: String| Failure {
        seq,
        kind: Kind::Unreadable,
        detail,
    };
    let failed = |v: Option<&Verifier>, f: Failure, origin: Option<Origin>| Verified {
        report: Report {
            ok: false,
            entries: v.map_or(0, |v| v.count()),
            head: v.map_or(
                Checkpoint {
                    count: 0,
                    hash: [0; 32],
                },
                |v| v.head(),
            ),
            failure: Some(f),
        },
        origin,
    };
    let header: Option<Header> = match lines.next() {
        Some(Ok(l)) => serde_json::from_slice(&l).ok(),
        _ => None,
    };
    if let Some(h) = header
        .as_ref()
        .filter(|h| h.pactum_export != EXPORT_VERSION)
    {
        return failed(
            None,
            unreadable(None, format!("export format version {} is not known (this pactum reads version {EXPORT_VERSION})", h.pactum_export)),
            None,
        );
    }
    let Some(header) = header else {
        return failed(
            None,
            unreadable(None, "line 1 is not a pactum export header".into()),
            None,
        );
    };
    let Some(origin) = chain::unhex(&header.origin).and_then(|o| Origin::try_from(o).ok()) else {
        return failed(
            None,
            unreadable(None, "the header's origin is not 16 bytes of hex".into()),
            None,
        );
    };
    let mut v = Verifier::new(&origin, checkpoint);
    let mut trailer: Option<Trailer> = None;
    let max_line = ENTRY_BYTES_MAX * 2 + 4096;
    for (i, line) in lines.enumerate() {
        let line_no = i + 2;
        let next = v.count();
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                return failed(
                    Some(&v),
                    unreadable(Some(next), format!("line {line_no}: {e}")),
                    Some(origin),
                )
            }
        };
        if line.is_empty() {
            continue;
        }
        if trailer.is_some() {
            return failed(
                Some(&v),
                unreadable(Some(next), format!("line {line_no} follows the trailer")),
                Some(origin),
            );
        }
        if line.len() > max_line {
            return failed(
                Some(&v),
                unreadable(Some(next), format!("line {line_no} is too long")),
                Some(origin),
            );
        }
        match serde_json::from_slice::<Line>(&line) {
            Err(_) => {
                return failed(
                    Some(&v),
                    unreadable(Some(next), format!("line {line_no} is not an export line")),
                    Some(origin),
                )
            }
            Ok(Line::Trailer(t)) => trailer = Some(t),
            Ok(Line::Entry(el)) => {
                let parsed = (
                    chain::unhex(&el.entry),
                    chain::parse_hash(&el.leaf),
                    chain::parse_hash(&el.hash),
                );
                let (Some(bytes), Some(leaf), Some(hash)) = parsed else {
                    return failed(
                        Some(&v),
                        unreadable(
                            Some(el.seq),
                            format!("line {line_no}: a hash or the entry is not hex"),
                        ),
                        Some(origin),
                    );
                };
                let e = match v.check(el.seq, &bytes, &leaf, &hash) {
                    Ok(e) => e,
                    Err(f) => return failed(Some(&v), f, Some(origin)),
                };
                let copy = EntryLine::new(&e, &bytes, &leaf, &hash);
                if (copy.recorded_at != el.recorded_at)
                    || copy.agreement != el.agreement
                    || copy.amendment != el.amendment
                    || copy.effective != el.effective
                {
                    return failed(Some(&v), Failure {
                        seq: Some(e.seq),
                        kind: Kind::FieldMismatch,
                        detail: format!("line {line_no}: the readable fields do not match the entry's bytes"),
                    }, Some(origin));
                }
                sink(&e, &bytes, &hash);
            }
        }
    }
    let head = v.head();
    match trailer.map(|t| t.head.parse::<Checkpoint>()) {
        None => {
            return failed(
                Some(&v),
                Failure {
                    seq: None,
                    kind: Kind::Unreadable,
                    detail: "the trailer line is missing: the export is truncated".into(),
                },
                Some(origin),
            )
        }
        Some(Err(e)) => {
            return failed(
                Some(&v),
                unreadable(None, format!("the trailer: {e}")),
                Some(origin),
            )
        }
        Some(Ok(cp)) if cp != head => {
            return failed(
                Some(&v),
                Failure {
                    seq: None,
                    kind: Kind::HeadMismatch,
                    detail: format!("the trailer says {cp}, the entries give {head}"),
                },
                Some(origin),
            )
        }
        Some(Ok(_)) => {}
    }
    if let Err(f) = v.finish() {
        return failed(Some(&v), f, Some(origin));
    }
    Verified {
        report: Report {
            ok: true,
            entries: head.count,
            head,
            failure: None,
        },
        origin: Some(origin),
    }
}

/// Imports a verified export into an empty ledger created with its origin.
pub fn import<S: Store>(store: S, reader: &mut dyn BufRead) -> Result<(Ledger<S>, Report), Error> {
    if store.scan(&[], None).next().is_some() {
        return Err(Error::Usage(
            "import needs an empty ledger; this one already holds data".into(),
        ));
    }
    let mut entries: Vec<(Vec<u8>, Hash)> = Vec::new();
    let verified = verify_export(reader, None, &mut |_, bytes, hash| {
        entries.push((bytes.to_vec(), *hash))
    });
    let (Some(origin), None) = (verified.origin, &verified.report.failure) else {
        let f = verified.report.failure.unwrap_or(Failure {
            seq: None,
            kind: Kind::Unreadable,
            detail: "no origin".into(),
        });
        return Err(Error::Damaged {
            seq: f.seq,
            detail: format!("the export is damaged: {f}"),
        });
    };
    let ledger = Ledger::create(store, origin)?;
    let head = ledger.append_raw(&entries)?;
    let report = audit::audit_store(ledger.store(), Some(head.into()), &mut |_| {})?;
    Ok((ledger, report))
}
