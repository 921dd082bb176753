//! Where a ledger lives: what is at a ledger path before any database is
//! opened, opening it for reading, and appending to it so that a refused
//! append creates nothing on disk (the amendments are first judged on a
//! ledger in memory when there is no ledger yet).
//!
//! A ledger path may also be a PostgreSQL URL (`postgresql://` or
//! `postgres://`, see `store::postgres`): the same functions open, append
//! to and import into that database's ledger.
//!
//! A ledger is a folder of sled's files (`conf`, `db`, `blobs/`, `snap.*`)
//! and pactum's `pactum.head`. A folder holding only some of them, with no
//! ledger in the database, is a creation that never committed (killed, or
//! still running in another process): no ledger, which a writer may create.

use std::path::Path;
use std::time::Duration;

use crate::batch::Spool;
use crate::chain::Origin;
use crate::error::Error;
use crate::ledger::{AppendOptions, AppendReport, Ledger, Submission};
use crate::model::RecordedAt;
use crate::store::{AnyStore, MemStore, PgStore, SledStore, Store};

/// What is at a ledger path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Nothing: a writer creates the folder.
    Missing,
    /// An empty folder, one with only sled's and pactum's files, or one
    /// holding sled's data file `db` (a ledger's folder, whatever else a
    /// user has put beside it since).
    Folder,
    /// A regular file (or anything else that is not a folder).
    NotAFolder,
    /// A folder holding other files (one of them named): not a ledger's.
    Foreign(String),
}

/// Whether a file name is one of sled's or pactum's in a ledger folder.
fn ledger_file(name: &str) -> bool {
    matches!(
        name,
        "conf"
            | "db"
            | "blobs"
            | crate::store::WITNESS
            | crate::store::entry_log::LOG_FILE
            | crate::store::entry_log::INDEX_FILE
            | crate::store::UNDO_FILE
    ) || name.starts_with("snap.")
        || name.starts_with("conf.pactum-tmp.")
}

