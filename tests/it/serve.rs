//! `pactum serve` as people use it: the real binary on a free loopback port,
//! real HTTP. The API's answers equal the CLI's `--json` on a copy of the
//! same ledger; unauthorised and hostile requests get clear errors and change
//! nothing; 16 concurrent clients mixing reads and appends lose nothing; and
//! a headless Chromium picks a date on the agreement page and sees the state
//! (it needs Debian's `chromium` and `chromium-driver`: `.ci/serve-deps`
//! installs them; without them the browser test fails under CI=true and is
//! skipped, saying so, elsewhere).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2026-12-01T12:00:00Z";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    root().join("fixtures").join(name).display().to_string()
}

fn pactum(dir: &Path, ledger: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pactum"));
    c.arg("--ledger")
        .arg(ledger)
        .args(args)
        .current_dir(dir)
        .env("PACTUM_NOW", NOW)
        .env_remove("PACTUM_LEDGER")
        .env_remove("PACTUM_TOKEN");
    c
}

fn run(dir: &Path, ledger: &Path, args: &[&str]) -> Output {
    pactum(dir, ledger, args).output().expect("run pactum")
}

fn run_stdin(dir: &Path, ledger: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = pactum(dir, ledger, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let p = e.expect("entry").path();
        let dest = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

/// A running `pactum serve`, killed on drop.
struct Server {
    child: Child,
    base: String,
    _stderr: std::thread::JoinHandle<()>,
}

impl Server {
    fn start(dir: &Path, ledger: &Path, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = pactum(dir, ledger, &args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut base = None;
        for line in lines.by_ref() {
            let line = line.expect("stderr line");
            if let Some(i) = line.find("http://") {
                base = Some(
                    line[i..]
                        .split_whitespace()
                        .next()
                        .expect("url")
                        .trim_end_matches('/')
                        .to_string(),
                );
                break;
            }
        }
        let base = base.expect("the server prints its address");
        // Keep draining its standard error.
        let drain = std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            base,
            _stderr: drain,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

struct Answer {
    status: u16,
    exit: Option<String>,
    /// The `Allow` header (a 405's).
    allow: Option<String>,
    body: String,
}

fn get(a: &ureq::Agent, url: &str, token: Option<&str>) -> Answer {
    let mut r = a.get(url);
    if let Some(t) = token {
        r = r.header("Authorization", &format!("Bearer {t}"));
    }
    answer(r.call().expect("GET"))
}

fn post(a: &ureq::Agent, url: &str, token: Option<&str>, body: &[u8]) -> Answer {
    let mut r = a.post(url);
    if let Some(t) = token {
        r = r.header("Authorization", &format!("Bearer {t}"));
    }
    answer(r.send(body).expect("POST"))
}

fn answer(mut r: ureq::http::Response<ureq::Body>) -> Answer {
    let status = r.status().as_u16();
    let exit = r
        .headers()
        .get("x-pactum-exit")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let allow = r
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = r
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .expect("body");
    Answer {
        status,
        exit,
        allow,
        body,
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A ledger holding both fixtures, and a token file with one token.
struct Setup {
    dir: tempfile::TempDir,
    token: String,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("temp");
        let ledger = dir.path().join("served.ledger");
        for f in ["microsoft-openai", "elasticsearch-licence"] {
            let o = run(dir.path(), &ledger, &["append", &fixture(f)]);
            assert!(o.status.success(), "{}", text(&o.stderr));
        }
        let o = run(
            dir.path(),
            &ledger,
            &["token", "new", "alice", "--tokens", "tokens"],
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
        let token = text(&o.stdout).trim().to_string();
        assert!(token.starts_with("pactum_") && token.len() == 7 + 64);
        Setup { dir, token }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn ledger(&self) -> PathBuf {
        self.path().join("served.ledger")
    }
    fn tokens(&self) -> String {
        self.path().join("tokens").display().to_string()
    }
    /// A copy of the ledger for the CLI (sled: the server holds the original).
    fn copy(&self, name: &str) -> PathBuf {
        let to = self.path().join(name);
        copy_dir(&self.ledger(), &to);
        to
    }
}

#[test]
fn token_file_is_private_and_holds_only_the_hash() {
    let s = Setup::new();
    let tokens = std::fs::read_to_string(s.path().join("tokens")).expect("tokens");
    assert!(
        !tokens.contains(&s.token),
        "the token itself is never stored"
    );
    let line = tokens.lines().next().expect("line");
    let (name, hash) = line.split_once(' ').expect("NAME HASH");
    assert_eq!(name, "alice");
    assert_eq!(hash.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.path().join("tokens"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = run(
        s.path(),
        &s.ledger(),
        &["token", "new", "alice", "--tokens", &s.tokens()],
    );
    assert_eq!(again.status.code(), Some(2), "a second `alice` is refused");
    let bad = run(
        s.path(),
        &s.ledger(),
        &["token", "new", "a b", "--tokens", &s.tokens()],
    );
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn api_answers_equal_cli_json() {
    let s = Setup::new();
    let copy = s.copy("cli.ledger");
    let server = Server::start(s.path(), &s.ledger(), &["--tokens", &s.tokens()]);
    let a = agent();
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("/api/agreements".into(), vec!["list", "--json"]),
        (
            "/api/agreements/microsoft-openai/state?at=2025-06-01".into(),
            vec!["state", "microsoft-openai", "--at", "2025-06-01", "--json"],
        ),
        (
            "/api/agreements/microsoft-openai/state".into(),
            vec!["state", "microsoft-openai", "--json"],
        ),
        (
            "/api/agreements/microsoft-openai/state?at=2024-01-15&known_at=%232".into(),
            vec![
                "state",
                "microsoft-openai",
                "--at",
                "2024-01-15",
                "--known-at",
                "#2",
                "--json",
            ],
        ),
        (
            "/api/agreements/microsoft-openai/diff?from=2024-12-31&to=2025-02-01".into(),
            vec![
                "diff",
                "microsoft-openai",
                "--from",
                "2024-12-31",
                "--to",
                "2025-02-01",
                "--json",
            ],
        ),
        (
            "/api/agreements/microsoft-openai/history".into(),
            vec!["history", "microsoft-openai", "--json"],
        ),
        (
            "/api/agreements/microsoft-openai/history?clause=cloud.exclusivity".into(),
            vec![
                "history",
                "microsoft-openai",
                "--clause",
                "cloud.exclusivity",
                "--json",
            ],
        ),
        (
            "/api/agreements/elasticsearch-licence/timeline?format=json".into(),
            vec!["timeline", "elasticsearch-licence", "--format", "json"],
        ),
        (
            "/api/agreements/microsoft-openai/timeline?format=svg&known_at=%233".into(),
            vec!["timeline", "microsoft-openai", "--known-at", "#3"],
        ),
        ("/api/log".into(), vec!["log", "--json"]),
        (
            "/api/log?agreement=elasticsearch-licence".into(),
            vec!["log", "elasticsearch-licence", "--json"],
        ),
        ("/api/head".into(), vec!["head", "--json"]),
        ("/api/checkpoint".into(), vec!["checkpoint", "--json"]),
        ("/api/audit".into(), vec!["audit", "--json"]),
    ];
    for (path, args) in &cases {
        let api = get(&a, &server.url(path), None);
        let cli = run(s.path(), &copy, args);
        assert!(cli.status.success(), "{args:?}: {}", text(&cli.stderr));
        assert_eq!(api.status, 200, "{path}: {}", api.body);
        assert_eq!(api.exit.as_deref(), Some("0"));
        assert_eq!(
            api.body,
            text(&cli.stdout),
            "{path} differs from `pactum {}`",
            args.join(" ")
        );
    }
    // Refusals: the same message, exit code class 2, a fitting status.
    for (path, args, status) in [
        (
            "/api/agreements/nope/state",
            vec!["state", "nope", "--json"],
            404,
        ),
        (
            "/api/agreements/microsoft-openai/state?at=2025-02-30",
            vec!["state", "microsoft-openai", "--at", "2025-02-30", "--json"],
            400,
        ),
        (
            "/api/agreements/microsoft-openai/state?known_at=2001-01-01",
            vec![
                "state",
                "microsoft-openai",
                "--known-at",
                "2001-01-01",
                "--json",
            ],
            404,
        ),
    ] {
        let api = get(&a, &server.url(path), None);
        let cli = run(s.path(), &copy, &args);
        assert_eq!(cli.status.code(), Some(2));
        assert_eq!(api.status, status, "{path}: {}", api.body);
        assert_eq!(api.exit.as_deref(), Some("2"));
        let v: serde_json::Value = serde_json::from_str(&api.body).expect("error JSON");
        assert_eq!(v["exit_code"], 2);
        let msg = v["error"].as_str().expect("message");
        assert!(
            text(&cli.stderr).contains(msg),
            "{path}: `{msg}` vs {}",
            text(&cli.stderr)
        );
    }
    // Append: the same report as `append -` on the copy, then the same head.
    let line = concat!(
        r#"{"agreement":"microsoft-openai","id":"2026-06-01-note","title":"A note","effective":"2026-06-01","change":["#,
        r#"{"op":"add","clause":"note.test","text":"A test clause <b>&amp;</b>."}]}"#,
        "\n"
    );
    let dry = post(
        &a,
        &server.url("/api/append?dry_run=true"),
        Some(&s.token),
        line.as_bytes(),
    );
    let cli_dry = run_stdin(
        s.path(),
        &copy,
        &["append", "-", "--dry-run", "--json"],
        line.as_bytes(),
    );
    assert_eq!(
        (dry.status, dry.body.as_str()),
        (200, text(&cli_dry.stdout).as_str())
    );
    let api = post(
        &a,
        &server.url("/api/append"),
        Some(&s.token),
        line.as_bytes(),
    );
    let cli = run_stdin(s.path(), &copy, &["append", "-", "--json"], line.as_bytes());
    assert!(cli.status.success(), "{}", text(&cli.stderr));
    assert_eq!(api.status, 200, "{}", api.body);
    assert_eq!(api.body, text(&cli.stdout));
    let again = post(
        &a,
        &server.url("/api/append"),
        Some(&s.token),
        line.as_bytes(),
    );
    assert!(
        again.body.contains("\"existing\""),
        "idempotent: {}",
        again.body
    );
    assert_eq!(
        get(&a, &server.url("/api/head"), None).body,
        text(&run(s.path(), &copy, &["head", "--json"]).stdout)
    );
    // A conflict: 409, exit code class 2, named amendment and change.
    let bad = r#"{"agreement":"microsoft-openai","id":"x","title":"x","effective":"2026-06-02","change":[{"op":"amend","clause":"no.such","text":"t"}]}"#;
    let c = post(
        &a,
        &server.url("/api/append"),
        Some(&s.token),
        bad.as_bytes(),
    );
    assert_eq!(
        (c.status, c.exit.as_deref()),
        (409, Some("2")),
        "{}",
        c.body
    );
    assert!(c.body.contains("no.such"));
    // Pages and health.
    for path in [
        "/",
        "/agreements/microsoft-openai",
        "/log",
        "/checkpoint",
        "/health",
    ] {
        let p = get(&a, &server.url(path), None);
        assert_eq!(p.status, 200, "{path}");
    }
    let page = get(
        &a,
        &server.url(
            "/agreements/microsoft-openai?at=2025-06-01&diff_from=2024-12-31&diff_to=2025-02-01",
        ),
        None,
    )
    .body;
    assert!(
        page.contains("A test clause &lt;b&gt;&amp;amp;&lt;/b&gt;."),
        "escaped"
    );
    assert!(
        page.contains("<del>") && page.contains("<ins>"),
        "a redline"
    );
    assert!(page.contains("data-clause=\"cloud.exclusivity\""));
    let cp = get(&a, &server.url("/checkpoint"), None).body;
    assert!(cp.contains("data-ok=\"true\""));
}

fn head(a: &ureq::Agent, server: &Server) -> String {
    get(a, &server.url("/api/head"), None).body
}

#[test]
fn unauthorised_writes_are_refused_and_change_nothing() {
    let s = Setup::new();
    let server = Server::start(s.path(), &s.ledger(), &["--tokens", &s.tokens()]);
    let a = agent();
    let before = head(&a, &server);
    let line = r#"{"agreement":"acme","id":"a","title":"t","effective":"2024-01-01","change":[{"op":"establish","title":"Acme","parties":[{"id":"acme","name":"Acme"}]}]}"#;
    let url = server.url("/api/append");
    let none = post(&a, &url, None, line.as_bytes());
    assert_eq!(none.status, 401, "{}", none.body);
    assert!(none.body.contains("Bearer"));
    let wrong = post(&a, &url, Some("pactum_0000"), line.as_bytes());
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    let almost = post(
        &a,
        &url,
        Some(&s.token[..s.token.len() - 1]),
        line.as_bytes(),
    );
    assert_eq!(almost.status, 403);
    let basic = a
        .post(&url)
        .header("Authorization", &format!("Basic {}", s.token))
        .send(line.as_bytes())
        .expect("POST");
    assert_eq!(answer(basic).status, 401);
    assert_eq!(head(&a, &server), before, "nothing written");
    // The right token writes.
    let ok = post(&a, &url, Some(&s.token), line.as_bytes());
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_ne!(head(&a, &server), before);
    drop(server);

    // No tokens file: every write is refused.
    let server = Server::start(s.path(), &s.ledger(), &[]);
    let before = head(&a, &server);
    let r = post(
        &a,
        &server.url("/api/append"),
        Some(&s.token),
        line.as_bytes(),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("--tokens"));
    assert_eq!(head(&a, &server), before);
    drop(server);

    // --read-token: readers need one too, /health does not.
    let server = Server::start(
        s.path(),
        &s.ledger(),
        &["--tokens", &s.tokens(), "--read-token"],
    );
    assert_eq!(get(&a, &server.url("/api/head"), None).status, 401);
    assert_eq!(get(&a, &server.url("/"), None).status, 401);
    assert_eq!(
        get(&a, &server.url("/api/head"), Some("pactum_x")).status,
        403
    );
    assert_eq!(
        get(&a, &server.url("/api/head"), Some(&s.token)).status,
        200
    );
    assert_eq!(get(&a, &server.url("/health"), None).status, 200);
}

/// Sends raw bytes and reads the whole answer (until the server closes).
fn raw(addr: &str, bytes: &[u8], read_for: Duration) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(read_for)).expect("timeout");
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    text(&out)
}

#[test]
fn hostile_requests_get_clear_errors_and_change_nothing() {
    let s = Setup::new();
    let server = Server::start(s.path(), &s.ledger(), &["--tokens", &s.tokens()]);
    let a = agent();
    let before = head(&a, &server);
    let url = server.url("/api/append");
    let t = Some(s.token.as_str());

    // A huge body: 413 with the limit named, before the body is read.
    let req = format!(
        "POST /api/append HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        s.token,
        17 * 1024 * 1024
    )
    .into_bytes();
    let r = raw(&server.addr(), &req, Duration::from_secs(10));
    assert!(r.starts_with("HTTP/1.1 413"), "{}", &r[..r.len().min(300)]);
    assert!(r.contains("REQUEST_BODY_BYTES_MAX"));
    // Without a length (chunked), the limit holds while reading.
    let mut req = format!(
        "POST /api/append HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        s.token
    )
    .into_bytes();
    for _ in 0..17 {
        req.extend_from_slice(b"100000\r\n");
        req.extend(std::iter::repeat_n(b' ', 1024 * 1024));
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let r = raw(&server.addr(), &req, Duration::from_secs(10));
    assert!(
        r.is_empty() || r.starts_with("HTTP/1.1 413"),
        "{}",
        &r[..r.len().min(300)]
    );
    // Bad JSON, not UTF-8, an unknown format, no amendment, bad parameters.
    for (q, body, needle) in [
        ("", &b"{\"agreement\": "[..], "-:1"),
        ("", &b"\xff\xfe{}"[..], "not UTF-8"),
        ("?format=xml", &b"{}"[..], "expected jsonl"),
        ("", &b""[..], "no amendment"),
        ("?expect_head=abc", &b"{}"[..], "expect_head"),
        ("?dry_run=perhaps", &b"{}"[..], "dry_run"),
        ("?sneaky=1", &b"{}"[..], "unknown parameter"),
        ("?format=toml", &b"agreement = \"acme\"\nid = \n"[..], "-:"),
    ] {
        let r = post(&a, &format!("{url}{q}"), t, body);
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("JSON error");
        assert!(
            v["error"].as_str().is_some_and(|m| m.contains(needle)),
            "{q}: {}",
            r.body
        );
        assert_eq!(v["exit_code"], 2);
    }
    // A stale writer.
    let r = post(&a, &format!("{url}?expect_head=1"), t, br#"{"agreement":"acme","id":"a","title":"t","effective":"2024-01-01","change":[{"op":"establish","title":"Acme","parties":[{"id":"acme","name":"Acme"}]}]}"#);
    assert_eq!(r.status, 409, "{}", r.body);
    // Path tricks: nothing from the file system, ever.
    for path in [
        "/../../../../etc/passwd",
        "/agreements/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/agreements/..%2F..%2Fetc%2Fpasswd/state",
        "/api/agreements/%2Fetc%2Fpasswd/state",
        "//etc/passwd",
        "/api/agreements/%00/state",
        "/agreements/microsoft-openai/../../../etc/passwd",
        "/static/../Cargo.toml",
    ] {
        let r = raw(
            &server.addr(),
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            Duration::from_secs(10),
        );
        let status: u16 = r.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        assert!(matches!(status, 400 | 404), "{path}: {r}");
        assert!(!r.contains("root:") && !r.contains("[package]"), "{path}");
    }
    // Wrong method, unknown route.
    assert_eq!(
        answer(a.put(&url).send(&b"x"[..]).expect("PUT")).status,
        401
    );
    let put = a
        .put(&url)
        .header("Authorization", &format!("Bearer {}", s.token))
        .send(&b"x"[..])
        .expect("PUT");
    let put = answer(put);
    assert_eq!(put.status, 405);
    assert_eq!(put.exit.as_deref(), Some("2"), "{}", put.body);
    assert!(put.body.contains("method-not-allowed"), "{}", put.body);
    let got = answer(a.get(&server.url("/api/cli")).call().expect("GET"));
    assert_eq!((got.status, got.exit.as_deref()), (405, Some("2")));
    assert_eq!(got.allow.as_deref(), Some("POST"), "{}", got.body);
    assert_eq!(get(&a, &server.url("/api/nothing"), None).status, 404);
    // Oversized headers: refused (431) or the connection closed, no panic.
    let big = format!(
        "GET /api/head HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let r = raw(&server.addr(), big.as_bytes(), Duration::from_secs(10));
    assert!(
        r.is_empty() || r.starts_with("HTTP/1.1 431"),
        "{}",
        &r[..r.len().min(200)]
    );
    // A slow client that never finishes its headers is cut off.
    let started = Instant::now();
    let r = raw(
        &server.addr(),
        b"GET /api/head HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(25),
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "cut off after {took:?}");
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 408"), "{r}");
    // While it waited, others were served.
    assert_eq!(get(&a, &server.url("/health"), None).status, 200);
    // Nothing changed, and the ledger is whole.
    assert_eq!(head(&a, &server), before);
    let audit = get(&a, &server.url("/api/audit"), None);
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains("\"ok\": true"));
}

#[test]
fn sixteen_clients_mixing_reads_and_appends_lose_nothing() {
    let s = Setup::new();
    let server = Server::start(s.path(), &s.ledger(), &["--tokens", &s.tokens()]);
    let base = server.base.clone();
    let start_count: u64 = {
        let v: serde_json::Value = serde_json::from_str(&head(&agent(), &server)).expect("head");
        v["entries"].as_u64().expect("entries")
    };
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut handles = Vec::new();
    for c in 0..16u32 {
        let base = base.clone();
        let token = s.token.clone();
        handles.push(std::thread::spawn(move || {
            let a = agent();
            let ag = format!("load-{c}");
            let mut acked: Vec<(String, String, u64)> = Vec::new();
            let mut failures: Vec<String> = Vec::new();
            let mut reads = 0u32;
            let mut i = 0u32;
            while Instant::now() < deadline {
                let op = i % 4;
                i += 1;
                if op == 0 {
                    let n = acked.len();
                    let line = if n == 0 {
                        format!(
                            r#"{{"agreement":"{ag}","id":"a0","title":"Start","effective":"2020-01-01","change":[{{"op":"establish","title":"Load {c}","parties":[{{"id":"p","name":"P"}}]}},{{"op":"add","clause":"c","text":"v0"}}]}}"#
                        )
                    } else {
                        let day = 1 + (n % 28);
                        let month = 1 + (n / 28) % 12;
                        let year = 2021 + n / (28 * 12);
                        format!(
                            r#"{{"agreement":"{ag}","id":"a{n}","title":"Step {n}","effective":"{year}-{month:02}-{day:02}","change":[{{"op":"amend","clause":"c","text":"v{n}"}}]}}"#
                        )
                    };
                    let r = post(&a, &format!("{base}/api/append"), Some(&token), line.as_bytes());
                    if r.status != 200 {
                        failures.push(format!("append {n}: {} {}", r.status, r.body));
                        continue;
                    }
                    let v: serde_json::Value = serde_json::from_str(&r.body).expect("report");
                    let seq = v["amendments"][0]["seq"].as_u64().expect("seq");
                    assert_eq!(v["amendments"][0]["status"], "appended");
                    acked.push((ag.clone(), format!("a{n}"), seq));
                } else {
                    let path = match op {
                        1 => "/api/agreements/microsoft-openai/state?at=2025-06-01".to_string(),
                        2 if !acked.is_empty() => format!("/api/agreements/{ag}/state"),
                        2 => "/api/head".to_string(),
                        _ => "/api/agreements".to_string(),
                    };
                    let r = get(&a, &format!("{base}{path}"), None);
                    if r.status != 200 {
                        failures.push(format!("GET {path}: {} {}", r.status, r.body));
                    }
                    reads += 1;
                }
            }
            (acked, failures, reads)
        }));
    }
    let mut acked = Vec::new();
    let mut reads = 0;
    for h in handles {
        let (a, f, r) = h.join().expect("client thread");
        assert!(f.is_empty(), "failed requests: {f:?}");
        acked.extend(a);
        reads += r;
    }
    assert!(acked.len() >= 16, "every client appended at least once");
    let a = agent();
    let log = get(&a, &server.url("/api/log"), None);
    assert_eq!(log.status, 200);
    let lines: Vec<serde_json::Value> = log
        .body
        .lines()
        .map(|l| serde_json::from_str(l).expect("log line"))
        .collect();
    assert_eq!(
        lines.len() as u64,
        start_count + acked.len() as u64,
        "gapless, nothing extra"
    );
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["seq"].as_u64(), Some(i as u64));
    }
    for (ag, id, seq) in &acked {
        let l = &lines[*seq as usize];
        assert_eq!(
            (l["agreement"].as_str(), l["amendment"].as_str()),
            (Some(ag.as_str()), Some(id.as_str()))
        );
    }
    let audit = get(&a, &server.url("/api/audit"), None);
    assert_eq!(audit.status, 200, "{}", audit.body);
    assert!(audit.body.contains("\"ok\": true"));
    println!(
        "load: 16 clients, 6 s: {} appends acknowledged and found in the chain, {reads} reads, 0 failures",
        acked.len()
    );
}

// ---------------------------------------------------------------- browser

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn need_browser() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| {
        names.iter().find_map(|n| {
            std::env::var_os("PATH").and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join(n))
                    .find(|f| f.is_file())
            })
        })
    };
    let browser = find(&["chromium", "chromium-browser"]);
    let driver = find(&["chromedriver"]);
    match (browser, driver) {
        (Some(b), Some(d)) => Some((b, d)),
        _ => {
            let msg =
                "the browser test needs Debian's chromium and chromium-driver (run .ci/serve-deps)";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{msg}");
            }
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

struct Driver {
    child: Child,
    base: String,
    session: String,
    a: ureq::Agent,
}

impl Driver {
    fn start(browser: &Path, driver: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let a = agent();
        let ready = Instant::now() + Duration::from_secs(30);
        while a.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < ready, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().expect("profile").keep();
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser.display().to_string(),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--no-first-run",
                         "--window-size=1280,1600", format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let mut d = Driver {
            child,
            base,
            session: String::new(),
            a,
        };
        let v = d.call("POST", "/session", Some(caps));
        d.session = v["sessionId"].as_str().expect("session id").to_string();
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let url = format!("{}{path}", self.base);
        let r = match method {
            "GET" => self.a.get(&url).call(),
            "DELETE" => self.a.delete(&url).call(),
            _ => self
                .a
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(serde_json::json!({})).to_string().as_bytes()),
        }
        .expect("webdriver");
        let ans = answer(r);
        let v: serde_json::Value = serde_json::from_str(&ans.body).expect("webdriver JSON");
        assert_eq!(ans.status, 200, "{method} {path}: {}", ans.body);
        v["value"].clone()
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// The element reference (`{"element-6066-…": id}`) and its id.
    fn find_ref(&self, css: &str) -> (serde_json::Value, String) {
        let v = self.call(
            "POST",
            &self.s("/element"),
            Some(serde_json::json!({"using": "css selector", "value": css})),
        );
        let id = v
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|x| x.as_str())
            .expect("element id")
            .to_string();
        (v, id)
    }

    fn find(&self, css: &str) -> String {
        self.find_ref(css).1
    }

    fn script(&self, js: &str, args: serde_json::Value) -> serde_json::Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            Some(serde_json::json!({"script": js, "args": args})),
        )
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .a
                .delete(&format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn browser_picks_a_date_and_sees_the_state() {
    let Some((browser, driver)) = need_browser() else {
        return;
    };
    let s = Setup::new();
    let copy = s.copy("cli.ledger");
    let server = Server::start(s.path(), &s.ledger(), &["--tokens", &s.tokens()]);
    let d = Driver::start(&browser, &driver);
    d.call(
        "POST",
        &d.s("/url"),
        Some(serde_json::json!({"url": server.url("/")})),
    );
    // From the list, follow the link to the agreement.
    let link = d.find("a[href='/agreements/microsoft-openai']");
    d.call("POST", &d.s(&format!("/element/{link}/click")), None);
    let title = d.call("GET", &d.s("/title"), None);
    assert!(
        title
            .as_str()
            .is_some_and(|t| t.starts_with("microsoft-openai")),
        "{title}"
    );
    // Pick 2025-06-01 in the date field, as known at #3, and press Show.
    d.script(
        "const e = document.querySelector('#at'); e.value = '2025-06-01'; e.dispatchEvent(new Event('change'));",
        serde_json::json!([]),
    );
    let known = d.find("#known_at");
    d.call("POST", &d.s(&format!("/element/{known}/clear")), None);
    d.call(
        "POST",
        &d.s(&format!("/element/{known}/value")),
        Some(serde_json::json!({"text": "#4"})),
    );
    let show = d.find("#show");
    d.call("POST", &d.s(&format!("/element/{show}/click")), None);
    let shown = d.script(
        "const s = document.querySelector('#state'); return {at: s.dataset.at, status: s.dataset.status, digest: s.dataset.digest, url: location.search, clauses: [...s.querySelectorAll('tr[data-clause]')].map(r => r.dataset.clause), text: s.querySelector(\"tr[data-clause='cloud.exclusivity']\").innerText};",
        serde_json::json!([]),
    );
    // What the CLI says for the same question.
    let cli = run(
        s.path(),
        &copy,
        &[
            "state",
            "microsoft-openai",
            "--at",
            "2025-06-01",
            "--known-at",
            "#4",
            "--json",
        ],
    );
    let want: serde_json::Value = serde_json::from_slice(&cli.stdout).expect("state json");
    assert_eq!(shown["at"], "2025-06-01", "{shown}");
    assert_eq!(shown["status"], want["status"]);
    assert_eq!(
        shown["digest"], want["digest"],
        "the page shows the state the CLI computes"
    );
    let ids: Vec<&str> = want["clauses"]
        .as_array()
        .expect("clauses")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    let shown_ids: Vec<&str> = shown["clauses"]
        .as_array()
        .expect("clauses")
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert_eq!(shown_ids, ids);
    assert!(
        shown["text"]
            .as_str()
            .is_some_and(|t| t.contains("right of first refusal")),
        "{shown}"
    );
    // Hover a bar of the picture: its details appear.
    let (seg, _) = d.find_ref(".pic:not([hidden]) g.seg rect");
    d.call(
        "POST",
        &d.s("/actions"),
        Some(
            serde_json::json!({"actions": [{"type": "pointer", "id": "mouse", "actions": [
                {"type": "pointerMove", "origin": seg, "x": 0, "y": 0}
            ]}]}),
        ),
    );
    let details = d.script(
        "return document.getElementById('details').textContent;",
        serde_json::json!([]),
    );
    assert!(
        details
            .as_str()
            .is_some_and(|t| t.contains("in force from")),
        "{details}"
    );
    // Switch the picture to the earliest "as known" moment.
    let switched = d.script(
        "const s = document.getElementById('known'); s.value = 'pic-0'; s.dispatchEvent(new Event('change')); return [...document.querySelectorAll('.pic')].map(p => p.hidden);",
        serde_json::json!([]),
    );
    let hidden: Vec<bool> = switched
        .as_array()
        .expect("pictures")
        .iter()
        .map(|v| v.as_bool().unwrap_or(false))
        .collect();
    assert!(
        hidden.len() > 1 && !hidden[0] && hidden[1..].iter().all(|h| *h),
        "{hidden:?}"
    );
    d.script(
        "const s = document.getElementById('known'); s.value = s.options[s.options.length - 1].value; s.dispatchEvent(new Event('change'));",
        serde_json::json!([]),
    );
    // Save what the browser shows.
    let png = d.call("GET", &d.s("/screenshot"), None);
    let bytes = base64_decode(png.as_str().expect("base64"));
    assert!(bytes.starts_with(b"\x89PNG"));
    // Under target/ (CARGO_TARGET_TMPDIR is target/tmp, wherever target is).
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).expect("target/tmp");
    let out = dir.join("browser-agreement.png");
    std::fs::write(&out, bytes).expect("save screenshot");
    println!("screenshot: {}", out.display());
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => 0,
        }
    };
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for chunk in clean.chunks(4) {
        let pad = chunk.iter().filter(|&&c| c == b'=').count();
        let n = chunk.iter().fold(0u32, |acc, &c| (acc << 6) | val(c));
        let n = n << (6 * (4 - chunk.len()));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad.min(2)]);
    }
    out
}

// ---------------------------------------------------------------- the CLI through the server

#[test]
fn cli_through_the_server_answers_as_on_a_folder() {
    let s = Setup::new();
    let copy = s.copy("cli.ledger");
    let server = Server::start(s.path(), &s.ledger(), &["--tokens", &s.tokens()]);
    let url = server.base.clone();
    let both = |args: &[&str], token: Option<&str>, stdin: Option<&[u8]>| {
        let go = |ledger: &Path| {
            let mut c = pactum(s.path(), ledger, args);
            if let Some(t) = token {
                c.env("PACTUM_TOKEN", t);
            }
            let mut child = c
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn");
            let mut i = child.stdin.take().expect("stdin");
            i.write_all(stdin.unwrap_or(b"")).expect("stdin");
            drop(i);
            child.wait_with_output().expect("wait")
        };
        (go(Path::new(&url)), go(&copy))
    };
    let same = |args: &[&str], token: Option<&str>, stdin: Option<&[u8]>| {
        let (remote, local) = both(args, token, stdin);
        let norm = |b: &[u8], ledger: &str| text(b).replace(ledger, "LEDGER");
        assert_eq!(
            (
                remote.status.code(),
                norm(&remote.stdout, &url),
                norm(&remote.stderr, &url)
            ),
            (
                local.status.code(),
                norm(&local.stdout, &copy.display().to_string()),
                norm(&local.stderr, &copy.display().to_string())
            ),
            "pactum {}",
            args.join(" ")
        );
        remote
    };
    for args in [
        vec!["state", "microsoft-openai", "--at", "2025-06-01"],
        vec!["state", "microsoft-openai", "--at", "2025-06-01", "--json"],
        vec!["state", "microsoft-openai", "--known-at", "#2"],
        vec!["state", "nope"],
        vec!["state", "microsoft-openai", "--at", "2025-13-01"],
        vec![
            "diff",
            "microsoft-openai",
            "--from",
            "2024-12-31",
            "--to",
            "2025-02-01",
        ],
        vec![
            "history",
            "microsoft-openai",
            "--clause",
            "cloud.exclusivity",
        ],
        vec!["log"],
        vec!["log", "elasticsearch-licence", "--json"],
        vec!["list"],
        vec!["head"],
        vec!["audit"],
        vec!["audit", "--json"],
        vec!["checkpoint"],
        vec![
            "prove",
            "microsoft-openai",
            "2025-10-28-definitive-agreement",
        ],
        vec!["prove", "--consistency", "3"],
        vec!["timeline", "elasticsearch-licence", "--format", "json"],
        vec!["export"],
    ] {
        let r = same(&args, None, None);
        assert!(!text(&r.stderr).contains("panic"));
    }
    // Appends: a token is needed; with it, the same report, files named as given.
    let fx = fixture("elasticsearch-licence");
    let no = both(&["append", &fx], None, None).0;
    assert_eq!(no.status.code(), Some(2));
    assert!(
        text(&no.stderr).contains("needs a token"),
        "{}",
        text(&no.stderr)
    );
    let wrong = both(&["append", &fx], Some("pactum_nope"), None).0;
    assert_eq!(wrong.status.code(), Some(2));
    assert!(text(&wrong.stderr).contains("refused"));
    same(&["append", &fx, "--json"], Some(&s.token), None);
    let line = br#"{"agreement":"acme","id":"a","title":"t","effective":"2024-01-01","change":[{"op":"establish","title":"Acme","parties":[{"id":"acme","name":"Acme"}]}]}
"#;
    same(&["append", "-", "--dry-run"], None, Some(line));
    same(&["append", "-"], Some(&s.token), Some(line));
    same(
        &["append", "-", "--expect-head", "3"],
        Some(&s.token),
        Some(line),
    );
    same(&["append", "-"], Some(&s.token), Some(b"{not json\n"));
    same(&["head", "--json"], None, None);
    // Files written by -o are written by the client.
    let (r, l) = both(
        &["timeline", "microsoft-openai", "-o", "pic.svg"],
        None,
        None,
    );
    assert_eq!((r.status.code(), l.status.code()), (Some(0), Some(0)));
    assert!(std::fs::read_to_string(s.path().join("pic.svg"))
        .expect("svg")
        .starts_with("<svg"));
    let r = both(&["export", "-o", "remote.jsonl"], None, None).0;
    assert_eq!(r.status.code(), Some(0));
    assert!(
        text(&r.stderr).starts_with("exported "),
        "{}",
        text(&r.stderr)
    );
    let check = run(
        s.path(),
        &copy,
        &[
            "audit",
            &s.path().join("remote.jsonl").display().to_string(),
        ],
    );
    assert!(
        check.status.success(),
        "the export made through the server audits: {}",
        text(&check.stdout)
    );
    // Commands that need a folder are refused; an unreachable server is exit 2.
    let imp = both(&["import", "remote.jsonl"], None, None).0;
    assert_eq!(imp.status.code(), Some(2));
    let gone = run(s.path(), Path::new("http://127.0.0.1:9"), &["head"]);
    assert_eq!(gone.status.code(), Some(2));
    assert!(text(&gone.stderr).contains("cannot reach"));
}

/// The server holds a PostgreSQL ledger as it holds a folder: what it
/// answers (API and `--ledger http://…`) is what the CLI answers on the same
/// ledger, and an append through it is in the ledger the CLI reads. Needs
/// `PACTUM_TEST_PG` (as the `postgres` module; it fails without it).
#[test]
fn serve_holds_a_postgresql_ledger() {
    let base = std::env::var("PACTUM_TEST_PG").unwrap_or_else(|_| {
        panic!("PACTUM_TEST_PG is not set: this test needs a PostgreSQL server (`bash .ci/run` starts one)")
    });
    let sep = if base.contains('?') { '&' } else { '?' };
    let pg = format!("{base}{sep}ledger=t{}_serve", std::process::id());
    let pg = Path::new(&pg);
    let s = Setup::new();
    let o = run(s.path(), pg, &["append", &fixture("microsoft-openai")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let server = Server::start(s.path(), pg, &["--tokens", &s.tokens()]);
    let url = server.base.clone();
    let a = agent();
    for args in [
        vec!["state", "microsoft-openai", "--at", "2025-06-01", "--json"],
        vec!["list", "--json"],
        vec!["log", "--json"],
        vec!["head", "--json"],
        vec!["audit", "--json"],
        vec!["state", "nope"],
    ] {
        let remote = run(s.path(), Path::new(&url), &args);
        let local = run(s.path(), pg, &args);
        assert_eq!(
            (
                remote.status.code(),
                text(&remote.stdout),
                text(&remote.stderr).replace(&url, "LEDGER")
            ),
            (
                local.status.code(),
                text(&local.stdout),
                text(&local.stderr).replace(&pg.display().to_string(), "LEDGER")
            ),
            "pactum {}",
            args.join(" ")
        );
    }
    let head = get(&a, &server.url("/api/head"), None);
    assert_eq!(head.status, 200);
    let local = run(s.path(), pg, &["head", "--json"]);
    assert_eq!(head.body, text(&local.stdout));
    // An append through the server lands in the PostgreSQL ledger.
    let mut c = pactum(
        s.path(),
        Path::new(&url),
        &["append", &fixture("elasticsearch-licence"), "--json"],
    );
    c.env("PACTUM_TOKEN", &s.token);
    let o = c.output().expect("run pactum");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("append --json");
    let entries = report["entries"].as_u64().expect("entries");
    assert!(entries > 7, "{report}");
    let local = run(s.path(), pg, &["head"]);
    assert!(
        text(&local.stdout).starts_with(&format!("{entries}:")),
        "{}",
        text(&local.stdout)
    );
    let audit = run(s.path(), pg, &["audit"]);
    assert!(audit.status.success(), "{}", text(&audit.stderr));
}

/// A signed agreement through the server: an amendment without the
/// parties' signatures is refused (409, naming them, nothing written); the
/// same amendment signed (`pactum sign` on a JSON Lines file) is recorded
/// with its lines, and `/api/log` names the signers.
#[test]
fn signed_appends_through_the_server() {
    let s = Setup::new();
    let ledger = s.path().join("signed.ledger");
    let keys = root().join("fixtures/keys");
    let o = run(
        s.path(),
        &ledger,
        &["append", &fixture("microsoft-openai-signed")],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let server = Server::start(s.path(), &ledger, &["--tokens", &s.tokens()]);
    let a = agent();
    let before = head(&a, &server);
    let line = r#"{"agreement":"microsoft-openai","id":"2026-12-02-review","title":"Review","effective":"2026-12-02","change":[{"op":"occur","event":"reviewed"}]}"#;
    let url = server.url("/api/append");
    let refused = post(&a, &url, Some(&s.token), line.as_bytes());
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("no signature by `microsoft`, `openai`"),
        "{}",
        refused.body
    );
    assert_eq!(head(&a, &server), before, "nothing written");
    let file = s.path().join("review.jsonl");
    std::fs::write(&file, format!("{line}\n")).expect("write");
    for k in ["microsoft", "openai"] {
        let key = keys.join(format!("{k}.key")).display().to_string();
        let o = run(
            s.path(),
            &ledger,
            &["sign", &file.display().to_string(), "--key", &key],
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let body = std::fs::read(&file).expect("read");
    let ok = post(&a, &url, Some(&s.token), &body);
    assert_eq!(ok.status, 200, "{}", ok.body);
    let log = get(&a, &server.url("/api/log"), None);
    let last = log.body.lines().last().expect("a line");
    assert!(
        last.contains("2026-12-02-review") && last.contains("\"signed_by\""),
        "{last}"
    );
}

/// A server holding a PostgreSQL ledger that other processes append to
/// answers every read with the history as it stands (one snapshot per
/// request, its head caught up), and its own appends follow theirs.
#[test]
fn a_server_on_postgresql_sees_other_writers() {
    let s = Setup::new();
    let url = PathBuf::from(crate::postgres::pg_url("served"));
    let o = run(s.path(), &url, &["append", &fixture("microsoft-openai")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let server = Server::start(s.path(), &url, &["--tokens", &s.tokens()]);
    let a = agent();
    let count = |a: &ureq::Agent| -> u64 {
        let h: serde_json::Value =
            serde_json::from_str(&get(a, &server.url("/api/head"), None).body).expect("json");
        h["entries"].as_u64().expect("entries")
    };
    assert_eq!(count(&a), 7);
    // Another process appends, behind the server's back.
    let o = run(
        s.path(),
        &url,
        &["append", &fixture("elasticsearch-licence")],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(count(&a), 12);
    let st = get(
        &a,
        &server.url("/api/agreements/elasticsearch-licence/state"),
        None,
    );
    assert_eq!(st.status, 200, "{}", st.body);
    let audit = get(&a, &server.url("/api/audit"), None);
    assert!(audit.body.contains("\"entries\": 12"), "{}", audit.body);
    // The server's own append comes after theirs.
    let line = r#"{"agreement":"acme","id":"a","title":"t","effective":"2024-01-01","change":[{"op":"establish","title":"Acme","parties":[{"id":"acme","name":"Acme"}]}]}"#;
    let ok = post(
        &a,
        &server.url("/api/append"),
        Some(&s.token),
        line.as_bytes(),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(count(&a), 13);
    let o = run(s.path(), &url, &["audit"]);
    assert!(
        o.status.success() && text(&o.stdout).contains("13 entries verified"),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
}
