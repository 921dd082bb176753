//! The library's error type: one enum, a clear message each, no trailing period.

use std::path::PathBuf;

use crate::model::{AgreementId, AmendmentId};
use crate::projection::ProjectionError;
use crate::store::StoreError;

/// Where an input problem is: file, and line and column when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file (`-` for standard input).
    pub file: String,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        Ok(())
    }
}

/// An amendment that the ledger refused, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Its position in the batch given to `append` (0-based).
    pub index: usize,
    /// Its agreement.
    pub agreement: AgreementId,
    /// Its id.
    pub amendment: AmendmentId,
    /// The change at fault (0-based) and what it does, when one is.
    pub change: Option<(usize, String)>,
    /// Why.
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "amendment `{}` of `{}`", self.amendment, self.agreement)?;
        if let Some((i, op)) = &self.change {
            write!(f, ", change {} ({op})", i + 1)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file is malformed.
    #[error("{location}: {message}")]
    Input {
        /// Where.
        location: Location,
        /// What.
        message: String,
    },
    /// An amendment was refused by the ledger.
    #[error("{0}")]
    Refused(Refusal),
    /// The expected head (`AppendOptions::expect_head`) did not match.
    #[error(
        "the ledger holds {actual} entries, not the {expected} expected; nothing was appended"
    )]
    HeadMismatch {
        /// Required count.
        expected: u64,
        /// Actual count.
        actual: u64,
    },
    /// A projection could not be made.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// No ledger at the path.
    #[error("no ledger at {}: append amendments to create one, or give the path of another ledger", crate::place::shown(.0))]
    Missing(PathBuf),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored data is damaged or inconsistent.
    #[error("the ledger is damaged{}: {detail}", .seq.map(|s| format!(" at seq {s}")).unwrap_or_default())]
    Damaged {
        /// The entry at fault, when known.
        seq: Option<u64>,
        /// What is wrong.
        detail: String,
    },
    /// A request that makes no sense (bad argument).
    #[error("{0}")]
    Usage(String),
    /// Reading or writing a file or a stream failed (not damage to the
    /// ledger): a closed pipe, no permission, a full disk.
    #[error("{message}")]
    Io {
        /// What failed, with the path and the system's message.
        message: String,
        /// The system's error kind (e.g. `BrokenPipe`).
        kind: std::io::ErrorKind,
    },
}
