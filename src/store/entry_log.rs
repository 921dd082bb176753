//! The entry log: [`SledStore`](super::SledStore) keeps the values of the
//! keys `e ‖ u64_be(seq)` — one per recorded entry, dense from seq 0 — in
//! two append-only files of its own instead of in sled, where every byte
//! costs two to four on disk and a batch is held in memory whole.
//!
//! - `entries.log`: one record per seq, `u32_le(len) ‖ value` (the value's
//!   bytes exactly as the key space holds them);
//! - `entries.idx`: `u64_le(offset)` of record `seq` in `entries.log`, at
//!   byte `8·seq`.
//!
//! Only the first `records` records (`bytes` bytes) are the store's: the
//! published length, kept in sled under the store's own key
//! [`LOG_KEY`] and written in the same sled batch as the keys that refer
//! to the records. Records are written and fsynced *before* that batch; a
//! kill in between leaves bytes past the published length, which the next
//! open cuts off. The store knows nothing else of what the keys mean.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write as _};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{Pair, StoreError};

/// The first byte of the keys kept in the log (the layout's entry keys).
pub const LOG_PREFIX: u8 = b'e';
/// The log's records.
pub const LOG_FILE: &str = "entries.log";
/// The log's offsets, 8 bytes per record.
pub const INDEX_FILE: &str = "entries.idx";
/// The store's own sled key holding the published length: `u64_be(records)
/// ‖ u64_be(bytes) ‖ u64_be(commits)`. Keys from `0x00` are the store's:
/// scans and reads through the [`Store`](super::Store) trait never see them.
pub const LOG_KEY: &[u8] = b"\x00log";
/// The most bytes one value in the log may have.
const VALUE_BYTES_MAX: usize = u32::MAX as usize;

/// The published (or, in memory, written) extent of the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extent {
    /// Records.
    pub records: u64,
    /// Bytes of `entries.log`.
    pub bytes: u64,
    /// Commits that published records (changes with every one).
    pub commits: u64,
}

impl Extent {
    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(24);
        v.extend_from_slice(&self.records.to_be_bytes());
        v.extend_from_slice(&self.bytes.to_be_bytes());
        v.extend_from_slice(&self.commits.to_be_bytes());
        v
    }
    /// Parses the stored form.
    pub fn decode(b: &[u8]) -> Option<Extent> {
        if b.len() != 24 {
            return None;
        }
        Some(Extent {
            records: u64::from_be_bytes(b[0..8].try_into().ok()?),
            bytes: u64::from_be_bytes(b[8..16].try_into().ok()?),
            commits: u64::from_be_bytes(b[16..24].try_into().ok()?),
        })
    }
}

/// The seq of a log key (`e` ‖ 8 bytes).
pub fn log_seq(key: &[u8]) -> Option<u64> {
    match key {
        [LOG_PREFIX, rest @ ..] => rest.try_into().ok().map(u64::from_be_bytes),
        _ => None,
    }
}

