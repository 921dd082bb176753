//! `pactum serve`: one ledger over HTTP — a JSON API with every reader and
//! `append`, and HTML pages for people.
//!
//! Glue over the library, like the CLI: handlers parse the request, call the
//! same functions the CLI calls (the JSON bodies are the CLI's `--json`
//! documents, byte for byte) and map errors to statuses in one place
//! ([`ApiError`]). The server holds the ledger open (sled: one process at a
//! time), runs ledger work on blocking threads under one lock (appends
//! exclusive, reads shared), and takes the time at the edge: each append
//! reads the clock (or `PACTUM_NOW`) when its request arrives and passes it
//! down. No URL reaches the file system: paths name agreements, which are
//! slugs, and routes, nothing else.
//!
//! Limits: request bodies [`REQUEST_BODY_BYTES_MAX`], request headers
//! [`HEADER_BYTES_MAX`] read within [`HEADER_READ_MS`], every request answered
//! within [`REQUEST_TIME_MS`], a connection kept at most [`CONNECTION_TIME_MS`],
//! at most [`CONNECTIONS_MAX`] connections at once.

mod api;
pub mod auth;
mod pages;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use pactum::error::Error;
use pactum::projection::ProjectionError;
use pactum::store::{AnyStore, StoreError};
use pactum::Ledger;

use crate::cli::{usage, Ctx, Fail};

/// Largest request body, bytes (an append of several amendments of the
/// largest size, `AMENDMENT_BYTES_MAX`).
pub const REQUEST_BODY_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Largest request head (request line and headers), bytes.
pub const HEADER_BYTES_MAX: usize = 16 * 1024;
/// Time a client has to send its request head, milliseconds.
pub const HEADER_READ_MS: u64 = 10_000;
/// Time within which every request is answered (body read included), milliseconds.
pub const REQUEST_TIME_MS: u64 = 30_000;
/// Longest a connection is kept, milliseconds.
pub const CONNECTION_TIME_MS: u64 = 120_000;
/// Most connections served at once.
pub const CONNECTIONS_MAX: usize = 256;
/// Entries shown on the log page (the newest).
pub const LOG_PAGE_ENTRIES_MAX: usize = 500;

/// Arguments of `serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on (loopback unless told otherwise; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Tokens file (lines `NAME SHA256-HEX`, made by `pactum token new`);
    /// writes need `Authorization: Bearer TOKEN` with one of them.
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,
    /// Readers need a token too (every page and API call but /health).
    #[arg(long)]
    read_token: bool,
}

/// What every handler shares.
pub struct App {
    ledger: Ledger<AnyStore>,
    /// Appends (and the audit) exclusive, reads shared.
    lock: RwLock<()>,
    tokens: Vec<auth::Token>,
    read_token: bool,
    name: String,
}

type Shared = Arc<App>;

impl App {
    /// Runs `f` on a blocking thread with the ledger, under the read lock (or the write lock).
    async fn with<T: Send + 'static>(
        self: &Arc<Self>,
        write: bool,
        f: impl FnOnce(&App) -> Result<T, Fail> + Send + 'static,
    ) -> Result<T, ApiError> {
        let app = self.clone();
        let r = tokio::task::spawn_blocking(move || {
            if write {
                let _g = app.lock.write().unwrap_or_else(|e| e.into_inner());
                f(&app)
            } else {
                let _g = app.lock.read().unwrap_or_else(|e| e.into_inner());
                // Other processes may append to a PostgreSQL ledger: each
                // request reads one snapshot, with the head as it stands.
                let _view = app.ledger.read_view().map_err(Fail::Error)?;
                f(&app)
            }
        })
        .await;
        match r {
            Ok(r) => r.map_err(ApiError::from),
            Err(_) => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                2,
                "internal",
                "the request failed inside the server (please report this)",
            )),
        }
    }
}

/// An error answer: status, the CLI's exit code class, a kind and the CLI's message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    exit: u8,
    kind: &'static str,
    message: String,
    html: bool,
}

impl ApiError {
    fn new(status: StatusCode, exit: u8, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            exit,
            kind,
            message: message.into(),
            html: false,
        }
    }
    fn bad(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, 2, "bad-request", message)
    }
    fn html(mut self) -> Self {
        self.html = true;
        self
    }
}

