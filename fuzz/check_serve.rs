//! The check behind the `serve` fuzz target (`fuzz/fuzz_targets/serve.rs`):
//! a request to the server's routes (`src/serve/`), made in process — no
//! socket — on a ledger holding the golden export
//! (`fixtures/golden/v1-export.jsonl`). The server's code lives in the
//! binary, not the library, so the target includes `src/cli/` and
//! `src/serve/` as the binary does, and its seeds and regressions are
//! replayed by the binary's own tests (`cargo test --bin pactum`, which
//! includes this file from `src/main.rs`).
//!
//! The first byte picks the request, the rest is its body (or its path):
//!
//! * `0`, `1`, `2`: `POST /api/append?dry_run=true&format=` `jsonl`, `json`,
//!   `toml`: the body is amendments (the JSON API's append);
//! * `3`: `POST /api/cli`: the body is a client's command line (JSON);
//! * `4`: `POST /api/append` without a token (refused: 401);
//! * anything else: `GET /` followed by the rest (a page or an API route,
//!   with its query string).
//!
//! The server holds no tokens, so nothing a request asks writes: a write
//! answers 401 or 403, and the ledger's head never moves. Every API answer
//! and every error carries an exit code class (`x-pactum-exit`: 0, 1 or 2)
//! that agrees with its status, which is never 500 (the ledger is intact,
//! so not even the audit fails); a JSON answer parses; `/api/cli` answers a command's output and message,
//! never "internal error"; nothing panics.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use hyper::service::Service;
use pactum::store::{AnyStore, SledStore};

/// The golden export the server's ledger is made of.
const GOLDEN: &[u8] = include_bytes!("../fixtures/golden/v1-export.jsonl");
/// The clock the server reads (`PACTUM_NOW`), so that runs repeat.
const NOW: &str = "2026-12-01T12:00:00Z";

struct Fixture {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    /// The ledger's head, as `GET /api/head` answers it.
    head: Vec<u8>,
}

/// The server, made once per process: a sled ledger imported from the
/// golden export into a fresh folder of the process's own (the entry log
/// is read by path, so the folder stays while the process lives; folders
/// of processes that have ended are removed; nothing is written: the
/// server holds no tokens).
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // Set before any thread of the runtime reads the environment.
        std::env::set_var("PACTUM_NOW", NOW);
        let dir: PathBuf =
            std::env::temp_dir().join(format!("pactum-fuzz-serve-{}", std::process::id()));
        remove_ended_folders();
        let _ = std::fs::remove_dir_all(&dir);
        let store = SledStore::open(&dir, Duration::from_secs(5)).expect("a sled store");
        let (ledger, report) =
            pactum::export::import(AnyStore::Sled(store), &mut &GOLDEN[..]).expect("an import");
        assert!(report.ok, "the golden export imports");
        let app = crate::serve::app(ledger, Vec::new(), false, "fuzz".into());
        let router = crate::serve::router(app);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let mut f = Fixture {
            rt,
            router,
            head: Vec::new(),
        };
        let (status, _, head) = f.send(Method::GET, "/api/head", Vec::new());
        assert_eq!(status, StatusCode::OK);
        f.head = head;
        f
    })
}

/// Removes the ledger folders of earlier processes that have ended.
fn remove_ended_folders() {
    let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("pactum-fuzz-serve-") else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Fixture {
    /// One request: its status, exit code class and body.
    fn send(&self, method: Method, uri: &str, body: Vec<u8>) -> (StatusCode, Option<u8>, Vec<u8>) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .expect("a request");
        let svc = hyper_util::service::TowerToHyperService::new(self.router.clone());
        self.rt.block_on(async move {
            let resp = svc.call(req).await.expect("the router answers");
            let status = resp.status();
            let exit = resp
                .headers()
                .get("x-pactum-exit")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u8>().ok());
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .expect("the body reads");
            (status, exit, body.to_vec())
        })
    }
}

