//! Command-line glue: clap types (help text is the doc comments), opening the
//! ledger, time, output and exit codes. One file per subcommand (`read.rs`
//! holds what the readers share, `out.rs` the output).

pub(crate) mod append;
pub(crate) mod audit;
pub(crate) mod checkpoint;
pub(crate) mod diff;
pub(crate) mod export;
pub(crate) mod head;
pub(crate) mod history;
mod import;
mod interrupt;
mod keys;
pub(crate) mod list;
pub(crate) mod log;
pub(crate) mod out;
mod prove;
pub(crate) mod read;
pub(crate) mod remote;
mod shell;
mod show;
pub(crate) mod state;
pub(crate) mod timeline;
mod verify;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};
use pactum::error::Error;
use pactum::model::{Date, RecordedAt};
use pactum::projection::KnownAt;
use pactum::store::{AnyStore, StoreError};
use pactum::Ledger;

pub use out::Out;

/// pactum: a tamper-evident ledger of agreement amendments.
///
/// Append amendments (TOML, JSON or JSON Lines), ask what an agreement said on
/// any date as it was known at any moment, and audit that nobody rewrote the
/// record. Exit codes: 0 success, 1 integrity failure, 2 refused.
#[derive(Parser, Debug)]
#[command(name = "pactum", version, max_term_width = 100)]
pub struct Cli {
    /// The ledger: a sled database folder, a `postgresql://` URL, or the
    /// URL of a `pactum serve` (`http://HOST:PORT`; the token is taken from
    /// PACTUM_TOKEN).
    #[arg(
        long,
        global = true,
        env = "PACTUM_LEDGER",
        default_value = "pactum.ledger"
    )]
    ledger: PathBuf,
    /// Seconds to wait while another process holds the ledger.
    #[arg(
        long,
        global = true,
        env = "PACTUM_WAIT",
        default_value_t = 5.0,
        value_name = "SECONDS"
    )]
    wait: f64,
    /// Colour the redline of `diff` (red removed, green added): auto (on a
    /// terminal, unless NO_COLOR is set), always or never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    color: Color,
    /// Print only what the command is for (data, JSON, errors): no
    /// confirmations, summaries or notes.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

/// When to colour output.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    /// On a terminal, unless the NO_COLOR variable is set (and not empty).
    Auto,
    /// Always (also into a pipe or a file).
    Always,
    /// Never.
    Never,
}

impl Color {
    /// Whether standard output gets colour.
    fn on(self) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Append amendment files; a folder means its *.toml, *.json, *.jsonl in
    /// file-name order; `-` reads JSON Lines from standard input.
    Append(append::Args),
    /// What an agreement said on a date, as known at a moment.
    State(state::StateArgs),
    /// Clauses added, removed and changed between two dates, with a word-level redline.
    Diff(diff::DiffArgs),
    /// The amendments of an agreement in effective order, with what each did.
    History(history::HistoryArgs),
    /// The entries: seq, recorded time, agreement, amendment, effective date, chain hash.
    Log(log::LogArgs),
    /// The agreements: title, parties, amendments, first and last effective date, status today.
    List(list::ListArgs),
    /// Verify every entry, link, index and the head; or an export file, offline.
    Audit(audit::AuditArgs),
    /// Print the checkpoint N:HASH (entry count and chain hash).
    Head(head::HeadArgs),
    /// Print the full checkpoint: origin, size, Merkle root, chain hash.
    Checkpoint(checkpoint::CheckpointArgs),
    /// Print a proof that an amendment is in the ledger, or that it extends an older size.
    Prove(prove::ProveArgs),
    /// Check a proof against checkpoint files, with no ledger at all.
    Verify(verify::VerifyArgs),
    /// Ed25519 keys for signing amendments and checkpoints (C2SP signed-note form).
    Key(keys::KeyArgs),
    /// Add your signature to the amendments in files (in place), or print
    /// what a party signs (--note).
    Sign(keys::SignArgs),
    /// As a witness: check a signed checkpoint against the last one you
    /// cosigned, and print it with your cosignature added.
    Cosign(keys::CosignArgs),
    /// Write a verified JSON Lines copy of the whole ledger.
    Export(export::ExportArgs),
    /// Rebuild an empty ledger from an export, reproducing every hash.
    Import(import::ImportArgs),
    /// One amendment whole: its text, terms and dates, its entry and hashes,
    /// and the retraction that voids it, if any.
    Show(show::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff), e.g. `pactum man > pactum.1`.
    Man(shell::ManArgs),
    /// The agreement over time as SVG, HTML or its JSON layout.
    Timeline(timeline::Args),
    /// Serve the ledger over HTTP: a JSON API and pages (writes need a token).
    Serve(crate::serve::Args),
    /// Make write tokens for `serve`.
    #[command(subcommand)]
    Token(crate::serve::auth::TokenCommand),
}