/// The log key of `seq`.
pub fn log_key(seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(LOG_PREFIX);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The smallest seq whose log key is `>= bound` (2^64 when none is).
pub fn first_seq_from(bound: &[u8]) -> u128 {
    match bound.first() {
        None => 0,
        Some(b) if *b < LOG_PREFIX => 0,
        Some(b) if *b > LOG_PREFIX => 1 << 64,
        Some(_) => {
            let rest = &bound[1..];
            let mut s = [0u8; 8];
            let n = rest.len().min(8);
            s[..n].copy_from_slice(&rest[..n]);
            let seq = u128::from(u64::from_be_bytes(s));
            if rest.len() > 8 {
                seq + 1
            } else {
                seq
            }
        }
    }
}

/// The two files of the log, open.
#[derive(Debug)]
pub struct EntryLog {
    dir: PathBuf,
    log: File,
    index: File,
}

fn io(path: &Path, what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(format!("{}: {what}: {e}", path.display()))
}

fn damaged(path: &Path, what: impl std::fmt::Display) -> StoreError {
    StoreError::Damaged(format!("{}: {what}", path.display()))
}

impl EntryLog {
    /// Opens (creating when missing) the log in `dir`, which must hold at
    /// least `published`. Bytes past it are records a killed writer wrote
    /// before its sled batch, which never became the store's: the store
    /// cuts them ([`EntryLog::cut`]) before it next writes, not here, so
    /// that a store whose sled came back with less than it acknowledged
    /// (which the ledger finds by its head witness, and then refuses to
    /// write) keeps the records it lost.
    pub fn open(dir: &Path, published: Extent) -> Result<EntryLog, StoreError> {
        let open = |name: &str| {
            let path = dir.join(name);
            let existed = path.exists();
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map(|f| (f, existed))
                .map_err(|e| io(&path, "cannot open the entry log", e))
        };
        let (log, log_existed) = open(LOG_FILE)?;
        let (index, index_existed) = open(INDEX_FILE)?;
        let this = EntryLog {
            dir: dir.to_path_buf(),
            log,
            index,
        };
        if !log_existed || !index_existed {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io(dir, "cannot fsync the ledger directory", e))?;
        }
        this.check(published)?;
        Ok(this)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    /// Checks that both files hold `extent` (a shorter file is damage:
    /// published records were lost).
    fn check(&self, extent: Extent) -> Result<(), StoreError> {
        self.lengths(extent, false)
    }

    /// Cuts both files to `extent` (a shorter file is damage: published
    /// records were lost).
    pub fn cut(&self, extent: Extent) -> Result<(), StoreError> {
        self.lengths(extent, true)
    }

    fn lengths(&self, extent: Extent, cut: bool) -> Result<(), StoreError> {
        let idx_len = extent.records * 8;
        for (file, name, len) in [
            (&self.log, LOG_FILE, extent.bytes),
            (&self.index, INDEX_FILE, idx_len),
        ] {
            let path = self.dir.join(name);
            let have = file
                .metadata()
                .map_err(|e| io(&path, "cannot read the entry log", e))?
                .len();
            if have < len {
                return Err(damaged(
                    &path,
                    format!(
                        "the entry log holds {have} bytes, fewer than the {len} its store published: recorded entries were lost"
                    ),
                ));
            }
            if cut && have > len {
                file.set_len(len)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| io(&path, "cannot cut the entry log", e))?;
            }
        }
        Ok(())
    }

    /// Appends values as records `at` (the written extent), returning the
    /// new extent (not yet durable: see [`EntryLog::sync`]).
    pub fn append(&self, at: Extent, values: &[&[u8]]) -> Result<Extent, StoreError> {
        let mut records = Vec::new();
        let mut offsets = Vec::with_capacity(values.len() * 8);
        let mut next = at;
        for v in values {
            if v.len() > VALUE_BYTES_MAX {
                return Err(StoreError::Io(format!(
                    "a value of {} bytes is too large for the entry log",
                    v.len()
                )));
            }
            offsets.extend_from_slice(&next.bytes.to_le_bytes());
            records.extend_from_slice(&(v.len() as u32).to_le_bytes());
            records.extend_from_slice(v);
            next.bytes += 4 + v.len() as u64;
            next.records += 1;
        }
        self.log
            .write_all_at(&records, at.bytes)
            .map_err(|e| io(&self.log_path(), "cannot write the entry log", e))?;
        self.index
            .write_all_at(&offsets, at.records * 8)
            .map_err(|e| io(&self.dir.join(INDEX_FILE), "cannot write the entry log", e))?;
        Ok(next)
    }

    /// Makes what was appended durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.log
            .sync_data()
            .map_err(|e| io(&self.log_path(), "cannot fsync the entry log", e))?;
        self.index
            .sync_data()
            .map_err(|e| io(&self.dir.join(INDEX_FILE), "cannot fsync the entry log", e))
    }

    /// The offset of record `seq`, or `extent.bytes` for `seq == records`.
    fn offset(&self, seq: u64, extent: Extent) -> Result<u64, StoreError> {
        if seq == extent.records {
            return Ok(extent.bytes);
        }
        let mut b = [0u8; 8];
        self.index
            .read_exact_at(&mut b, seq * 8)
            .map_err(|e| io(&self.dir.join(INDEX_FILE), "cannot read the entry log", e))?;
        Ok(u64::from_le_bytes(b))
    }

    /// The value of record `seq < extent.records`.
    pub fn get(&self, seq: u64, extent: Extent) -> Result<Vec<u8>, StoreError> {
        let start = self.offset(seq, extent)?;
        let end = self.offset(seq + 1, extent)?;
        let bad = || {
            damaged(
                &self.log_path(),
                format!("the record of seq {seq} is out of place (offsets {start}..{end})"),
            )
        };
        if end < start + 4 || end > extent.bytes {
            return Err(bad());
        }
        let mut rec = vec![0u8; (end - start) as usize];
        self.log
            .read_exact_at(&mut rec, start)
            .map_err(|e| io(&self.log_path(), "cannot read the entry log", e))?;
        // The value is what the index delimits; its length header is
        // checked where records are read in order ([`EntryLog::iter`]:
        // the audit's scan), so that one damaged header fails the audit
        // at its seq and no other read.
        rec.drain(..4);
        Ok(rec)
    }

    /// Records `from..to` (within `extent`), read in order: each record is
    /// where the index says, and its length header agrees (else the
    /// iterator yields [`StoreError::Damaged`] naming its seq, and stops).
    pub fn iter(&self, from: u64, to: u64, extent: Extent) -> LogIter {
        let to = to.min(extent.records);
        let open = |name: &str, at: u64| -> Result<BufReader<File>, StoreError> {
            let path = self.dir.join(name);
            let mut f = File::open(&path).map_err(|e| io(&path, "cannot read the entry log", e))?;
            f.seek(SeekFrom::Start(at))
                .map_err(|e| io(&path, "cannot read the entry log", e))?;
            Ok(BufReader::with_capacity(256 * 1024, f))
        };
        let readers = if from < to {
            self.offset(from, extent).and_then(|start| {
                if start > extent.bytes {
                    return Err(damaged(
                        &self.log_path(),
                        format!(
                            "the index places the record of seq {from} at {start}, past the end"
                        ),
                    ));
                }
                Ok((open(LOG_FILE, start)?, open(INDEX_FILE, from * 8)?, start))
            })
        } else {
            Err(StoreError::Io(String::new()))
        };
        let mut it = LogIter {
            log: None,
            index: None,
            path: self.log_path(),
            next: from,
            to,
            at: 0,
            end: extent.bytes,
            failed: None,
        };
        match readers {
            Ok((log, index, start)) => {
                it.log = Some(log);
                it.index = Some(index);
                it.at = start;
            }
            Err(_) if from >= to => {}
            Err(e) => it.failed = Some(e),
        }
        it
    }

    /// Bytes of both files.
    pub fn size(&self) -> u64 {
        let len = |f: &File| f.metadata().map_or(0, |m| m.len());
        len(&self.log) + len(&self.index)
    }
}

