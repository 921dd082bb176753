//! A batch of amendments read for one append, held in bounded memory.
//!
//! `append` reads its input whole before it judges anything (bad input
//! changes nothing, and every error names its file and line), and may hand
//! the amendments to the ledger twice (judged in memory first when the
//! ledger is new). A [`Batch`] keeps the first [`HELD_MAX`] amendments in
//! memory and moves a longer batch to a [`Spool`]: an unnamed temporary
//! file (removed by the system when the process ends, even when killed),
//! read back as often as needed. What stays in memory per amendment is
//! where it came from (a file number and a line: 8 bytes).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::codec::{self, Entry};
use crate::error::{Error, Location};
use crate::input::{self, Sourced};
use crate::ledger::Submission;
use crate::model::RecordedAt;

/// Amendments a batch holds in memory; beyond, all of them are spooled.
pub const HELD_MAX: usize = 1_000;

/// Records (byte strings) written once to an unnamed temporary file and
/// read back in order, as often as needed: `u32_le(len) ‖ bytes` each.
pub(crate) struct Spool {
    file: File,
    /// Written, not yet in the file.
    pending: Vec<u8>,
    count: usize,
}

/// Bytes gathered before a spool writes to its file.
const SPOOL_WRITE_BYTES: usize = 256 * 1024;

fn spool_error(what: &str, e: std::io::Error) -> Error {
    Error::Io {
        message: format!(
            "{what} (a temporary file in {}): {e}",
            std::env::temp_dir().display()
        ),
        kind: e.kind(),
    }
}

impl Spool {
    /// An empty spool in the system's temporary folder (`TMPDIR`).
    pub(crate) fn new() -> Result<Spool, Error> {
        let file = tempfile::tempfile().map_err(|e| spool_error("cannot create a spool", e))?;
        Ok(Spool {
            file,
            pending: Vec::new(),
            count: 0,
        })
    }

    /// Adds one record: the concatenation of `parts`.
    pub(crate) fn push(&mut self, parts: &[&[u8]]) -> Result<(), Error> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let len =
            u32::try_from(len).map_err(|_| Error::Usage("a spooled record over 4 GiB".into()))?;
        self.pending.extend_from_slice(&len.to_le_bytes());
        for p in parts {
            self.pending.extend_from_slice(p);
        }
        self.count += 1;
        if self.pending.len() >= SPOOL_WRITE_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes what is pending; the records read back are those flushed.
    pub(crate) fn flush(&mut self) -> Result<(), Error> {
        (&self.file)
            .write_all(&self.pending)
            .map_err(|e| spool_error("cannot write a spool", e))?;
        self.pending.clear();
        Ok(())
    }

    /// Records pushed.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// The records, in order, from the start (each reader keeps its own
    /// place: readers may overlap). Call [`Spool::flush`] first.
    pub(crate) fn records(&self) -> impl Iterator<Item = Result<Vec<u8>, Error>> + '_ {
        debug_assert!(self.pending.is_empty(), "a spool read before its flush");
        let mut r = BufReader::with_capacity(
            64 * 1024,
            At {
                file: &self.file,
                at: 0,
            },
        );
        let mut left = self.count;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let mut read = || -> std::io::Result<Vec<u8>> {
                let mut n = [0u8; 4];
                r.read_exact(&mut n)?;
                let mut bytes = vec![0u8; u32::from_le_bytes(n) as usize];
                r.read_exact(&mut bytes)?;
                Ok(bytes)
            };
            Some(read().map_err(|e| spool_error("cannot read a spool", e)))
        })
    }
}

/// A reader at its own offset of a shared file.
struct At<'a> {
    file: &'a File,
    at: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// Where an amendment came from: a file (by number) and its line (0: none).
#[derive(Clone, Copy)]
struct From {
    file: u32,
    line: u32,
}

