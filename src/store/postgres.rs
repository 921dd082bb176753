//! A [`Store`] in PostgreSQL: one ledger is one schema holding one table of
//! ordered keys and values, so that many processes on many machines can
//! read and write it at once.
//!
//! - **Writers serialise in the database.** A writer's append runs in one
//!   transaction that first takes the ledger's transaction-scoped advisory
//!   lock ([`Store::begin_write`]), then re-reads the head, judges, writes
//!   and commits ([`Store::commit`]); a refusal rolls back
//!   ([`Store::end_write`]). Two writers never interleave, wherever they run.
//! - **Readers never wait.** A reader process reads one `REPEATABLE READ
//!   READ ONLY` snapshot for its whole life (opened at its first read), so
//!   every command sees one consistent head however many appends commit
//!   meanwhile, and takes no lock a writer waits for. A role that may only
//!   `SELECT` runs every reader and the audit.
//! - **Durable when committed**: success is reported after `COMMIT` returns.
//!
//! The URL is libpq's (`postgresql://` or `postgres://`, Unix sockets with
//! `host=/path`); pactum removes its own `ledger` query parameter (the
//! ledger's name, default `pactum`) before connecting. The schema is
//! `pactum_<ledger>`; docs/format.md gives the tables.
//!
//! ```no_run
//! use pactum::store::{PgStore, Store};
//! let s = PgStore::connect("postgresql://me@/db?host=/run/postgresql&ledger=deals", true).unwrap();
//! assert!(s.get(b"mformat").unwrap().is_some() || true);
//! ```

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use postgres::{Client, NoTls};

use super::{Pair, Scan, Store, StoreError, Write};

/// The version of pactum's tables in a ledger's schema (table `pactum_schema`).
pub const SCHEMA_VERSION: i32 = 1;
/// Rows fetched per page of a scan.
const SCAN_PAGE_ROWS: i64 = 2048;
/// Rows written per statement of a commit.
const WRITE_ROWS: usize = 4096;
/// The longest ledger name (it becomes part of a schema name).
pub const LEDGER_NAME_BYTES_MAX: usize = 48;

/// Where a connection stands.
enum Mode {
    /// No transaction open (writers between appends).
    Idle,
    /// A reader's snapshot, kept for the process's life.
    Snapshot,
    /// A writer's transaction holding the ledger's lock.
    Writing,
}

struct Conn {
    client: Client,
    mode: Mode,
    /// Reads under way in a writer's snapshot ([`Store::begin_read`]).
    readers: usize,
}

/// A ledger in a PostgreSQL schema.
pub struct PgStore {
    conn: Mutex<Conn>,
    schema: String,
    /// The advisory lock key of this ledger.
    lock_key: i64,
    /// A reader: reads come from one snapshot.
    reader: bool,
    /// The schema's tables exist (a reader of a missing ledger reads nothing).
    exists: bool,
    /// The URL without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.shown)
            .field("schema", &self.schema)
            .finish()
    }
}

/// Whether `ledger` names a PostgreSQL ledger.
pub fn is_url(ledger: &str) -> bool {
    ledger.starts_with("postgresql://") || ledger.starts_with("postgres://")
}

/// Splits pactum's `ledger` query parameter off a URL: (URL for libpq, ledger name).
pub fn split_url(url: &str) -> Result<(String, String), StoreError> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut name = None;
    let mut rest = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("ledger", v)) => {
                if name.is_some() {
                    return Err(StoreError::Io(
                        "the URL names its `ledger` twice".to_string(),
                    ));
                }
                name = Some(v.to_string());
            }
            _ => rest.push(part),
        }
    }
    let name = name.unwrap_or_else(|| "pactum".to_string());
    let valid = !name.is_empty()
        && name.len() <= LEDGER_NAME_BYTES_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return Err(StoreError::Io(format!(
            "the ledger name `{name}` in the URL must be 1 to {LEDGER_NAME_BYTES_MAX} of a-z, 0-9 and _"
        )));
    }
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, name))
}