/// Records of the log in seq order, as `(log key, value)` pairs.
pub struct LogIter {
    log: Option<BufReader<File>>,
    index: Option<BufReader<File>>,
    path: PathBuf,
    next: u64,
    to: u64,
    at: u64,
    end: u64,
    failed: Option<StoreError>,
}

impl LogIter {
    fn read(&mut self, seq: u64) -> std::io::Result<Result<Vec<u8>, String>> {
        let (Some(log), Some(index)) = (self.log.as_mut(), self.index.as_mut()) else {
            return Ok(Err("the entry log is not open".into()));
        };
        let mut b = [0u8; 8];
        index.read_exact(&mut b)?;
        let start = u64::from_le_bytes(b);
        let end = if seq + 1 == self.to && self.to > 0 {
            // The last record read: its end is the next record's offset, or
            // the published end.
            match index.read_exact(&mut b) {
                Ok(()) => u64::from_le_bytes(b),
                Err(_) => self.end,
            }
        } else {
            let mut peek = [0u8; 8];
            index.read_exact(&mut peek)?;
            index.seek_relative(-8)?;
            u64::from_le_bytes(peek)
        };
        if start != self.at || end < start + 4 || end > self.end {
            return Ok(Err(format!(
                "the index places the record of seq {seq} at {start}..{end}, but it follows the one before at {}",
                self.at
            )));
        }
        let mut head = [0u8; 4];
        log.read_exact(&mut head)?;
        let len = u64::from(u32::from_le_bytes(head));
        if len != end - start - 4 {
            return Ok(Err(format!(
                "the record of seq {seq} says {len} bytes, but the index gives it {}",
                end - start - 4
            )));
        }
        let mut v = vec![0u8; len as usize];
        log.read_exact(&mut v)?;
        self.at = end;
        Ok(Ok(v))
    }
}