/// The amendments of one append, in order, with where each came from.
pub struct Batch {
    files: Vec<String>,
    from: Vec<From>,
    held: Vec<Submission>,
    spool: Option<Spool>,
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch {
            files: Vec::new(),
            from: Vec::new(),
            held: Vec::new(),
            spool: None,
        }
    }

    /// Reads files and folders as [`input::read_paths`] does, into a batch.
    pub fn read(paths: &[PathBuf], stdin: &mut dyn BufRead) -> Result<Batch, Error> {
        let mut batch = Batch::new();
        input::read_paths_each(paths, stdin, &mut |s| batch.push(s))?;
        batch.seal()?;
        Ok(batch)
    }

    /// A batch of amendments already read.
    pub fn from_sources(sources: Vec<Sourced>) -> Result<Batch, Error> {
        let mut batch = Batch::new();
        for s in sources {
            batch.push(s)?;
        }
        batch.seal()?;
        Ok(batch)
    }

    /// Adds an amendment; call [`Batch::seal`] after the last.
    pub fn push(&mut self, s: Sourced) -> Result<(), Error> {
        if self.files.last() != Some(&s.location.file) {
            self.files.push(s.location.file.clone());
        }
        let from = From {
            file: (self.files.len() - 1) as u32,
            line: s.location.line.unwrap_or(0),
        };
        let submission = Submission {
            amendment: s.amendment,
            signatures: s.signatures,
        };
        if self.spool.is_none() && self.held.len() >= HELD_MAX {
            let mut spool = Spool::new()?;
            for h in self.held.drain(..) {
                spool.push(&[&encode(h)?])?;
            }
            self.held = Vec::new();
            self.spool = Some(spool);
        }
        match &mut self.spool {
            Some(spool) => {
                let bytes = encode(submission).map_err(|e| match e {
                    Error::Input { message, .. } => Error::Input {
                        location: location(&self.files, from),
                        message,
                    },
                    other => other,
                })?;
                spool.push(&[&bytes])?;
            }
            None => self.held.push(submission),
        }
        self.from.push(from);
        Ok(())
    }

    /// Makes what was pushed readable.
    pub fn seal(&mut self) -> Result<(), Error> {
        match &mut self.spool {
            Some(spool) => spool.flush(),
            None => Ok(()),
        }
    }

    /// How many amendments.
    pub fn len(&self) -> usize {
        self.from.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.from.is_empty()
    }

    /// Whether the batch waits in a temporary file (more than [`HELD_MAX`]).
    pub fn spooled(&self) -> bool {
        self.spool.is_some()
    }

    /// Where the `i`th amendment came from.
    pub fn location(&self, i: usize) -> Location {
        match self.from.get(i) {
            Some(&f) => location(&self.files, f),
            None => Location {
                file: "?".into(),
                line: None,
                column: None,
            },
        }
    }

    /// The amendments, in order, with their signature lines (read back
    /// from the spool for a long batch; its size hint is exact).
    pub fn submissions(&self) -> Submissions<'_> {
        Submissions {
            inner: match &self.spool {
                Some(spool) => Inner::Spooled(Box::new(spool.records())),
                None => Inner::Held(self.held.iter()),
            },
            left: self.len(),
        }
    }
}

fn location(files: &[String], f: From) -> Location {
    Location {
        file: files.get(f.file as usize).cloned().unwrap_or_default(),
        line: (f.line > 0).then_some(f.line),
        column: None,
    }
}

/// A submission's spooled bytes: an entry (seq 0, time 0) holding it, in
/// the entry format (`docs/format.md` §7), which keeps keys and lines.
fn encode(s: Submission) -> Result<Vec<u8>, Error> {
    let entry = Entry {
        seq: 0,
        recorded_at: RecordedAt(0),
        amendment: s.amendment,
        signatures: s.signatures,
    };
    codec::encode_entry(&entry).map_err(|e| Error::Input {
        location: Location {
            file: "?".into(),
            line: None,
            column: None,
        },
        message: e.0,
    })
}

/// The amendments of a [`Batch`], in order.
pub struct Submissions<'a> {
    inner: Inner<'a>,
    left: usize,
}

type Records<'a> = Box<dyn Iterator<Item = Result<Vec<u8>, Error>> + 'a>;

enum Inner<'a> {
    Held(std::slice::Iter<'a, Submission>),
    Spooled(Records<'a>),
}

impl Iterator for Submissions<'_> {
    type Item = Result<Submission, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = match &mut self.inner {
            Inner::Held(it) => it.next().cloned().map(Ok),
            Inner::Spooled(records) => records.next().map(|r| {
                let bytes = r?;
                let entry = codec::decode_entry(&bytes).map_err(|e| Error::Io {
                    message: format!("a spooled amendment does not read back: {}", e.0),
                    kind: std::io::ErrorKind::InvalidData,
                })?;
                Ok(Submission {
                    amendment: entry.amendment,
                    signatures: entry.signatures,
                })
            }),
        };
        if next.is_some() {
            self.left -= 1;
        }
        next
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sourced(n: usize) -> Vec<Sourced> {
        let mut text = String::new();
        for i in 0..n {
            if i == 0 {
                text.push_str(r#"{"agreement":"a","id":"start","title":"Start","effective":"2024-01-01","change":[{"op":"establish","title":"A","parties":[{"id":"x","name":"X"}]},{"op":"add","clause":"c","text":"T0"}]}"#);
            } else {
                text.push_str(&format!(
                    r#"{{"agreement":"a","id":"m{i}","title":"M","effective":"2024-01-02","change":[{{"op":"amend","clause":"c","text":"T{i}"}}]}}"#
                ));
            }
            text.push('\n');
        }
        input::parse_jsonl("in.jsonl", text.as_bytes()).expect("parses")
    }

    #[test]
    fn a_long_batch_is_spooled_and_reads_back_alike_twice() {
        for n in [1, HELD_MAX, HELD_MAX + 1, 2 * HELD_MAX + 7] {
            let sources = sourced(n);
            let batch = Batch::from_sources(sources.clone()).expect("batch");
            assert_eq!(batch.len(), n);
            assert_eq!(batch.spooled(), n > HELD_MAX);
            let mut a = batch.submissions();
            let b = batch.submissions();
            assert_eq!(a.size_hint(), (n, Some(n)));
            a.next();
            assert_eq!(a.size_hint(), (n - 1, Some(n - 1)));
            // Two readers at once, each at its own place.
            for (s, (x, y)) in sources.iter().skip(1).zip(a.zip(b.skip(1))) {
                let (x, y) = (x.expect("reads"), y.expect("reads"));
                assert_eq!(x, y);
                assert_eq!(x.amendment, s.amendment);
            }
            assert_eq!(batch.location(n - 1).line, Some(n as u32));
            assert_eq!(batch.location(n - 1).file, "in.jsonl");
            assert_eq!(batch.location(n).file, "?");
        }
    }
}