impl From<Fail> for ApiError {
    fn from(f: Fail) -> ApiError {
        use StatusCode as S;
        match f {
            Fail::Integrity => ApiError::new(
                S::INTERNAL_SERVER_ERROR,
                1,
                "integrity",
                "the audit found an integrity failure",
            ),
            Fail::Pipe => ApiError::new(S::INTERNAL_SERVER_ERROR, 2, "internal", "output closed"),
            Fail::Error(e) => {
                let m = e.to_string();
                let (status, exit, kind) = match &e {
                    Error::Input { .. } => (S::BAD_REQUEST, 2, "bad-input"),
                    Error::Refused(_) | Error::HeadMismatch { .. } => (S::CONFLICT, 2, "conflict"),
                    Error::Projection(ProjectionError::Inconsistent(_)) => {
                        (S::INTERNAL_SERVER_ERROR, 1, "integrity")
                    }
                    Error::Projection(_) | Error::Missing(_) => (S::NOT_FOUND, 2, "not-found"),
                    Error::Store(StoreError::Busy { .. }) => (S::SERVICE_UNAVAILABLE, 2, "busy"),
                    Error::Store(StoreError::Damaged(_)) | Error::Damaged { .. } => {
                        (S::INTERNAL_SERVER_ERROR, 1, "integrity")
                    }
                    Error::Store(StoreError::Io(_)) => (S::INTERNAL_SERVER_ERROR, 2, "store"),
                    Error::Io { .. } => (S::INTERNAL_SERVER_ERROR, 2, "io"),
                    Error::Usage(m) if m.contains("is not in the ledger") => {
                        (S::NOT_FOUND, 2, "not-found")
                    }
                    Error::Usage(_) => (S::BAD_REQUEST, 2, "bad-request"),
                };
                ApiError::new(status, exit, kind, m)
            }
        }
    }
}

#[derive(serde::Serialize)]
struct JsonError<'a> {
    error: &'a str,
    kind: &'a str,
    status: u16,
    exit_code: u8,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = if self.html {
            pages::error_page(self.status, &self.message).into_response()
        } else {
            let body = crate::cli::read::pretty(&JsonError {
                error: &self.message,
                kind: self.kind,
                status: self.status.as_u16(),
                exit_code: self.exit,
            });
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        };
        *r.status_mut() = self.status;
        r.headers_mut()
            .insert("x-pactum-exit", HeaderValue::from(self.exit as u32));
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// A JSON (or JSON Lines) body as the CLI prints it.
fn json_body(body: String, lines: bool) -> Response {
    let ct = if lines {
        "application/x-ndjson"
    } else {
        "application/json"
    };
    let mut r = ([(header::CONTENT_TYPE, ct)], body).into_response();
    r.headers_mut()
        .insert("x-pactum-exit", HeaderValue::from_static("0"));
    r
}

/// Checks the bearer token: writes always need one, reads with `--read-token`.
async fn authorize(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let write = !matches!(req.method().as_str(), "GET" | "HEAD");
    let needs = path != "/health" && (write || app.read_token);
    if !needs {
        return next.run(req).await;
    }
    if path == "/api/cli" {
        // Its handler decides, once it knows whether the command writes.
        return next.run(req).await;
    }
    let html = !path.starts_with("/api/");
    match check_token(&app, req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) if html => e.html().into_response(),
        Err(e) => e.into_response(),
    }
}

/// The bearer token of a request: 401 when missing or malformed, 403 when not accepted.
fn check_token(app: &App, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            2,
            "unauthorized",
            "this request needs a token: send `Authorization: Bearer TOKEN` (the CLI sends PACTUM_TOKEN)",
        ));
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            2,
            "unauthorized",
            "the Authorization header must be `Bearer TOKEN`",
        ));
    };
    if auth::check(&app.tokens, presented).is_none() {
        let msg = if app.tokens.is_empty() {
            "the token is refused: this server accepts no token (start it with --tokens FILE)"
        } else {
            "the token is refused: it is not in the server's tokens file"
        };
        return Err(ApiError::new(StatusCode::FORBIDDEN, 2, "forbidden", msg));
    }
    Ok(())
}

/// `POST /api/cli`: a command line of a client run with `--ledger http://…`
/// (`cli/remote.rs`); answers its standard output, message and exit code.
async fn cli(
    State(app): State<Shared>,
    headers: axum::http::HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    use crate::cli::remote;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::new(
                e.status(),
                2,
                "bad-request",
                format!("cannot read the request body: {e}"),
            )
        }
    })?;
    let req: remote::CliRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("not a command line request: {e}")))?;
    let (parsed, write, exclusive) = remote::parse(&req).map_err(ApiError::bad)?;
    if write || app.read_token {
        check_token(&app, &headers)?;
    }
    let answer = app
        .with(exclusive, move |app| {
            Ok(remote::execute(&app.ledger, req, parsed))
        })
        .await?;
    let exit = answer.exit;
    let mut r = (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&answer).unwrap_or_default(),
    )
        .into_response();
    r.headers_mut().insert(
        "x-pactum-exit",
        HeaderValue::from(exit.clamp(0, 255) as u32),
    );
    Ok(r)
}