impl Iterator for LogIter {
    type Item = Result<Pair, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.failed.take() {
            self.next = self.to;
            return Some(Err(e));
        }
        if self.next >= self.to {
            return None;
        }
        let seq = self.next;
        self.next += 1;
        let failure = match self.read(seq) {
            Ok(Ok(v)) => return Some(Ok((log_key(seq), v))),
            Ok(Err(why)) => why,
            Err(e) => format!("cannot read the record of seq {seq}: {e}"),
        };
        self.next = self.to;
        Some(Err(damaged(&self.path, failure)))
    }
}

/// Merges two key-ordered scans; on equal keys the first (`over`) wins.
pub fn merge<'a>(
    over: impl Iterator<Item = Result<Pair, StoreError>> + 'a,
    under: impl Iterator<Item = Result<Pair, StoreError>> + 'a,
) -> impl Iterator<Item = Result<Pair, StoreError>> + 'a {
    let mut a = over.peekable();
    let mut b = under.peekable();
    std::iter::from_fn(move || {
        let take_a = match (a.peek(), b.peek()) {
            (None, None) => return None,
            (Some(Err(_)), _) | (Some(_), None) => true,
            (None, Some(_)) | (_, Some(Err(_))) => false,
            (Some(Ok((ka, _))), Some(Ok((kb, _)))) => {
                if ka == kb {
                    b.next();
                    true
                } else {
                    ka < kb
                }
            }
        };
        if take_a {
            a.next()
        } else {
            b.next()
        }
    })
}

/// Writes `bytes` as the whole content of a new file (then fsynced).
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_map_to_seqs() {
        assert_eq!(first_seq_from(b""), 0);
        assert_eq!(first_seq_from(b"a"), 0);
        assert_eq!(first_seq_from(b"f"), 1 << 64);
        assert_eq!(first_seq_from(b"e"), 0);
        assert_eq!(first_seq_from(&log_key(7)), 7);
        let mut k = log_key(7);
        k.push(0);
        assert_eq!(first_seq_from(&k), 8);
        assert_eq!(first_seq_from(&[b'e', 0, 0, 0, 0, 0, 0, 1]), 256);
    }

    #[test]
    fn records_read_back_and_unpublished_bytes_are_cut() {
        let dir = tempfile::tempdir().expect("dir");
        let log = EntryLog::open(dir.path(), Extent::default()).expect("open");
        let e1 = log
            .append(Extent::default(), &[b"one", b"second"])
            .expect("append");
        log.sync().expect("sync");
        assert_eq!(e1.records, 2);
        assert_eq!(log.get(1, e1).expect("get"), b"second");
        let e2 = log.append(e1, &[b"three"]).expect("append");
        let all: Vec<_> = log.iter(0, 9, e2).map(|r| r.expect("read").1).collect();
        assert_eq!(
            all,
            vec![b"one".to_vec(), b"second".to_vec(), b"three".to_vec()]
        );
        drop(log);
        // Reopened at the first extent: the third record is cut off before
        // the next write.
        let log = EntryLog::open(dir.path(), e1).expect("reopen");
        assert_eq!(log.size(), e2.bytes + 24);
        log.cut(e1).expect("cut");
        assert_eq!(log.size(), e1.bytes + 16);
        assert_eq!(log.iter(1, 9, e1).count(), 1);
        // Published bytes missing: damage.
        assert!(matches!(
            EntryLog::open(dir.path(), e2),
            Err(StoreError::Damaged(_))
        ));
    }
}
