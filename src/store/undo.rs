//! The undo journal of a staged batch (`pactum.undo` beside sled's files):
//! what [`SledStore`](super::SledStore) writes before each staged part of a
//! batch reaches sled, so that a batch too large for one sled commit is
//! still recorded all or nothing.
//!
//! ```text
//! header  "pactum-undo 1\n" ‖ u64_be(commits)      the log's commit count when staging began
//! part    0x50 'P' ‖ u32_le(n)                     n records follow, the old values of one staged part
//! record  0x00 ‖ u32_le(klen) ‖ key                the key was absent
//!       | 0x01 ‖ u32_le(klen) ‖ key ‖ u32_le(vlen) ‖ value
//! ```
//!
//! Each part is appended and fsynced before its writes are applied, so
//! whatever of the batch reached sled has its old values on disk. To undo,
//! the parts are applied last first (each record restores its key): the
//! result is the store before the first part, however often an undo is
//! itself cut short and run again. A torn last part was never applied and
//! restores values that are current anyway. When the commit that publishes
//! the batch is durable, the log's commit count differs from the header's
//! and the journal is stale: it is removed, not applied.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::{StoreError, Write};

/// The journal's file name.
pub const UNDO_FILE: &str = "pactum.undo";
const MAGIC: &[u8] = b"pactum-undo 1\n";

fn io(path: &Path, what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(format!("{}: {what}: {e}", path.display()))
}

/// An open journal, being written.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    len: u64,
}

impl Journal {
    /// Creates the journal (durably, with its directory entry).
    pub fn create(dir: &Path, commits: u64) -> Result<Journal, StoreError> {
        let path = dir.join(UNDO_FILE);
        let mut head = MAGIC.to_vec();
        head.extend_from_slice(&commits.to_be_bytes());
        super::entry_log::write_new(&path, &head)
            .and_then(|()| File::open(dir)?.sync_all())
            .map_err(|e| io(&path, "cannot write the undo journal", e))?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| io(&path, "cannot write the undo journal", e))?;
        Ok(Journal {
            path,
            file,
            len: head.len() as u64,
        })
    }

    /// Appends one part (the old values of the keys it is about to write)
    /// and makes it durable.
    pub fn part(&mut self, old: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        let mut b = Vec::new();
        b.push(b'P');
        b.extend_from_slice(&(old.len() as u32).to_le_bytes());
        for (k, v) in old {
            b.push(u8::from(v.is_some()));
            b.extend_from_slice(&(k.len() as u32).to_le_bytes());
            b.extend_from_slice(k);
            if let Some(v) = v {
                b.extend_from_slice(&(v.len() as u32).to_le_bytes());
                b.extend_from_slice(v);
            }
        }
        self.file
            .write_all_at(&b, self.len)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io(&self.path, "cannot write the undo journal", e))?;
        self.len += b.len() as u64;
        Ok(())
    }
}

/// A journal found on disk: its commit count and where its parts start.
pub struct Found {
    path: PathBuf,
    /// The log's commit count when staging began.
    pub commits: u64,
    parts: Vec<u64>,
}

fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_bytes(r: &mut impl Read, n: u32) -> std::io::Result<Vec<u8>> {
    let mut v = vec![0u8; n as usize];
    r.read_exact(&mut v)?;
    Ok(v)
}

/// Reads one part's records; `None` when the part is torn.
fn read_part(r: &mut impl Read) -> Option<Vec<Write>> {
    let mut tag = [0u8; 1];
    r.read_exact(&mut tag).ok()?;
    if tag[0] != b'P' {
        return None;
    }
    let n = read_u32(r).ok()?;
    let mut out = Vec::new();
    for _ in 0..n {
        r.read_exact(&mut tag).ok()?;
        let k = read_u32(r).and_then(|n| read_bytes(r, n)).ok()?;
        match tag[0] {
            0 => out.push(Write::Delete(k)),
            1 => {
                let v = read_u32(r).and_then(|n| read_bytes(r, n)).ok()?;
                out.push(Write::Put(k, v));
            }
            _ => return None,
        }
    }
    Some(out)
}

impl Found {
    /// The journal in `dir`, if there is one with a whole header.
    pub fn read(dir: &Path) -> Result<Option<Found>, StoreError> {
        let path = dir.join(UNDO_FILE);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path, "cannot read the undo journal", e)),
        };
        let mut r = BufReader::new(file);
        let mut head = vec![0u8; MAGIC.len() + 8];
        if r.read_exact(&mut head).is_err() || !head.starts_with(MAGIC) {
            // Torn while being created: no part was written, nothing staged.
            return Ok(Some(Found {
                path,
                commits: u64::MAX,
                parts: Vec::new(),
            }));
        }
        let commits = u64::from_be_bytes(head[MAGIC.len()..].try_into().unwrap_or([0xff; 8]));
        let mut parts = Vec::new();
        let mut at = head.len() as u64;
        loop {
            let before = at;
            let mut counted = CountingReader {
                inner: &mut r,
                n: 0,
            };
            if read_part(&mut counted).is_none() {
                break;
            }
            at += counted.n;
            parts.push(before);
        }
        Ok(Some(Found {
            path,
            commits,
            parts,
        }))
    }

    /// Applies the parts last first, each through `apply`.
    pub fn undo(
        &self,
        mut apply: impl FnMut(Vec<Write>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use std::io::{Seek, SeekFrom};
        for at in self.parts.iter().rev() {
            let mut f = File::open(&self.path)
                .map_err(|e| io(&self.path, "cannot read the undo journal", e))?;
            f.seek(SeekFrom::Start(*at))
                .map_err(|e| io(&self.path, "cannot read the undo journal", e))?;
            let part = read_part(&mut BufReader::new(f))
                .ok_or_else(|| io(&self.path, "cannot read the undo journal", "a part changed"))?;
            apply(part)?;
        }
        Ok(())
    }

    /// Removes the journal.
    pub fn remove(self) -> Result<(), StoreError> {
        remove(&self.path)
    }
}

/// Removes the journal file at `path` (gone already is fine).
pub fn remove(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path, "cannot remove the undo journal", e)),
    }
}

struct CountingReader<'a, R: Read> {
    inner: &'a mut R,
    n: u64,
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_undo_last_first_and_a_torn_part_is_ignored() {
        let dir = tempfile::tempdir().expect("dir");
        let mut j = Journal::create(dir.path(), 7).expect("create");
        j.part(&[(b"a".to_vec(), None), (b"b".to_vec(), Some(b"1".to_vec()))])
            .expect("part");
        j.part(&[(b"b".to_vec(), Some(b"2".to_vec()))])
            .expect("part");
        drop(j);
        // A torn third part.
        let path = dir.path().join(UNDO_FILE);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.extend_from_slice(&[b'P', 3, 0, 0, 0, 1]);
        std::fs::write(&path, bytes).expect("write");
        let found = Found::read(dir.path()).expect("read").expect("found");
        assert_eq!(found.commits, 7);
        let mut applied = Vec::new();
        found
            .undo(|w| {
                applied.push(w);
                Ok(())
            })
            .expect("undo");
        assert_eq!(
            applied,
            vec![
                vec![Write::Put(b"b".to_vec(), b"2".to_vec())],
                vec![
                    Write::Delete(b"a".to_vec()),
                    Write::Put(b"b".to_vec(), b"1".to_vec())
                ],
            ]
        );
        found.remove().expect("remove");
        assert!(Found::read(dir.path()).expect("read").is_none());
    }
}
