//! The CLI through a server: `--ledger http://HOST:PORT`.
//!
//! The client parses its command line as usual, reads amendment files itself
//! (so messages name its files), and sends the command line to
//! `POST /api/cli` with `PACTUM_TOKEN` as a bearer token. The server runs the
//! same command on the ledger it holds, capturing its standard output and the
//! message it would print, and answers them with the exit code; the client
//! prints them as they are and exits with that code. Files named by `-o` are
//! written by the client. Commands that need a ledger folder (`import`,
//! `serve`) are refused; those that need none (`verify`, `audit FILE`,
//! `token`) run locally.

use std::path::Path;
use std::time::Duration;

use pactum::error::Location;
use pactum::input::Sourced;
use pactum::model::Amendment;
use pactum::store::AnyStore;
use pactum::Ledger;
use serde::{Deserialize, Serialize};

use super::{describe, escape_controls, out, Cli, Command, Ctx, Fail};

/// Longest answer the client reads, bytes.
pub const ANSWER_BYTES_MAX: u64 = 4 * 1024 * 1024 * 1024;
/// Time the client waits for an answer, seconds.
pub const ANSWER_TIME_S: u64 = 600;

/// The body of `POST /api/cli`.
#[derive(Serialize, Deserialize)]
pub struct CliRequest {
    /// The `--ledger` URL as the client gave it (for messages).
    pub ledger: String,
    /// The command line, without the program name.
    pub args: Vec<String>,
    /// For `append`: the amendments the client read, with their locations.
    pub sources: Option<Vec<WireSource>>,
}

/// One amendment read by the client.
#[derive(Serialize, Deserialize)]
pub struct WireSource {
    /// Its file.
    pub file: String,
    /// Its line (JSON Lines).
    pub line: Option<u32>,
    /// Its column.
    pub column: Option<u32>,
    /// The amendment.
    pub amendment: Amendment,
    /// Its `signatures` lines, as written.
    #[serde(default)]
    pub signatures: Vec<String>,
}

/// The answer of `POST /api/cli`.
#[derive(Serialize, Deserialize)]
pub struct CliAnswer {
    /// What the command printed on standard output.
    pub stdout: String,
    /// What it printed on standard error.
    pub stderr: String,
    /// Its exit code.
    pub exit: i32,
}

/// Whether `s` names a server rather than a ledger folder.
pub fn is_url(s: &Path) -> bool {
    s.to_str()
        .is_some_and(|s| s.starts_with("http://") || s.starts_with("https://"))
}

/// Server side: parses a client's command line; the command, whether it
/// writes (needs a token), and whether it needs the ledger to itself (a
/// write, or the audit).
pub fn parse(req: &CliRequest) -> Result<(Cli, bool, bool), String> {
    use clap::Parser;
    let cli =
        Cli::try_parse_from(std::iter::once("pactum".to_string()).chain(req.args.iter().cloned()))
            .map_err(|e| e.to_string())?;
    let refuse = |what: &str| Err(format!("`pactum {what}` does not work through a server"));
    let write = match &cli.command {
        Command::Append(a) => {
            if req.sources.is_none() {
                return Err("append through a server sends its amendments".into());
            }
            !a.dry_run
        }
        Command::Audit(a) => {
            if a.file.is_some() {
                return refuse("audit FILE");
            }
            if !a.keys.is_empty() {
                return refuse("audit --key");
            }
            if let Some(c) = &a.checkpoint {
                if c.parse::<pactum::chain::Checkpoint>().is_err() {
                    return Err("through a server, --checkpoint takes N:HASH, not a file".into());
                }
            }
            false
        }
        Command::Checkpoint(a) if a.output.is_some() => return refuse("checkpoint -o"),
        Command::Checkpoint(a) if a.sign.is_some() => return refuse("checkpoint --sign"),
        Command::State(_)
        | Command::Diff(_)
        | Command::History(_)
        | Command::Log(_)
        | Command::List(_)
        | Command::Head(_)
        | Command::Checkpoint(_)
        | Command::Prove(_)
        | Command::Export(_)
        | Command::Show(_)
        | Command::Timeline(_) => false,
        Command::Verify(_) => return refuse("verify"),
        Command::Key(_) => return refuse("key"),
        Command::Sign(_) => return refuse("sign"),
        Command::Cosign(_) => return refuse("cosign"),
        Command::Import(_) => return refuse("import"),
        Command::Serve(_) => return refuse("serve"),
        Command::Token(_) => return refuse("token"),
        Command::Completions(_) => return refuse("completions"),
        Command::Man(_) => return refuse("man"),
    };
    let exclusive = write || matches!(cli.command, Command::Audit(_));
    Ok((cli, write, exclusive))
}