/// Looks at `path` without opening anything.
pub fn inspect(path: &Path) -> Result<Place, Error> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Place::Missing),
        Err(e) => return Err(io(path, "cannot look at the ledger", e)),
    };
    if !meta.is_dir() {
        return Ok(Place::NotAFolder);
    }
    let rd = std::fs::read_dir(path).map_err(|e| io(path, "cannot list the ledger folder", e))?;
    let mut foreign: Vec<String> = Vec::new();
    for e in rd {
        let e = e.map_err(|e| io(path, "cannot list the ledger folder", e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !ledger_file(&name) {
            foreign.push(name);
        }
    }
    foreign.sort();
    Ok(match foreign.into_iter().next() {
        Some(f) if !SledStore::exists(path) => Place::Foreign(f),
        _ => Place::Folder,
    })
}

fn io(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Io {
        message: format!("{}: {what}: {e}", path.display()),
        kind: e.kind(),
    }
}

/// What is at `path`, refused when it is no place for a ledger (a file, a
/// folder of other files).
pub fn usable(path: &Path) -> Result<Place, Error> {
    let place = inspect(path)?;
    match refuse(path, &place) {
        Some(e) => Err(e),
        None => Ok(place),
    }
}

/// The refusal for a path that is no place for a ledger, if it is not.
fn refuse(path: &Path, place: &Place) -> Option<Error> {
    match place {
        Place::NotAFolder => Some(Error::Usage(format!(
            "{} is a file, not a ledger: a ledger is a folder (give the path of a new or existing ledger folder)",
            path.display()
        ))),
        Place::Foreign(name) => Some(Error::Usage(format!(
            "{} holds other files (`{name}`…), not a ledger: a ledger needs a folder of its own (give a new path)",
            path.display()
        ))),
        Place::Missing | Place::Folder => None,
    }
}

/// Refuses a path that holds no ledger ([`Error::Missing`]: nothing there,
/// or no database in the folder) or something else (a file, a folder of
/// other files), before anything is opened. The audit opens the database
/// itself after this check (with its own page cache).
pub fn must_hold_a_database(path: &Path) -> Result<(), Error> {
    let place = usable(path)?;
    if place == Place::Missing || !SledStore::exists(path) {
        return Err(Error::Missing(path.to_path_buf()));
    }
    Ok(())
}

/// A ledger path as messages show it: a PostgreSQL URL without its
/// passwords (`store::postgres::shown`), any other path as it is.
pub fn shown(path: &Path) -> String {
    match pg_url(path) {
        Some(url) => crate::store::postgres::shown(url),
        None => path.display().to_string(),
    }
}

/// The PostgreSQL URL a ledger path is, if it is one.
pub fn pg_url(path: &Path) -> Option<&str> {
    path.to_str().filter(|s| crate::store::postgres::is_url(s))
}

/// Whether a PostgreSQL URL holds a ledger (read from a reader's snapshot).
fn pg_holds(url: &str) -> Result<bool, Error> {
    let probe = PgStore::connect(url, false)?;
    Ok(crate::layout::read_origin(&probe)?.is_some())
}

/// Opens the ledger at `path` for reading: refuses a path that holds no
/// ledger ([`Error::Missing`]) or something else.
pub fn open(path: &Path, wait: Duration) -> Result<Ledger<AnyStore>, Error> {
    Ledger::open(open_store(path, wait, crate::store::READ_CACHE)?)
}

/// Opens the store of the ledger at `path` for reading (sled with a page
/// cache of `cache` bytes; a PostgreSQL reader's snapshot), refusing a path
/// that holds no ledger ([`Error::Missing`]) or something else. The audit
/// reads the store as it is, through this.
pub fn open_store(path: &Path, wait: Duration, cache: u64) -> Result<AnyStore, Error> {
    if let Some(url) = pg_url(path) {
        let store = PgStore::connect(url, false)?;
        if crate::layout::read_origin(&store)?.is_none() {
            return Err(Error::Missing(path.to_path_buf()));
        }
        return Ok(AnyStore::Pg(store));
    }
    must_hold_a_database(path)?;
    let store = SledStore::open_with_cache(path, wait, cache)?;
    // sled's files without a ledger: a creation that never committed.
    if crate::layout::read_origin(&store)?.is_none()
        && crate::layout::read_witness(store.witness_get()?.as_deref())
            == crate::layout::Witness::None
    {
        return Err(Error::Missing(path.to_path_buf()));
    }
    // Layout 2: its entries moved to the log as sled opened; say layout 3.
    crate::layout::upgrade(&store)?;
    Ok(AnyStore::Sled(store))
}

/// Appends `amendments` to the ledger at `path`, creating it (with the
/// origin `origin` gives) when there is none. When there is none, the
/// amendments are judged first on a ledger in memory, so that a refusal
/// leaves nothing on disk; a batch of more than [`TRIAL_AMENDMENTS_MAX`]
/// into a new sled ledger is judged on disk instead (staged in parts, in
/// bounded memory), and a refusal removes the files the creation wrote. A
/// dry run writes nothing anywhere.
pub fn append(
    path: &Path,
    wait: Duration,
    amendments: &[Submission],
    now: RecordedAt,
    opts: AppendOptions,
    origin: impl FnOnce() -> Origin,
) -> Result<AppendReport, Error> {
    let each = || amendments.iter().cloned().map(Ok);
    append_each(path, wait, each, now, opts, origin)
}

/// [`append`] of the amendments `each()` yields (called once, or twice
/// when they are judged in memory first; its size hint counts them).
pub fn append_each<I: Iterator<Item = Result<Submission, Error>>>(
    path: &Path,
    wait: Duration,
    each: impl Fn() -> I,
    now: RecordedAt,
    opts: AppendOptions,
    origin: impl FnOnce() -> Origin,
) -> Result<AppendReport, Error> {
    if let Some(url) = pg_url(path) {
        // Judged in memory first when there is no ledger yet, so that a
        // refusal creates no tables; then one transaction under the lock.
        if !pg_holds(url)? {
            let trial = trial_append_each(each(), now, opts)?;
            if opts.dry_run {
                return Ok(trial);
            }
        }
        let store = AnyStore::Pg(PgStore::connect(url, true)?);
        return Ledger::open_or_create(store, origin)?.append_each(each(), now, opts);
    }
    let place = usable(path)?;
    let store = if SledStore::exists(path) {
        Some(SledStore::open_with_cache(
            path,
            wait,
            crate::store::WRITE_CACHE,
        )?)
    } else {
        None
    };
    let holds = match &store {
        Some(s) => crate::layout::read_origin(s)?.is_some(),
        None => false,
    };
    if holds {
        let ledger = Ledger::open(store.expect("checked: a store holds the ledger"))?;
        let appended = ledger.append_each(each(), now, opts);
        drop(ledger);
        settle(path, written(&appended, opts.dry_run));
        return appended;
    }
    if opts.dry_run || each().size_hint().0 <= TRIAL_AMENDMENTS_MAX {
        let trial = trial_append_each(each(), now, opts)?;
        if opts.dry_run {
            return Ok(trial);
        }
    }
    let store = match store {
        Some(s) => s,
        None => SledStore::open_with_cache(path, wait, crate::store::WRITE_CACHE)?,
    };
    let ledger = Ledger::open_or_create(store, origin)?;
    let appended = ledger.append_each(each(), now, opts);
    if appended.is_err() {
        // Still holding sled's lock: no other writer can have used the new
        // ledger. Its files go (sled keeps writing to them unlinked until
        // it is dropped); a writer waiting for the lock then creates anew.
        remove_new_ledger(path, place == Place::Missing);
    }
    drop(ledger);
    settle(path, written(&appended, opts.dry_run));
    appended
}

/// The entries an append wrote (none for a dry run or a refusal).
fn written(appended: &Result<AppendReport, Error>, dry_run: bool) -> u64 {
    match appended {
        Ok(report) if !dry_run => report
            .outcomes
            .iter()
            .filter(|o| matches!(o, crate::ledger::Outcome::Appended { .. }))
            .count() as u64,
        _ => 0,
    }
}

/// After a process closed the sled ledger at `path`, having written
/// `written` entries: from [`SETTLE_ENTRIES_MIN`](crate::limits::SETTLE_ENTRIES_MIN)
/// on, opens the folder once more (sled writes its recovery snapshot as it
/// opens), so that the cost of replaying what was written falls on this long
/// command, not on the user's next one. Best effort: the entries are durable
/// already, and if another process holds the folder by now, it has done the
/// replay.
fn settle(path: &Path, written: u64) {
    if written >= crate::limits::SETTLE_ENTRIES_MIN {
        drop(SledStore::open(path, Duration::ZERO));
    }
}

/// Most amendments a batch into a new ledger may have to be judged in
/// memory first (beyond it, on disk: see [`append`]).
pub const TRIAL_AMENDMENTS_MAX: usize = 10_000;

/// Removes what a creation that is being given up wrote at `path`: the
/// ledger's own files, and the folder when it was created too and is now
/// empty. Best effort: what stays is a ledger without entries or a
/// creation that never committed, both of which a later writer takes over.
fn remove_new_ledger(path: &Path, folder_was_missing: bool) {
    if let Ok(rd) = std::fs::read_dir(path) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if ledger_file(&name) {
                let p = e.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
    }
    if folder_was_missing {
        let _ = std::fs::remove_dir(path);
    }
}

/// Judges `amendments` on a new ledger in memory: what appending them to a
/// new ledger would give (its head hash depends on the new ledger's origin).
pub fn trial_append(
    amendments: &[Submission],
    now: RecordedAt,
    opts: AppendOptions,
) -> Result<AppendReport, Error> {
    trial_append_each(amendments.iter().cloned().map(Ok), now, opts)
}

fn trial_append_each(
    amendments: impl Iterator<Item = Result<Submission, Error>>,
    now: RecordedAt,
    opts: AppendOptions,
) -> Result<AppendReport, Error> {
    let mem = Ledger::create(MemStore::default(), [0; 16])?;
    mem.append_each(
        amendments,
        now,
        AppendOptions {
            dry_run: true,
            ..opts
        },
    )
}

/// What [`import`] did: the new ledger's head, or the failure that stopped
/// it (of the export file, before anything was created; or of the new
/// ledger's audit).
pub enum Imported {
    /// A new ledger holds every entry of the export, audited.
    Done(crate::chain::Checkpoint),
    /// The export file failed its verification: nothing was created.
    BadExport(crate::audit::Report),
    /// The new ledger failed its audit after the import.
    BadLedger(crate::audit::Report),
}

/// Rebuilds a new ledger at `path` from an export read from `reader`: the
/// whole export is verified first (nothing is created if it fails), then
/// its entries are written with their hashes and the new ledger is audited
/// against the export's head. Refuses a path that holds a ledger.
pub fn import(
    path: &Path,
    wait: Duration,
    reader: &mut dyn std::io::BufRead,
) -> Result<Imported, Error> {
    let pg = pg_url(path);
    if let Some(url) = pg {
        if pg_holds(url)? {
            return Err(Error::Usage(format!(
                "{url} already holds a ledger; import rebuilds a new one: name another (`ledger=` in the URL)"
            )));
        }
    } else {
        usable(path)?;
    }
    if pg.is_none() && SledStore::exists(path) {
        return Err(Error::Usage(format!(
            "{} already holds a ledger; import rebuilds a new one: give a new path",
            path.display()
        )));
    }
    // The verified entries wait in a spool file (not in memory) for the
    // second pass: an export of any size is imported in bounded memory.
    let mut spool = Spool::new()?;
    let mut spooled: Result<(), Error> = Ok(());
    let verified = crate::export::verify_export(reader, None, &mut |_, bytes, hash| {
        if spooled.is_ok() {
            spooled = spool.push(&[bytes, hash]);
        }
    });
    spooled?;
    spool.flush()?;
    let (Some(origin), true) = (verified.origin, verified.report.ok) else {
        return Ok(Imported::BadExport(verified.report));
    };
    let not_pactums = |e: Error| {
        Error::Usage(format!(
            "the export is not a history pactum would have recorded: {e}"
        ))
    };
    // Every entry must have been acceptable where it stands: an export
    // pactum would not have written is refused (exit 2) with nothing
    // created, and a retry into the same path works. A small export is
    // judged on a ledger in memory first; a large one into a new sled
    // ledger, staged in parts, whose files are removed on a refusal.
    let in_memory_first = pg.is_some() || spool.len() <= TRIAL_AMENDMENTS_MAX;
    if in_memory_first {
        let trial = Ledger::create(MemStore::default(), origin)?;
        trial
            .append_raw_each(spooled_entries(&spool))
            .map_err(not_pactums)?;
    }
    let folder_was_missing = pg.is_none() && inspect(path)? == Place::Missing;
    let store = match pg {
        Some(url) => AnyStore::Pg(PgStore::connect(url, true)?),
        None => AnyStore::Sled(SledStore::open_with_cache(
            path,
            wait,
            crate::store::WRITE_CACHE,
        )?),
    };
    let ledger = Ledger::create(store, origin)?;
    let head = match ledger.append_raw_each(spooled_entries(&spool)) {
        Ok(head) => head,
        Err(e) if !in_memory_first => {
            remove_new_ledger(path, folder_was_missing);
            return Err(not_pactums(e));
        }
        Err(e) => return Err(e),
    };
    let report = crate::audit::audit_store(ledger.store(), Some(head.into()), &mut |_| {})?;
    if !report.ok {
        return Ok(Imported::BadLedger(report));
    }
    drop(ledger);
    if pg.is_none() {
        settle(path, head.count);
    }
    Ok(Imported::Done(head))
}

/// The entries of an import's spool (each record `bytes ‖ chain hash`), in order.
fn spooled_entries(
    spool: &Spool,
) -> impl Iterator<Item = Result<(Vec<u8>, crate::chain::Hash), Error>> + '_ {
    spool.records().map(|r| {
        let mut bytes = r?;
        let at = bytes.len().checked_sub(32).ok_or_else(|| Error::Io {
            message: "a spooled entry is too short".into(),
            kind: std::io::ErrorKind::InvalidData,
        })?;
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&bytes[at..]);
        bytes.truncate(at);
        Ok((bytes, hash))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_and_a_folder_of_other_files_are_no_place_for_a_ledger() {
        let dir = tempfile::tempdir().expect("temp dir");
        let other = dir.path().join("other");
        std::fs::create_dir(&other).expect("mkdir");
        let file = other.join("notes.txt");
        std::fs::write(&file, "hello").expect("write");
        assert_eq!(inspect(&file).expect("inspect"), Place::NotAFolder);
        assert_eq!(
            inspect(&other).expect("inspect"),
            Place::Foreign("notes.txt".into())
        );
        assert_eq!(
            inspect(&dir.path().join("new")).expect("inspect"),
            Place::Missing
        );
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        assert_eq!(inspect(&empty).expect("inspect"), Place::Folder);
        let wait = Duration::from_secs(1);
        for (p, what) in [
            (&file, "is a file, not a ledger"),
            (&other, "holds other files (`notes.txt`…)"),
        ] {
            let e = append(
                p,
                wait,
                &[],
                RecordedAt(0),
                AppendOptions::default(),
                || [1; 16],
            )
            .expect_err("refused")
            .to_string();
            assert!(e.contains(what), "{e}");
            let e = open(p, wait).expect_err("refused").to_string();
            assert!(e.contains(what), "{e}");
        }
        // Nothing was written into the folder of other files.
        assert_eq!(std::fs::read_dir(&other).expect("list").count(), 1);
        // A ledger's folder stays one when a user puts a file beside it.
        let ledger = dir.path().join("ledger");
        let a = crate::input::parse_str(
            "a.json",
            r#"{"agreement":"acme","id":"s","title":"S","effective":"2024-01-01","change":[{"op":"establish","title":"A","parties":[{"id":"a","name":"A"}]}]}"#,
        )
        .expect("parse");
        let a: Vec<Submission> = a.into_iter().map(Submission::from).collect();
        append(
            &ledger,
            wait,
            &a,
            RecordedAt(1_700_000_000_000_000),
            AppendOptions::default(),
            || [2; 16],
        )
        .expect("append");
        std::fs::write(ledger.join("README.txt"), "mine").expect("write");
        assert_eq!(inspect(&ledger).expect("inspect"), Place::Folder);
        assert_eq!(open(&ledger, wait).expect("open").head().count, 1);
    }
}