/// Checks one request; panics on a finding.
pub fn check_serve(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let (method, uri) = match sel % 6 {
        0 => (
            Method::POST,
            "/api/append?dry_run=true&format=jsonl".to_string(),
        ),
        1 => (
            Method::POST,
            "/api/append?dry_run=true&format=json".to_string(),
        ),
        2 => (
            Method::POST,
            "/api/append?dry_run=true&format=toml".to_string(),
        ),
        3 => (Method::POST, "/api/cli".to_string()),
        4 => (Method::POST, "/api/append?format=jsonl".to_string()),
        _ => {
            let path = String::from_utf8_lossy(rest);
            // Only what a client can send: a URI that parses.
            let uri = format!("/{path}");
            if uri.parse::<axum::http::Uri>().is_err() {
                return;
            }
            (Method::GET, uri)
        }
    };
    let body = if method == Method::POST {
        rest.to_vec()
    } else {
        Vec::new()
    };
    let (status, exit, answer) = f.send(method, &uri, body);
    let text = String::from_utf8_lossy(&answer);
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{uri} answers 500: {text}"
    );
    assert!(
        status != StatusCode::NOT_FOUND || sel % 6 == 5,
        "{uri} is not found: {text}"
    );
    // Every API answer and every error carries the CLI's exit code class
    // (a page people read does not); it agrees with the status, except that
    // `/api/cli` answers 200 for a command that ran, with the command's.
    let cli_ran = sel % 6 == 3 && status.is_success();
    if uri.starts_with("/api/") || !status.is_success() {
        let exit = exit.unwrap_or_else(|| panic!("{uri} answers {status} without an exit code"));
        assert!(exit <= 2, "{uri}: exit code {exit}");
        assert!(
            cli_ran
                || status.is_success()
                    == (exit == 0 || (exit == 1 && uri.starts_with("/api/audit"))),
            "{uri} answers {status} with exit code {exit}: {text}"
        );
    }
    if sel % 6 == 4 {
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a write without a token");
    }
    if uri.starts_with("/api/") && !uri.contains("/timeline") && status != StatusCode::NOT_FOUND {
        // JSON, or JSON Lines (`/api/log`).
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if uri.starts_with("/api/log") && status.is_success() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{uri}: a line that is not JSON ({e}): {line}"));
            }
        }
        if !uri.starts_with("/api/log") || !status.is_success() {
            serde_json::from_slice::<serde_json::Value>(&answer)
                .unwrap_or_else(|e| panic!("{uri}: an answer that is not JSON ({e}): {text}"));
        }
    }
    if cli_ran {
        let a: crate::cli::remote::CliAnswer =
            serde_json::from_slice(&answer).expect("a command's answer");
        assert_eq!(
            exit.map(i32::from),
            Some(a.exit),
            "the exit code header and the answer's differ"
        );
        assert!(
            (0..=2).contains(&a.exit),
            "a command exits {}: {}",
            a.exit,
            a.stderr
        );
        assert!(
            !a.stderr.contains("internal error"),
            "a command fails inside the server: {}",
            a.stderr
        );
    }
    // Nothing was written.
    if sel % 6 <= 4 && status.is_success() {
        let (_, _, head) = f.send(Method::GET, "/api/head", Vec::new());
        assert!(
            head == f.head,
            "the head moved: {}",
            String::from_utf8_lossy(&head)
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Replays `fuzz/seeds/serve/` and `fuzz/regressions/serve/`.
    #[test]
    fn serve_inputs_replay() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut failures = Vec::new();
        let mut counts = [0usize; 2];
        for (k, kind) in ["seeds", "regressions"].into_iter().enumerate() {
            let Ok(rd) = std::fs::read_dir(root.join(kind).join("serve")) else {
                continue;
            };
            let mut files: Vec<_> = rd
                .map(|e| e.expect("a folder entry").path())
                .filter(|p| {
                    p.is_file()
                        && !p
                            .file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with('.'))
                })
                .collect();
            files.sort();
            for f in files {
                let data = std::fs::read(&f).expect("a readable input");
                counts[k] += 1;
                let r = std::panic::catch_unwind(|| super::check_serve(&data));
                if let Err(e) = r {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    failures.push(format!("{}: {msg}", f.display()));
                }
            }
        }
        println!(
            "fuzz target serve: replayed {} seed and {} regression inputs",
            counts[0], counts[1]
        );
        assert!(counts[0] >= 5, "fuzz/seeds/serve/ is missing");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