/// How a command ended.
pub enum Fail {
    /// Exit 1: an integrity failure (already reported).
    Integrity,
    /// An error to print; its exit code follows from it.
    Error(Error),
    /// Standard output was closed (e.g. `| head`): exit quietly.
    Pipe,
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Error(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        Fail::Error(Error::Store(e))
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Fail {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Fail::Pipe
        } else {
            Fail::Error(Error::Io {
                message: format!("cannot write output: {e}"),
                kind: e.kind(),
            })
        }
    }
}

pub(crate) fn usage(msg: impl Into<String>) -> Fail {
    Fail::Error(Error::Usage(msg.into()))
}

/// An I/O failure on a file the user named: `what` the path, `doing` the verb.
fn io_error(path: &Path, doing: &str, e: std::io::Error) -> Error {
    Error::Io {
        message: format!("{}: cannot {doing}: {e}", path.display()),
        kind: e.kind(),
    }
}

/// Runs the command line; returns the exit code.
pub fn main() -> i32 {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("pactum: internal error: {msg} (please report this)");
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    if remote::is_url(&cli.ledger) {
        let url = cli.ledger.display().to_string();
        if let Some(code) = remote::run(&cli, &url) {
            return code;
        }
    }
    let result = std::panic::catch_unwind(|| run(&cli));
    match result {
        Ok(Ok(())) => 0,
        Ok(Err(Fail::Pipe)) => 0,
        Ok(Err(Fail::Error(Error::Io {
            kind: std::io::ErrorKind::BrokenPipe,
            ..
        }))) => 0,
        Ok(Err(Fail::Integrity)) => 1,
        Ok(Err(Fail::Error(e))) => {
            let code = exit_code(&e);
            eprintln!("pactum: {}", escape_controls(&describe(&cli, &e)));
            code
        }
        Err(_) => 2,
    }
}

/// The exit code of an error: 1 for damage, 2 for a refusal.
pub(crate) fn exit_code(e: &Error) -> i32 {
    match e {
        Error::Damaged { .. } | Error::Store(StoreError::Damaged(_)) => 1,
        _ => 2,
    }
}

/// Quotes control characters (a NUL, an ESC from a hostile file) escaped, so
/// that no input reaches the terminal raw.
pub(crate) fn escape_controls(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The library's message, with the command line's words added once, here.
pub(crate) fn describe(cli: &Cli, e: &Error) -> String {
    match e {
        Error::Store(StoreError::Busy { path }) => format!(
            "the ledger {path} is in use by another process (waited {}s; see --wait)",
            cli.wait
        ),
        Error::HeadMismatch { expected, actual } => format!(
            "the ledger holds {actual} entries, not the {expected} that --expect-head requires; nothing was appended"
        ),
        Error::Missing(path) => format!(
            "no ledger at {}: append amendments to create one, or pass --ledger PATH",
            pactum::place::shown(path)
        ),
        Error::Damaged { .. } => format!(
            "{e}; run `pactum audit` for details, and re-import an earlier export if you have one"
        ),
        Error::Store(StoreError::Damaged(_)) => {
            format!("{e}; re-import an earlier export if you have one (`pactum import`)")
        }
        other => other.to_string(),
    }
}

fn run(cli: &Cli) -> Result<(), Fail> {
    let ctx = Ctx {
        ledger: &cli.ledger,
        wait: Duration::from_secs_f64(cli.wait.clamp(0.0, 86_400.0)),
        quiet: cli.quiet,
        color: cli.color.on(),
        held: None,
    };
    dispatch(&ctx, &cli.command)
}

fn dispatch(ctx: &Ctx<'_>, command: &Command) -> Result<(), Fail> {
    match command {
        Command::Append(a) => append::run(ctx, a),
        Command::State(a) => state::state(ctx, a),
        Command::Diff(a) => diff::diff(ctx, a),
        Command::History(a) => history::history(ctx, a),
        Command::Log(a) => log::log(ctx, a),
        Command::List(a) => list::list(ctx, a),
        Command::Audit(a) => audit::audit(ctx, a),
        Command::Head(a) => head::head(ctx, a),
        Command::Checkpoint(a) => checkpoint::checkpoint(ctx, a),
        Command::Prove(a) => prove::prove(ctx, a),
        Command::Verify(a) => verify::verify(ctx, a),
        Command::Export(a) => export::export(ctx, a),
        Command::Import(a) => import::import(ctx, a),
        Command::Show(a) => show::run(ctx, a),
        Command::Completions(a) => shell::completions(a),
        Command::Man(a) => shell::man(a),
        Command::Key(a) => keys::key(a),
        Command::Cosign(a) => keys::cosign(a),
        Command::Sign(a) => keys::sign(a),
        Command::Timeline(a) => timeline::run(ctx, a),
        Command::Serve(a) => crate::serve::run(ctx, a),
        Command::Token(c) => crate::serve::auth::run(c),
    }
}

/// What every command gets: where the ledger is, how long to wait for it,
/// how to print, and, when the server runs the command for a client, the
/// ledger it holds.
pub struct Ctx<'a> {
    ledger: &'a Path,
    wait: Duration,
    /// `-q`: no confirmations, summaries or notes.
    quiet: bool,
    /// Colour on standard output (`--color`, `NO_COLOR`).
    color: bool,
    /// The ledger the server holds (sled or PostgreSQL), when it runs the
    /// command for a client.
    held: Option<&'a Ledger<AnyStore>>,
}