/// A URL with its passwords hidden, for messages: the one after the user
/// name and the value of a `password` parameter (libpq takes either).
/// The credentials end at the URL's first `@` and the parameters start at
/// the first `?` after them, as libpq's URL parser (the `postgres` crate's)
/// reads them.
pub fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let mut out = format!("{scheme}://");
    let host = match rest.split_once('@') {
        Some((auth, host)) => {
            match auth.split_once(':') {
                Some((user, _)) => out.push_str(&format!("{user}:***@")),
                None => out.push_str(&format!("{auth}@")),
            }
            host
        }
        None => rest,
    };
    let Some((path, query)) = host.split_once('?') else {
        out.push_str(host);
        return out;
    };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if percent_decoded(k).eq_ignore_ascii_case("password") => {
                format!("{k}=***")
            }
            _ => p.to_string(),
        })
        .collect();
    out.push_str(&format!("{path}?{}", params.join("&")));
    out
}

/// `%XX` escapes decoded (as libpq decodes a parameter's name).
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pg(shown: &str, what: &str, e: postgres::Error) -> StoreError {
    StoreError::Io(format!("{shown}: {what}: {e}"))
}

impl PgStore {
    /// Connects to the ledger a URL names. A writer (`write`) creates the
    /// schema and tables when missing; a reader only reads (a missing
    /// schema reads as an empty store).
    pub fn connect(url: &str, write: bool) -> Result<PgStore, StoreError> {
        let (libpq, name) = split_url(url)?;
        let shown = shown(url);
        let client = Client::connect(&libpq, NoTls).map_err(|e| pg(&shown, "cannot connect", e))?;
        let schema = format!("pactum_{name}");
        let lock_key = {
            use sha2::Digest;
            let h = sha2::Sha256::digest(schema.as_bytes());
            i64::from_be_bytes(h[..8].try_into().unwrap_or([0; 8]))
        };
        let store = PgStore {
            conn: Mutex::new(Conn {
                client,
                mode: Mode::Idle,
                readers: 0,
            }),
            schema,
            lock_key,
            reader: !write,
            exists: true,
            shown,
        };
        if write {
            store.create_tables()?;
            return Ok(store);
        }
        let kv = format!("{}.kv", store.schema);
        let found = store.read(|c| {
            c.query_one("SELECT to_regclass($1) IS NOT NULL", &[&kv])
                .map(|r| r.get::<_, bool>(0))
        })?;
        Ok(PgStore {
            exists: found,
            ..store
        })
    }