/// Server side: runs a parsed command on the held ledger, capturing what it prints.
pub fn execute(ledger: &Ledger<AnyStore>, req: CliRequest, cli: Cli) -> CliAnswer {
    let path = std::path::PathBuf::from(&req.ledger);
    let ctx = Ctx {
        ledger: &path,
        wait: Duration::ZERO,
        quiet: cli.quiet,
        // No terminal on the server's side: colour only when asked always.
        color: cli.color == super::Color::Always,
        held: Some(ledger),
    };
    let (result, stdout) = out::capture(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &cli.command {
            Command::Append(a) => {
                let mut sources = Vec::new();
                for w in req.sources.unwrap_or_default() {
                    let location = Location {
                        file: w.file,
                        line: w.line,
                        column: w.column,
                    };
                    let signatures =
                        pactum::input::parse_signatures(&w.signatures).map_err(|m| {
                            Fail::Error(pactum::Error::Input {
                                location: location.clone(),
                                message: m,
                            })
                        })?;
                    sources.push(Sourced {
                        amendment: w.amendment,
                        location,
                        signatures,
                    });
                }
                super::append::run_with(&ctx, a, pactum::batch::Batch::from_sources(sources)?)
            }
            _ => super::dispatch(&ctx, &cli.command),
        }))
    });
    let (exit, stderr) = match result {
        Ok(Ok(())) | Ok(Err(Fail::Pipe)) => (0, String::new()),
        Ok(Err(Fail::Integrity)) => (1, String::new()),
        Ok(Err(Fail::Error(e))) => (
            super::exit_code(&e),
            format!("pactum: {}\n", escape_controls(&describe(&cli, &e))),
        ),
        Err(_) => (
            2,
            "pactum: internal error in the server (please report this)\n".into(),
        ),
    };
    CliAnswer {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr,
        exit,
    }
}

fn fail(msg: String) -> i32 {
    eprintln!("pactum: {}", escape_controls(&msg));
    2
}

/// Client side: runs the command through the server at `url`; `None` when
/// the command needs no ledger and runs here.
pub fn run(cli: &Cli, url: &str) -> Option<i32> {
    match &cli.command {
        Command::Verify(_)
        | Command::Token(_)
        | Command::Key(_)
        | Command::Sign(_)
        | Command::Completions(_)
        | Command::Man(_)
        | Command::Cosign(_) => return None,
        Command::Audit(a) if a.file.is_some() => return None,
        Command::Import(_) => {
            return Some(fail(format!(
                "import rebuilds a ledger folder; it does not work through a server ({url})"
            )))
        }
        Command::Serve(_) => {
            return Some(fail(format!(
                "serve needs a ledger folder, not a server URL ({url})"
            )))
        }
        _ => {}
    }
    let sources = match &cli.command {
        Command::Append(a) => match super::append::read_sources(a) {
            Ok(s) => Some(
                s.into_iter()
                    .map(|s| WireSource {
                        file: s.location.file,
                        line: s.location.line,
                        column: s.location.column,
                        amendment: s.amendment,
                        signatures: s.signatures.iter().map(|l| l.to_string()).collect(),
                    })
                    .collect(),
            ),
            Err(Fail::Error(e)) => {
                eprintln!("pactum: {}", escape_controls(&describe(cli, &e)));
                return Some(super::exit_code(&e));
            }
            Err(_) => return Some(2),
        },
        _ => None,
    };
    let req = CliRequest {
        ledger: url.to_string(),
        args: std::env::args().skip(1).collect(),
        sources,
    };
    let body = match serde_json::to_vec(&req) {
        Ok(b) => b,
        Err(e) => return Some(fail(format!("cannot encode the request: {e}"))),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(ANSWER_TIME_S)))
        .build()
        .into();
    let endpoint = format!("{}/api/cli", url.trim_end_matches('/'));
    let mut r = agent
        .post(&endpoint)
        .header("Content-Type", "application/json");
    if let Ok(t) = std::env::var("PACTUM_TOKEN") {
        r = r.header("Authorization", &format!("Bearer {}", t.trim()));
    }
    let mut resp = match r.send(&body[..]) {
        Ok(r) => r,
        Err(e) => {
            return Some(fail(format!(
                "cannot reach the pactum server at {url}: {e}"
            )))
        }
    };
    let status = resp.status().as_u16();
    let text = match resp
        .body_mut()
        .with_config()
        .limit(ANSWER_BYTES_MAX)
        .read_to_string()
    {
        Ok(t) => t,
        Err(e) => return Some(fail(format!("the server at {url} answered badly: {e}"))),
    };
    if status != 200 {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let msg = v["error"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("the server at {url} answered {status}"));
        eprintln!("pactum: {}", escape_controls(&msg));
        return Some(v["exit_code"].as_i64().map_or(2, |c| c as i32));
    }
    let answer: CliAnswer = match serde_json::from_str(&text) {
        Ok(a) => a,
        Err(e) => return Some(fail(format!("the server at {url} answered badly: {e}"))),
    };
    Some(deliver(cli, answer))
}

fn deliver(cli: &Cli, a: CliAnswer) -> i32 {
    use std::io::Write;
    let file = match &cli.command {
        Command::Timeline(t) => t.output.clone(),
        Command::Export(e) => e.output.clone(),
        _ => None,
    };
    match (file, a.exit) {
        (Some(path), 0) => {
            let tmp = path.with_extension("partial");
            if let Err(e) =
                std::fs::write(&tmp, a.stdout.as_bytes()).and_then(|_| std::fs::rename(&tmp, &path))
            {
                let _ = std::fs::remove_file(&tmp);
                return fail(format!("cannot write {}: {e}", path.display()));
            }
            if let Command::Export(_) = &cli.command {
                // The local command's message, from the export's trailer.
                let head = a
                    .stdout
                    .lines()
                    .last()
                    .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                    .and_then(|v| v["head"].as_str().map(str::to_string))
                    .unwrap_or_default();
                let count = head.split(':').next().unwrap_or("0");
                eprintln!(
                    "exported {count} entries to {}; head {head}",
                    path.display()
                );
            }
        }
        _ => {
            let mut o = std::io::stdout().lock();
            if o.write_all(a.stdout.as_bytes())
                .and_then(|_| o.flush())
                .is_err()
            {
                return a.exit;
            }
        }
    }
    eprint!("{}", a.stderr);
    a.exit
}
