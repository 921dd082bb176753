//! The default [`Store`]: one sled database, its default tree.
//!
//! A commit is one `apply_batch` (sled recovers a batch all or nothing),
//! then `flush()`, then an fsync of sled's data file: `flush()` alone uses
//! `sync_file_range` on Linux, which does not make data durable.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::entry_log::{self, EntryLog, Extent, LOG_KEY};
use super::undo::{self, Journal};
use super::{Pair, Scan, Store, StoreError, Write};

pub use crate::limits::{
    SLED_READ_CACHE_BYTES as READ_CACHE, SLED_SCAN_CACHE_BYTES as SCAN_CACHE,
    SLED_WRITE_CACHE_BYTES as WRITE_CACHE,
};

/// The head witness file, beside sled's own files.
pub const WITNESS: &str = "pactum.head";
/// The most bytes a witness record may have.
const WITNESS_BYTES_MAX: usize = 64;

/// A step of [`Store::commit`] or [`Store::witness_put`] at which a test can
/// make the store fail (see [`SledStore::set_fault_hook`]). Each is reached
/// just before the operation it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultPoint {
    /// sled's `apply_batch` (the write).
    ApplyBatch,
    /// sled's `flush`, after `apply_batch`.
    Flush,
    /// The fsync of sled's data file `db`.
    DataSync,
    /// The fsync of one blob file (reached once per blob the commit wrote).
    BlobSync,
    /// The fsync of the `blobs/` folder (reached when a blob was synced).
    BlobDirSync,
    /// Writing the head witness record over the old one in `pactum.head`.
    WitnessWrite,
    /// The fdatasync of `pactum.head`.
    WitnessSync,
    /// The fsync of the entry log, before the sled batch that publishes it.
    LogSync,
    /// Writing one part of the undo journal of a staged batch.
    UndoWrite,
}

/// A hook called at each [`FaultPoint`]; an error fails the step there.
type FaultHook = Box<dyn Fn(FaultPoint) -> std::io::Result<()> + Send + Sync>;

/// A ledger in a sled database at a path.
pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
    data_file: File,
    /// `pactum.head`, opened at the first witness write.
    witness: std::sync::Mutex<Option<File>>,
    fault: Option<FaultHook>,
    /// Blobs that sled removed between a commit's listing and its fsync.
    blobs_vanished: std::sync::atomic::AtomicU64,
    /// The entry log (the values of the `e` keys).
    log: EntryLog,
    /// Its extent, and the batch being staged.
    state: std::sync::Mutex<LogState>,
}

/// The entry log's extents and the batch being staged, if any.
#[derive(Debug)]
struct LogState {
    /// What the last durable sled commit published.
    published: Extent,
    /// What this process wrote (past `published` while a batch is staged).
    written: Extent,
    /// The undo journal of the batch being staged.
    journal: Option<Journal>,
    /// When the batch being staged began (its blobs are fsynced at its commit).
    staged_since: Option<std::time::SystemTime>,
    /// The log's files may hold bytes past `published` (a killed writer's):
    /// cut before the first write.
    uncut: bool,
}

impl LogState {
    /// Cuts the log back to the published extent before its first write.
    fn before_write(&mut self, log: &EntryLog) -> Result<(), StoreError> {
        if self.uncut {
            log.cut(self.published)?;
            self.uncut = false;
        }
        Ok(())
    }
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish()
    }
}

fn io(path: &Path, what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(format!("{}: {what}: {e}", path.display()))
}

impl SledStore {
    /// Whether a ledger exists at `path` (sled's data file is there).
    pub fn exists(path: &Path) -> bool {
        path.join("db").is_file()
    }

    /// Opens (creating it when missing) the sled database at `path`, waiting
    /// up to `wait` while another process holds it, with sled's page cache
    /// at [`READ_CACHE`].
    pub fn open(path: &Path, wait: Duration) -> Result<SledStore, StoreError> {
        SledStore::open_with_cache(path, wait, READ_CACHE)
    }