    /// The schema holding this ledger.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn lock(&self) -> MutexGuard<'_, Conn> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, what: &str, e: postgres::Error) -> StoreError {
        pg(&self.shown, what, e)
    }

    fn create_tables(&self) -> Result<(), StoreError> {
        let mut c = self.lock();
        let s = &self.schema;
        let sql = format!(
            "SELECT pg_advisory_xact_lock({key});
             CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.pactum_schema (version integer NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.kv (key bytea PRIMARY KEY, value bytea NOT NULL);",
            key = self.lock_key
        );
        let mut tx = c
            .client
            .transaction()
            .map_err(|e| self.err("cannot begin", e))?;
        tx.batch_execute(&sql)
            .map_err(|e| self.err("cannot create pactum's tables", e))?;
        let versions: Vec<i32> = tx
            .query(&format!("SELECT version FROM {s}.pactum_schema"), &[])
            .map_err(|e| self.err("cannot read the schema version", e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        match versions.as_slice() {
            [] => {
                tx.execute(
                    &format!("INSERT INTO {s}.pactum_schema (version) VALUES ($1)"),
                    &[&SCHEMA_VERSION],
                )
                .map_err(|e| self.err("cannot record the schema version", e))?;
            }
            [v] if *v == SCHEMA_VERSION => {}
            other => {
                return Err(StoreError::Damaged(format!(
                    "{}: schema {s} has table version {other:?}; this pactum reads version {SCHEMA_VERSION}",
                    self.shown
                )))
            }
        }
        tx.commit().map_err(|e| self.err("cannot commit", e))
    }

    /// Runs a read in the mode a read needs: a reader's snapshot (opened on
    /// first use), or whatever a writer has open.
    fn read<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut c = self.lock();
        if self.reader && matches!(c.mode, Mode::Idle) {
            c.client
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .map_err(|e| self.err("cannot begin a read", e))?;
            c.mode = Mode::Snapshot;
        }
        match f(&mut c.client) {
            Ok(t) => Ok(t),
            // A schema that does not exist yet: an empty store.
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) => {
                if !matches!(c.mode, Mode::Idle) {
                    // The transaction is aborted: start the snapshot again.
                    let _ignored = c.client.batch_execute("ROLLBACK");
                    c.mode = Mode::Idle;
                }
                Err(StoreError::Io(format!(
                    "{}: no ledger `{}` in this database",
                    self.shown, self.schema
                )))
            }
            Err(e) => Err(self.err("read failed", e)),
        }
    }

    fn page(
        &self,
        from: &[u8],
        inclusive: bool,
        end: Option<&[u8]>,
    ) -> Result<Vec<Pair>, StoreError> {
        let s = &self.schema;
        let op = if inclusive { ">=" } else { ">" };
        let rows = self.read(|c| match end {
            Some(end) => c.query(
                &format!("SELECT key, value FROM {s}.kv WHERE key {op} $1 AND key < $2 ORDER BY key LIMIT $3"),
                &[&from, &end, &SCAN_PAGE_ROWS],
            ),
            None => c.query(
                &format!("SELECT key, value FROM {s}.kv WHERE key {op} $1 ORDER BY key LIMIT $2"),
                &[&from, &SCAN_PAGE_ROWS],
            ),
        })?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// A scan, fetched a page at a time.
struct PgScan<'a> {
    store: &'a PgStore,
    buffer: VecDeque<Pair>,
    /// The last key returned, or the start (inclusive) before the first page.
    next_from: Option<(Vec<u8>, bool)>,
    end: Option<Vec<u8>>,
}

impl Iterator for PgScan<'_> {
    type Item = Result<Pair, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffer.is_empty() {
            let (from, inclusive) = self.next_from.take()?;
            match self.store.page(&from, inclusive, self.end.as_deref()) {
                Err(e) => return Some(Err(e)),
                Ok(rows) => {
                    if rows.len() as i64 == SCAN_PAGE_ROWS {
                        if let Some((k, _)) = rows.last() {
                            self.next_from = Some((k.clone(), false));
                        }
                    }
                    self.buffer.extend(rows);
                }
            }
        }
        self.buffer.pop_front().map(Ok)
    }
}