/// An open ledger: the command's own, or the one the server holds.
pub enum Held<'a> {
    /// Opened by this command.
    Own(Box<Ledger<AnyStore>>),
    /// Held by the server.
    Lent(&'a Ledger<AnyStore>),
}

impl std::ops::Deref for Held<'_> {
    type Target = Ledger<AnyStore>;
    fn deref(&self) -> &Ledger<AnyStore> {
        match self {
            Held::Own(l) => l,
            Held::Lent(l) => l,
        }
    }
}

impl<'a> Ctx<'a> {
    /// The ledger's path, for messages.
    pub(crate) fn ledger_name(&self) -> String {
        pactum::place::shown(self.ledger)
    }

    /// Opens an existing ledger for reading (refuses a missing one).
    pub(crate) fn open(&self) -> Result<Held<'a>, Fail> {
        if let Some(l) = self.held {
            return Ok(Held::Lent(l));
        }
        Ok(Held::Own(Box::new(pactum::place::open(
            self.ledger,
            self.wait,
        )?)))
    }

    /// Opens the ledger for writing (sled or PostgreSQL), creating it when
    /// missing: the server's ledger.
    pub(crate) fn open_or_create(&self) -> Result<Held<'a>, Fail> {
        if let Some(l) = self.held {
            return Ok(Held::Lent(l));
        }
        let store = match pactum::place::pg_url(self.ledger) {
            Some(url) => AnyStore::Pg(pactum::store::PgStore::connect(url, true)?),
            None => {
                pactum::place::usable(self.ledger)?;
                AnyStore::Sled(pactum::store::SledStore::open_with_cache(
                    self.ledger,
                    self.wait,
                    pactum::store::WRITE_CACHE,
                )?)
            }
        };
        Ok(Held::Own(Box::new(Ledger::open_or_create(
            store, new_origin,
        )?)))
    }
}

/// 16 random bytes from the operating system (fallback: time and pid, hashed).
pub(crate) fn new_origin() -> pactum::chain::Origin {
    use std::io::Read;
    let mut o = [0u8; 16];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut o))
        .is_ok()
    {
        return o;
    }
    let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
    let h = pactum::chain::leaf(seed.as_bytes());
    o.copy_from_slice(&h[..16]);
    o
}

/// Now: the clock, or `PACTUM_NOW` (RFC 3339) for reproducible runs and tests.
pub(crate) fn now() -> Result<jiff::Timestamp, Fail> {
    match std::env::var("PACTUM_NOW") {
        Ok(s) => s
            .parse::<jiff::Timestamp>()
            .map_err(|e| usage(format!("PACTUM_NOW `{s}` is not an RFC 3339 time: {e}"))),
        Err(_) => Ok(jiff::Timestamp::now()),
    }
}

pub(crate) fn today() -> Result<Date, Fail> {
    let t = now()?;
    RecordedAt::from_timestamp(t)
        .date()
        .ok_or_else(|| usage("the clock is outside years 1–9999"))
}

pub(crate) fn parse_date(what: &str, s: &str) -> Result<Date, Fail> {
    s.parse::<Date>().map_err(|e| usage(format!("{what}: {e}")))
}

/// `#N`, a date (end of that UTC day), or an RFC 3339 time.
pub(crate) fn parse_known_at(s: Option<&str>) -> Result<KnownAt, Fail> {
    let Some(s) = s else { return Ok(KnownAt::All) };
    if let Some(n) = s.strip_prefix('#') {
        return n
            .parse()
            .map(KnownAt::Seq)
            .map_err(|_| usage(format!("--known-at `{s}`: `#N` needs a seq number")));
    }
    if Date::looks_like_date(s) {
        let d = parse_date("--known-at", s)?;
        let end = d
            .civil()
            .to_datetime(jiff::civil::time(23, 59, 59, 999_999_999))
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|e| usage(format!("--known-at `{s}`: {e}")))?;
        return Ok(KnownAt::Time(RecordedAt::from_timestamp(end.timestamp())));
    }
    s.parse::<jiff::Timestamp>()
        .map(|t| KnownAt::Time(RecordedAt::from_timestamp(t)))
        .map_err(|_| {
            usage(format!(
                "--known-at `{s}` is not a date (YYYY-MM-DD), an RFC 3339 time, or #N"
            ))
        })
}

fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || out::capturing() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} ({eta})")
    {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}