/// Refuses a declared body over [`REQUEST_BODY_BYTES_MAX`] before reading
/// it (a body without a length is cut off by the extractor's limit).
async fn limit_length(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > REQUEST_BODY_BYTES_MAX as u64) {
        return too_large().into_response();
    }
    next.run(req).await
}

/// The refusal of a body over the limit.
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        2,
        "too-large",
        format!("the request body is over REQUEST_BODY_BYTES_MAX ({REQUEST_BODY_BYTES_MAX} bytes): append in smaller batches"),
    )
}

async fn not_found(req: Request) -> ApiError {
    let path = req.uri().path();
    let e = ApiError::new(
        StatusCode::NOT_FOUND,
        2,
        "not-found",
        "no such page or API route (see / for the pages and /api/ for the API)",
    );
    if path.starts_with("/api/") {
        e
    } else {
        e.html()
    }
}

/// A route that exists, asked with a method it does not answer: 405, with
/// the exit code class and error body every other refusal has (axum adds
/// the `Allow` header).
async fn method_not_allowed(req: Request) -> ApiError {
    let e = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        2,
        "method-not-allowed",
        format!(
            "{} is not answered at {} (see /api/ for each route's method)",
            req.method(),
            req.uri().path()
        ),
    );
    if req.uri().path().starts_with("/api/") {
        e
    } else {
        e.html()
    }
}

async fn health() -> &'static str {
    "ok\n"
}

/// The state of a server holding `ledger` (also the `serve` fuzz target's, in process).
pub(crate) fn app(
    ledger: Ledger<AnyStore>,
    tokens: Vec<auth::Token>,
    read_token: bool,
    name: String,
) -> Arc<App> {
    Arc::new(App {
        ledger,
        lock: RwLock::new(()),
        tokens,
        read_token,
        name,
    })
}

/// The routes (the `serve` fuzz target calls them in process, without a socket).
pub(crate) fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/agreements/{id}", get(pages::agreement))
        .route("/log", get(pages::log))
        .route("/checkpoint", get(pages::checkpoint))
        .route("/health", get(health))
        .route("/api/", get(api::index))
        .route("/api/agreements", get(api::list))
        .route("/api/agreements/{id}/state", get(api::state))
        .route("/api/agreements/{id}/diff", get(api::diff))
        .route("/api/agreements/{id}/history", get(api::history))
        .route("/api/agreements/{id}/timeline", get(api::timeline))
        .route("/api/log", get(api::log))
        .route("/api/head", get(api::head))
        .route("/api/audit", get(api::audit))
        .route("/api/checkpoint", get(api::checkpoint))
        .route("/api/append", post(api::append))
        .route("/api/cli", post(cli))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .layer(middleware::from_fn_with_state(app.clone(), authorize))
        .layer(middleware::from_fn(limit_length))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(REQUEST_TIME_MS),
        ))
        .with_state(app)
}

/// Runs `serve` until interrupted.
pub fn run(ctx: &Ctx<'_>, a: &Args) -> Result<(), Fail> {
    let tokens = match &a.tokens {
        Some(p) => auth::load(p)?,
        None => Vec::new(),
    };
    if a.read_token && tokens.is_empty() {
        return Err(usage(
            "--read-token needs --tokens FILE with at least one token (pactum token new NAME --tokens FILE)",
        ));
    }
    let ledger = match ctx.open_or_create()? {
        crate::cli::Held::Own(l) => *l,
        crate::cli::Held::Lent(_) => return Err(usage("the server needs a ledger folder")),
    };
    let app = app(ledger, tokens, a.read_token, ctx.ledger_name());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(format!("cannot start the server's runtime: {e}")))?;
    rt.block_on(serve(app, a.listen))
}

async fn serve(app: Shared, addr: SocketAddr) -> Result<(), Fail> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| usage(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| usage(format!("cannot listen on {addr}: {e}")))?;
    if !local.ip().is_loopback() {
        eprintln!("pactum: warning: listening on {local}, which is not a loopback address: anyone who can reach it can read the ledger{}", if app.read_token { " with a token" } else { "" });
    }
    eprintln!(
        "pactum: serving {} on http://{local}/ (writes need a token{})",
        app.name,
        if app.read_token { ", reads too" } else { "" }
    );
    let service = router(app);
    let slots = Arc::new(tokio::sync::Semaphore::new(CONNECTIONS_MAX));
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(_) => {
                    // Out of file descriptors and the like: breathe, go on.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let svc = hyper_util::service::TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_millis(HEADER_READ_MS))
                .max_buf_size(HEADER_BYTES_MAX.max(8192))
                .serve_connection(TokioIo::new(stream), svc);
            let _ = tokio::time::timeout(Duration::from_millis(CONNECTION_TIME_MS), conn).await;
            drop(permit);
        });
    }
    eprintln!("pactum: stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