    /// [`SledStore::open`] with sled's page cache at `cache` bytes (an upper
    /// bound on what sled keeps in memory; it is not persisted).
    pub fn open_with_cache(
        path: &Path,
        wait: Duration,
        cache: u64,
    ) -> Result<SledStore, StoreError> {
        let started = Instant::now();
        let created = !SledStore::exists(path);
        if created {
            write_conf(path)?;
        }
        let mut retried = false;
        loop {
            let config = sled::Config::new()
                .path(path)
                .flush_every_ms(None)
                .mode(sled::Mode::LowSpace)
                .use_compression(compressed(path))
                .compression_factor(COMPRESSION_LEVEL)
                .cache_capacity(cache);
            match config.open() {
                Ok(db) => {
                    let data_file = File::open(path.join("db"))
                        .map_err(|e| io(path, "cannot open sled's data file", e))?;
                    let published = read_extent(&db, path)?;
                    let log = EntryLog::open(path, published)?;
                    let store = SledStore {
                        db,
                        path: path.to_path_buf(),
                        data_file,
                        witness: std::sync::Mutex::new(None),
                        blobs_vanished: Default::default(),
                        fault: None,
                        log,
                        state: std::sync::Mutex::new(LogState {
                            published,
                            written: published,
                            journal: None,
                            staged_since: None,
                            uncut: true,
                        }),
                    };
                    if created {
                        // Make the new files' directory entries durable too.
                        store.sync_dir()?;
                    }
                    store.recover_staged()?;
                    store.migrate_entries()?;
                    return Ok(store);
                }
                Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                    if started.elapsed() >= wait {
                        return Err(StoreError::Busy {
                            path: path.display().to_string(),
                        });
                    }
                    thread::sleep(Duration::from_millis(20));
                }
                Err(sled::Error::Corruption { .. })
                    if !retried && remove_unfinished_snapshots(path) =>
                {
                    retried = true;
                }
                Err(sled::Error::Io(e)) if !io_means_damage(&e) => {
                    return Err(open_io_error(path, &e))
                }
                Err(e) => {
                    return Err(StoreError::Damaged(format!(
                        "{}: sled cannot open the database: {}",
                        path.display(),
                        describe(e)
                    )))
                }
            }
        }
    }

    /// sled writes large values, and tree nodes that grew large, to files of
    /// their own under `blobs/`, and never fsyncs them: pactum fsyncs every
    /// blob file modified since the commit started (with slack for coarse
    /// file times).
    fn sync_blobs(&self, since: std::time::SystemTime) -> Result<(), StoreError> {
        let dir = self.path.join("blobs");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&dir, "cannot list sled's blobs", e)),
        };
        let mut any = false;
        for e in entries {
            let e = e.map_err(|e| io(&dir, "cannot list sled's blobs", e))?;
            let fresh = e
                .metadata()
                .and_then(|m| m.modified())
                .map_or(true, |t| t + Duration::from_secs(2) >= since);
            if fresh {
                any = true;
                let p = e.path();
                match self
                    .fault(FaultPoint::BlobSync)
                    .and_then(|()| File::open(&p))
                    .and_then(|f| f.sync_all())
                {
                    Ok(()) => {}
                    // sled removed the blob between the listing and the fsync:
                    // it held a value no longer stored (sled removes a blob
                    // once nothing refers to it), so nothing of it needs to
                    // be durable. The commit is not failed for it.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        self.blobs_vanished
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(e) => return Err(io(&p, "cannot fsync a sled blob", e)),
                }
            }
        }
        if any {
            self.fault(FaultPoint::BlobDirSync)
                .and_then(|()| File::open(&dir))
                .and_then(|d| d.sync_all())
                .map_err(|e| io(&dir, "cannot fsync the blobs folder", e))?;
        }
        Ok(())
    }

    fn sync_dir(&self) -> Result<(), StoreError> {
        File::open(&self.path)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(&self.path, "cannot fsync the ledger directory", e))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Undoes a batch a killed writer was staging (its undo journal is
    /// there and its commit was not published), or removes a stale journal.
    fn recover_staged(&self) -> Result<(), StoreError> {
        let Some(found) = undo::Found::read(&self.path)? else {
            return Ok(());
        };
        if found.commits == self.state().published.commits {
            found.undo(|writes| self.apply(writes))?;
            self.durable(std::time::SystemTime::UNIX_EPOCH)?;
        }
        found.remove()?;
        self.sync_dir()
    }

    /// Applies writes to sled and flushes them (not yet durable).
    fn apply(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for w in writes {
            match w {
                Write::Put(k, v) => batch.insert(k, v),
                Write::Delete(k) => batch.remove(k),
            }
        }
        self.fault(FaultPoint::ApplyBatch)
            .map_err(|e| io(&self.path, "write failed", e))?;
        self.db
            .apply_batch(batch)
            .map_err(|e| io(&self.path, "write failed", describe(e)))?;
        self.fault(FaultPoint::Flush)
            .map_err(|e| io(&self.path, "flush failed", e))?;
        self.db
            .flush()
            .map_err(|e| io(&self.path, "flush failed", describe(e)))?;
        Ok(())
    }

    /// Makes what sled holds durable: its data file, and its blobs written since `since`.
    fn durable(&self, since: std::time::SystemTime) -> Result<(), StoreError> {
        self.fault(FaultPoint::DataSync)
            .and_then(|()| self.data_file.sync_data())
            .map_err(|e| io(&self.path, "fsync failed", e))?;
        self.sync_blobs(since)
    }

    /// Moves entry values that sled holds (a ledger of layout 2) into the
    /// entry log, in parts: each part is appended to the log and fsynced,
    /// then one sled batch removes its keys and publishes the longer log.
    /// A kill between the two leaves the keys in sled and the log is cut
    /// back on the next open. A no-op (one read) when there are none.
    fn migrate_entries(&self) -> Result<(), StoreError> {
        const PART_BYTES: usize = 16 * 1024 * 1024;
        loop {
            let at = self.state().published;
            let mut keys = Vec::new();
            let mut values = Vec::new();
            let mut bytes = 0;
            let end = [entry_log::LOG_PREFIX + 1];
            for item in self.db.range(entry_log::log_key(at.records)..end.to_vec()) {
                let (k, v) = item.map_err(|e| io(&self.path, "read failed", describe(e)))?;
                if entry_log::log_seq(&k) != Some(at.records + keys.len() as u64) {
                    break;
                }
                bytes += v.len();
                keys.push(k);
                values.push(v);
                if bytes >= PART_BYTES {
                    break;
                }
            }
            if keys.is_empty() {
                return Ok(());
            }
            let refs: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
            self.state().before_write(&self.log)?;
            let mut next = self.log.append(at, &refs)?;
            next.commits = at.commits + 1;
            self.fault(FaultPoint::LogSync)
                .map_err(|e| io(&self.path, "cannot fsync the entry log", e))?;
            self.log.sync()?;
            let mut writes: Vec<Write> = keys
                .into_iter()
                .map(|k| Write::Delete(k.to_vec()))
                .collect();
            writes.push(Write::Put(LOG_KEY.to_vec(), next.encode()));
            let started = std::time::SystemTime::now();
            self.apply(writes)?;
            self.durable(started)?;
            let mut st = self.state();
            st.published = next;
            st.written = next;
        }
    }

    /// Splits writes into the values appended to the entry log (puts of the
    /// next log keys, in order, from `at`) and the writes sled takes.
    fn split_log(at: u64, writes: Vec<Write>) -> (Vec<Vec<u8>>, Vec<Write>) {
        let mut next = at;
        let mut log = Vec::new();
        let mut rest = Vec::with_capacity(writes.len());
        for w in writes {
            match w {
                Write::Put(k, v) if entry_log::log_seq(&k) == Some(next) => {
                    log.push(v);
                    next += 1;
                }
                w => rest.push(w),
            }
        }
        (log, rest)
    }

    /// How many blobs sled removed between a commit's listing of its blobs
    /// and their fsync (each one skipped, not an error).
    pub fn blobs_vanished(&self) -> u64 {
        self.blobs_vanished
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The ledger's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// **Testing hook** (fault injection): calls `hook` at each step of every
    /// later commit and witness write (see [`FaultPoint`]), just before that
    /// step; when it returns an error, the step fails with it there, as if
    /// the operating system had refused the write, flush or fsync. The
    /// steps before it have happened (sled may hold applied writes in
    /// memory): drop the store and reopen the path to see what survived.
    /// Without a hook a step costs one `Option` check.
    pub fn set_fault_hook(
        &mut self,
        hook: Box<dyn Fn(FaultPoint) -> std::io::Result<()> + Send + Sync>,
    ) {
        self.fault = Some(hook);
    }

    /// Runs the fault hook, if any, at `point`.
    fn fault(&self, point: FaultPoint) -> std::io::Result<()> {
        match &self.fault {
            None => Ok(()),
            Some(hook) => hook(point),
        }
    }
}

/// The entry log's published extent ([`LOG_KEY`]; none yet: empty).
fn read_extent(db: &sled::Db, path: &Path) -> Result<Extent, StoreError> {
    match db
        .get(LOG_KEY)
        .map_err(|e| io(path, "read failed", describe(e)))?
    {
        None => Ok(Extent::default()),
        Some(v) => Extent::decode(&v).ok_or_else(|| {
            StoreError::Damaged(format!(
                "{}: the entry log's published length is malformed",
                path.display()
            ))
        }),
    }
}

/// sled's `conf` for pactum's settings (text, then its CRC-32): sled writes
/// it with two writes, so a kill between them leaves a file sled refuses.
/// New ledgers are compressed (zstd); a ledger made before keeps its
/// setting (sled refuses to open a database with another one).
const SLED_CONF: &[u8] =
    b"segment_size: 524288\nuse_compression: true\nversion: 0.34\n\xf5\x66\x10\x89";
/// The `conf` of a ledger made without compression (before layout 3).
const SLED_CONF_PLAIN: &[u8] =
    b"segment_size: 524288\nuse_compression: false\nversion: 0.34\n\x76\x19\x51\xc1";
/// zstd's level for sled's compression: 3 (zstd's default) costs a third of
/// sled's default 5 in time for nearly the same size.
const COMPRESSION_LEVEL: i32 = 3;

/// Whether the database at `path` is compressed: what its `conf` says (a
/// new one is: [`write_conf`] writes it first).
fn compressed(path: &Path) -> bool {
    std::fs::read(path.join("conf")).map_or(true, |b| {
        !b.starts_with(&SLED_CONF_PLAIN[..SLED_CONF_PLAIN.len() - 4])
    })
}

/// Writes sled's `conf` whole (temporary file, rename) when it is missing or torn.
fn write_conf(path: &Path) -> Result<(), StoreError> {
    let conf = path.join("conf");
    if std::fs::read(&conf).is_ok_and(|b| b.len() >= SLED_CONF.len()) {
        return Ok(());
    }
    // A temporary file of this process's own: processes creating the same
    // ledger at once each write theirs and rename it; the last rename wins,
    // and every one of them is the same constant text.
    let tmp = path.join(format!("conf.pactum-tmp.{}", std::process::id()));
    let written = std::fs::create_dir_all(path)
        .and_then(|()| std::fs::write(&tmp, SLED_CONF))
        .and_then(|()| std::fs::rename(&tmp, &conf));
    match written {
        Ok(()) => Ok(()),
        // Another process may have written it whole meanwhile.
        Err(_) if std::fs::read(&conf).is_ok_and(|b| b.len() >= SLED_CONF.len()) => {
            let _ = std::fs::remove_file(&tmp);
            Ok(())
        }
        Err(e) => Err(io(path, "cannot write sled's configuration", e)),
    }
}

/// Removes `snap.*.generating`: snapshots sled was writing when it was
/// killed. sled 0.34.7 takes one for the newest snapshot and reports
/// corruption; without it, sled recovers from the last finished snapshot.
fn remove_unfinished_snapshots(path: &Path) -> bool {
    let Ok(rd) = std::fs::read_dir(path) else {
        return false;
    };
    let mut any = false;
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            any |= std::fs::remove_file(e.path()).is_ok();
        }
    }
    any
}