impl Store for PgStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if !self.exists {
            return Ok(None);
        }
        let s = &self.schema;
        let row = self
            .read(|c| c.query_opt(&format!("SELECT value FROM {s}.kv WHERE key = $1"), &[&key]))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn scan(&self, start: &[u8], end: Option<&[u8]>) -> Scan<'_> {
        Box::new(PgScan {
            store: self,
            buffer: VecDeque::new(),
            next_from: self.exists.then(|| (start.to_vec(), true)),
            end: end.map(<[u8]>::to_vec),
        })
    }

    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<Pair>, StoreError> {
        if !self.exists {
            return Ok(None);
        }
        let s = &self.schema;
        let row = self.read(|c| {
            c.query_opt(
                &format!("SELECT key, value FROM {s}.kv WHERE key >= $1 AND key < $2 ORDER BY key DESC LIMIT 1"),
                &[&start, &end],
            )
        })?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    fn begin_write(&self) -> Result<(), StoreError> {
        let mut c = self.lock();
        if self.reader || matches!(c.mode, Mode::Writing) {
            // A reader's reads come from one snapshot already.
            return Ok(());
        }
        c.client
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({})",
                self.lock_key
            ))
            .map_err(|e| self.err("cannot lock the ledger", e))?;
        c.mode = Mode::Writing;
        Ok(())
    }

    fn end_write(&self) {
        let mut c = self.lock();
        if matches!(c.mode, Mode::Writing) {
            // Nothing was committed: a failed rollback loses nothing, and
            // the server ends the transaction when the connection closes.
            let _ignored = c.client.batch_execute("ROLLBACK");
            c.mode = Mode::Idle;
        }
    }

    fn begin_read(&self) -> Result<(), StoreError> {
        let mut c = self.lock();
        if self.reader {
            // A reader's reads come from one snapshot already.
            return Ok(());
        }
        if matches!(c.mode, Mode::Idle) {
            c.client
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .map_err(|e| self.err("cannot begin a read", e))?;
            c.mode = Mode::Snapshot;
            c.readers = 0;
        }
        if matches!(c.mode, Mode::Snapshot) {
            c.readers += 1;
        }
        Ok(())
    }

    fn end_read(&self) {
        let mut c = self.lock();
        if self.reader || !matches!(c.mode, Mode::Snapshot) {
            return;
        }
        c.readers = c.readers.saturating_sub(1);
        if c.readers == 0 {
            // A read-only transaction: ending it loses nothing either way.
            let _ignored = c.client.batch_execute("COMMIT");
            c.mode = Mode::Idle;
        }
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if self.reader {
            return Err(StoreError::Io(format!(
                "{}: this connection was opened for reading",
                self.shown
            )));
        }
        // Writes apply in order: a later write of a key wins.
        let mut last = std::collections::BTreeMap::new();
        for w in writes {
            match w {
                Write::Put(k, v) => last.insert(k, Some(v)),
                Write::Delete(k) => last.insert(k, None),
            };
        }
        let (mut puts, mut dels) = (Vec::new(), Vec::new());
        for (k, v) in last {
            match v {
                Some(v) => puts.push((k, v)),
                None => dels.push(k),
            }
        }
        let s = &self.schema;
        let put_sql = format!(
            "INSERT INTO {s}.kv (key, value) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        );
        let del_sql = format!("DELETE FROM {s}.kv WHERE key = ANY($1)");
        let mut c = self.lock();
        let run = |client: &mut Client, begin: bool| -> Result<(), postgres::Error> {
            if begin {
                client.batch_execute(&format!(
                    "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({})",
                    self.lock_key
                ))?;
            }
            for chunk in dels.chunks(WRITE_ROWS) {
                client.execute(&del_sql, &[&chunk])?;
            }
            for chunk in puts.chunks(WRITE_ROWS) {
                let ks: Vec<&[u8]> = chunk.iter().map(|(k, _)| k.as_slice()).collect();
                let vs: Vec<&[u8]> = chunk.iter().map(|(_, v)| v.as_slice()).collect();
                client.execute(&put_sql, &[&ks, &vs])?;
            }
            client.batch_execute("COMMIT")
        };
        let begin = !matches!(c.mode, Mode::Writing);
        let result = run(&mut c.client, begin);
        if result.is_err() {
            // Nothing of an aborted transaction stays; a COMMIT that failed
            // may or may not have landed, and the ledger treats it so.
            let _ignored = c.client.batch_execute("ROLLBACK");
        }
        c.mode = Mode::Idle;
        result.map_err(|e| self.err("write failed", e))
    }
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn shown_urls_hide_both_passwords() {
        assert_eq!(
            shown("postgres://u:pw@h/db?password=x&sslmode=disable&ledger=a"),
            "postgres://u:***@h/db?password=***&sslmode=disable&ledger=a"
        );
        // libpq decodes the parameter's name.
        assert_eq!(
            shown("postgresql://h/db?pass%77ord=secret"),
            "postgresql://h/db?pass%77ord=***"
        );
        for kept in [
            "postgres://u@h/db?ledger=a",
            "postgres://h",
            "/var/lib/ledger",
        ] {
            assert_eq!(shown(kept), kept);
        }
    }
}