/// Whether an I/O error from opening sled says its files are damaged (cut
/// short, unreadable as sled's) rather than that they cannot be reached.
fn io_means_damage(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
    )
}

/// An I/O error opening the database that is no damage: no permission, a
/// full disk, a read-only file system. The ledger may be perfectly sound.
fn open_io_error(path: &Path, e: &std::io::Error) -> StoreError {
    let hint = match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            " (pactum opens the ledger's files for writing, even to read them: \
             it needs write permission on the folder and its files; or copy the folder and read the copy)"
        }
        _ => "",
    };
    StoreError::Io(format!(
        "{}: cannot open the ledger: {e}{hint}",
        path.display()
    ))
}

fn describe(e: sled::Error) -> String {
    match e {
        sled::Error::Corruption { at, bt: _ } => match at {
            Some(at) => format!("sled reports corruption at {at}"),
            None => "sled reports corruption".to_string(),
        },
        sled::Error::Io(e) => format!("I/O error: {e}"),
        sled::Error::Unsupported(s) => format!("unsupported: {s}"),
        sled::Error::ReportableBug(s) => format!("sled failed: {s}"),
        sled::Error::CollectionNotFound(_) => "collection not found".to_string(),
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if key.first() == Some(&0) {
            return Ok(None);
        }
        let stored = self
            .db
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| io(&self.path, "read failed", describe(e)))?;
        match (stored, entry_log::log_seq(key)) {
            (Some(v), _) => Ok(Some(v)),
            (None, Some(seq)) => {
                let written = self.state().written;
                if seq < written.records {
                    self.log.get(seq, written).map(Some)
                } else {
                    Ok(None)
                }
            }
            (None, None) => Ok(None),
        }
    }

    fn scan(&self, start: &[u8], end: Option<&[u8]>) -> Scan<'_> {
        // Keys from 0x00 are the store's own.
        let start = if start < &[1u8][..] {
            &[1u8][..]
        } else {
            start
        };
        if end.is_some_and(|end| end <= start) {
            return Box::new(std::iter::empty());
        }
        let iter = match end {
            Some(end) => self.db.range(start.to_vec()..end.to_vec()),
            None => self.db.range(start.to_vec()..),
        };
        let sled = iter.map(move |r| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec()) as Pair)
                .map_err(|e| io(&self.path, "read failed", describe(e)))
        });
        let written = self.state().written;
        let from = entry_log::first_seq_from(start);
        let to = end.map_or(1 << 64, entry_log::first_seq_from);
        let to = to.min(u128::from(written.records));
        if from >= to {
            return Box::new(sled);
        }
        let log = self.log.iter(from as u64, to as u64, written);
        Box::new(entry_log::merge(sled, log))
    }

    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<Pair>, StoreError> {
        let start = if start < &[1u8][..] {
            &[1u8][..]
        } else {
            start
        };
        if end <= start {
            return Ok(None);
        }
        let sled = match self.db.range(start.to_vec()..end.to_vec()).next_back() {
            None => None,
            Some(r) => Some(
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(|e| io(&self.path, "read failed", describe(e)))?,
            ),
        };
        let written = self.state().written;
        let from = entry_log::first_seq_from(start);
        let to = entry_log::first_seq_from(end).min(u128::from(written.records));
        if from >= to {
            return Ok(sled);
        }
        let key = entry_log::log_key(to as u64 - 1);
        match sled {
            Some((k, v)) if k >= key => Ok(Some((k, v))),
            _ => {
                let v = self.log.get(to as u64 - 1, written)?;
                Ok(Some((key, v)))
            }
        }
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let started = std::time::SystemTime::now();
        let mut st = self.state();
        let (values, mut rest) = SledStore::split_log(st.written.records, writes);
        if !values.is_empty() {
            st.before_write(&self.log)?;
            let refs: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
            st.written = self.log.append(st.written, &refs)?;
        }
        let publish = (st.written != st.published).then(|| Extent {
            commits: st.published.commits + 1,
            ..st.written
        });
        if let Some(next) = publish {
            // The records first: the batch below refers to them.
            self.fault(FaultPoint::LogSync)
                .map_err(|e| io(&self.path, "cannot fsync the entry log", e))?;
            self.log.sync()?;
            rest.push(Write::Put(LOG_KEY.to_vec(), next.encode()));
        }
        self.apply(rest)?;
        self.durable(st.staged_since.unwrap_or(started))?;
        if let Some(next) = publish {
            st.published = next;
            st.written = next;
        }
        if st.journal.take().is_some() {
            st.staged_since = None;
            // Stale now (the commit count moved on): a failure to remove it is harmless.
            let _ = undo::remove(&self.path.join(undo::UNDO_FILE));
        }
        Ok(())
    }

    fn can_stage(&self) -> bool {
        true
    }

    fn stage(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut st = self.state();
        if st.journal.is_none() {
            st.journal = Some(Journal::create(&self.path, st.published.commits)?);
            st.staged_since = Some(std::time::SystemTime::now());
        }
        let (values, rest) = SledStore::split_log(st.written.records, writes);
        st.before_write(&self.log)?;
        let mut old = std::collections::BTreeMap::new();
        for w in &rest {
            let k = match w {
                Write::Put(k, _) | Write::Delete(k) => k,
            };
            if !old.contains_key(k) {
                let v = self
                    .db
                    .get(k)
                    .map_err(|e| io(&self.path, "read failed", describe(e)))?;
                old.insert(k.clone(), v.map(|v| v.to_vec()));
            }
        }
        let old: Vec<(Vec<u8>, Option<Vec<u8>>)> = old.into_iter().collect();
        self.fault(FaultPoint::UndoWrite)
            .map_err(|e| io(&self.path, "cannot write the undo journal", e))?;
        if let Some(j) = st.journal.as_mut() {
            j.part(&old)?;
        }
        if !values.is_empty() {
            let refs: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
            st.written = self.log.append(st.written, &refs)?;
        }
        self.apply(rest)
    }

    fn unstage(&self) -> Result<(), StoreError> {
        let mut st = self.state();
        if st.journal.take().is_none() {
            return Ok(());
        }
        st.staged_since = None;
        if let Some(found) = undo::Found::read(&self.path)? {
            found.undo(|writes| self.apply(writes))?;
            self.durable(std::time::SystemTime::UNIX_EPOCH)?;
            found.remove()?;
        }
        self.log.cut(st.published)?;
        st.written = st.published;
        Ok(())
    }

    fn witness_put(&self, record: &[u8]) -> Result<(), StoreError> {
        // One record written in place (a pwrite of 57 bytes at offset 0),
        // then one fdatasync; the file is created, and its folder fsynced,
        // only once. A record torn by a crash fails its check and reads as
        // no witness (the commit before it was already durable).
        if record.len() > WITNESS_BYTES_MAX {
            return Err(StoreError::Io(format!(
                "a head witness is at most {WITNESS_BYTES_MAX} bytes"
            )));
        }
        let mut slot = self.witness.lock().unwrap_or_else(|p| p.into_inner());
        let write = |slot: &mut Option<File>| -> std::io::Result<()> {
            if slot.is_none() {
                let path = self.path.join(WITNESS);
                let existed = path.exists();
                let f = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)?;
                if !existed {
                    f.sync_all()?;
                    File::open(&self.path)?.sync_all()?;
                }
                *slot = Some(f);
            }
            let Some(f) = slot.as_ref() else {
                return Ok(());
            };
            self.fault(FaultPoint::WitnessWrite)?;
            std::os::unix::fs::FileExt::write_all_at(f, record, 0)?;
            f.set_len(record.len() as u64)?;
            self.fault(FaultPoint::WitnessSync)?;
            f.sync_data()
        };
        write(&mut slot).map_err(|e| {
            *slot = None;
            io(&self.path, "cannot write the head witness", e)
        })
    }

    fn witness_get(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match std::fs::read(self.path.join(WITNESS)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&self.path, "cannot read the head witness", e)),
        }
    }

    fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0) + self.log.size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pactum writes sled's `conf` itself (whole, by rename): it must be
    /// byte for byte what sled 0.34.7 writes for the same settings; a
    /// ledger keeps the compression setting it was made with.
    #[test]
    fn the_conf_pactum_writes_is_the_one_sled_writes() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, compress, conf) in [("plain", false, SLED_CONF_PLAIN), ("zstd", true, SLED_CONF)]
        {
            let path = dir.path().join(name);
            let db = sled::Config::new()
                .path(&path)
                .flush_every_ms(None)
                .mode(sled::Mode::LowSpace)
                .use_compression(compress)
                .cache_capacity(64 * 1024 * 1024)
                .open()
                .expect("open");
            drop(db);
            assert_eq!(std::fs::read(path.join("conf")).expect("conf"), conf);
            assert_eq!(compressed(&path), compress);
            let store = SledStore::open(&path, Duration::from_secs(5)).expect("pactum opens it");
            store
                .commit(vec![Write::Put(b"k".to_vec(), vec![7; 3000])])
                .expect("commit");
        }
        assert!(compressed(&dir.path().join("new")));
    }

    /// `len` bytes that do not compress (sled stores a large value as a
    /// blob only when it stays large once compressed).
    fn noise(seed: u8, len: usize) -> Vec<u8> {
        let mut x = u64::from(seed) + 1;
        (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn the_witness_is_written_in_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger");
        let store = SledStore::open(&path, Duration::from_secs(5)).expect("create");
        assert_eq!(store.witness_get().expect("get"), None);
        store.witness_put(&[1; 57]).expect("put");
        store.witness_put(&[2; 57]).expect("put");
        assert_eq!(store.witness_get().expect("get"), Some(vec![2; 57]));
        store.witness_put(&[3; 40]).expect("put");
        assert_eq!(store.witness_get().expect("get"), Some(vec![3; 40]));
        assert_eq!(std::fs::read(path.join(WITNESS)).expect("read").len(), 40);
        assert!(store.witness_put(&[4; WITNESS_BYTES_MAX + 1]).is_err());
    }

    /// sled removes the blob of a value once the value is rewritten; a commit
    /// lists the fresh blobs, then fsyncs each, so a blob can vanish in
    /// between (seen at ~91k entries: `cannot fsync a sled blob: No such
    /// file or directory` after sled had applied the batch). Large values
    /// rewritten by two writers at once make it happen often: no commit may
    /// fail for it, and every value committed last must read back.
    #[test]
    fn a_blob_that_sled_removes_during_a_commit_does_not_fail_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger");
        let store = SledStore::open(&path, Duration::from_secs(5)).expect("create");
        let rounds = 60u32;
        std::thread::scope(|s| {
            for writer in 0..2u8 {
                let store = &store;
                s.spawn(move || {
                    for round in 0..rounds {
                        let key = vec![b'x', writer, (round % 3) as u8];
                        let value = noise((round % 251) as u8, 200 * 1024);
                        store
                            .commit(vec![Write::Put(key, value)])
                            .unwrap_or_else(|e| panic!("writer {writer}, round {round}: {e}"));
                    }
                });
            }
        });
        for writer in 0..2u8 {
            for k in 0..3u32 {
                let last = (0..rounds).filter(|r| r % 3 == k).max().expect("a round");
                let v = store
                    .get(&[b'x', writer, k as u8])
                    .expect("get")
                    .expect("value");
                assert_eq!(v, noise((last % 251) as u8, 200 * 1024));
            }
        }
        assert!(
            path.join("blobs").is_dir(),
            "the values were not stored as blobs"
        );
        println!(
            "blobs removed by sled during a commit: {}",
            store.blobs_vanished()
        );
    }

    /// The same race, made certain: sled's removal of an old blob is
    /// placed exactly between the commit's listing and its fsync.
    #[test]
    fn a_blob_removed_between_the_listing_and_its_fsync_is_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger");
        let mut store = SledStore::open(&path, Duration::from_secs(5)).expect("create");
        store
            .commit(vec![Write::Put(b"k".to_vec(), noise(1, 200 * 1024))])
            .expect("first");
        let blobs = path.join("blobs");
        let old: Vec<PathBuf> = std::fs::read_dir(&blobs)
            .expect("blobs")
            .map(|e| e.expect("entry").path())
            .collect();
        assert!(!old.is_empty(), "the value was not stored as a blob");
        store.set_fault_hook(Box::new(move |point| {
            if point == FaultPoint::BlobSync {
                for f in &old {
                    if f.exists() {
                        std::fs::remove_file(f)?;
                    }
                }
            }
            Ok(())
        }));
        store
            .commit(vec![Write::Put(b"k".to_vec(), noise(2, 200 * 1024))])
            .expect("a vanished blob does not fail the commit");
        assert!(store.blobs_vanished() >= 1, "the race was not reproduced");
        assert_eq!(store.get(b"k").expect("get"), Some(noise(2, 200 * 1024)));
        drop(store);
        let store = SledStore::open(&path, Duration::from_secs(5)).expect("reopen");
        assert_eq!(store.get(b"k").expect("get"), Some(noise(2, 200 * 1024)));
    }

    #[test]
    fn an_unfinished_snapshot_is_removed_and_the_open_retried() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger");
        let store = SledStore::open(&path, Duration::from_secs(5)).expect("create");
        store
            .commit(vec![Write::Put(b"k".to_vec(), b"v".to_vec())])
            .expect("commit");
        drop(store);
        std::fs::write(path.join("snap.FFFFFFFFFFFFFFFF.generating"), b"").expect("leftover");
        let store = SledStore::open(&path, Duration::from_secs(5)).expect("reopen");
        assert_eq!(store.get(b"k").expect("get"), Some(b"v".to_vec()));
    }

    /// A ledger that cannot be opened for want of permission is no damaged
    /// ledger: `Io` (exit 2 in the CLI), naming the cause; damage stays damage.
    #[test]
    fn no_permission_is_an_io_error_not_damage() {
        let path = Path::new("/some/ledger");
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!io_means_damage(&denied));
        match open_io_error(path, &denied) {
            StoreError::Io(m) => {
                assert!(
                    m.starts_with("/some/ledger: cannot open the ledger: "),
                    "{m}"
                );
                assert!(m.contains("write permission"), "{m}");
                assert!(!m.contains("re-import"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(io_means_damage(&std::io::Error::from(
            std::io::ErrorKind::UnexpectedEof
        )));
    }
}
