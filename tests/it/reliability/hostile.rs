//! Hostile input, beyond `fixtures/invalid/` (generated here, in a temp
//! folder: nothing big is committed): 100 MiB files and standard input, a
//! 2 GiB sparse file, a million changes, JSON and TOML nested 100 000 deep, a
//! 10 MiB clause text, invalid UTF-8, NUL bytes, and every limit of
//! `src/limits.rs` at its value (accepted) and one over (refused).
//!
//! Each refused input is run against a missing ledger (which must not be
//! created) and against an existing one (whose keys and values must not
//! change): exit 2, a message naming the problem or the limit, nothing on
//! standard output, no panic, in under `TIME_MAX`, with a peak resident
//! memory under `MEMORY_MAX_KIB`: measured exactly by GNU time (`%M`) when
//! `/usr/bin/time` is installed, else sampled from `/proc/PID/status`
//! (`VmHWM`) every millisecond while the process runs (a process that ends
//! within a millisecond or two may go unmeasured; one that reads 100 MiB
//! does not). Each at-limit input is appended to a new ledger (exit 0) and
//! audited. A second test checks that no refusal prints a control character
//! of the input (a NUL, an ESC) as it is. `PACTUM_HOSTILE_SHOW=1` prints
//! every message, time and peak (with `--nocapture`).
//!
//! The default tier runs the inputs of up to `QUICK_BYTES_MAX`; the long tier
//! (`PACTUM_TEST_LONG=1`, as `.ci/run` sets) runs them all.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use pactum::store::SledStore;

use super::common::*;
use crate::long_tier;

const MIB: usize = 1024 * 1024;
/// The largest input the default (fast) tier runs, bytes.
const QUICK_BYTES_MAX: u64 = 2 * 1024 * 1024;
const TIME_MAX: Duration = Duration::from_secs(10);
const MEMORY_MAX_KIB: u64 = 64 * 1024;
const NOW: &str = "2026-11-01T00:00:00Z";

enum Input {
    File(PathBuf),
    /// The file's bytes on standard input (`append -`), through a pipe.
    Stdin(PathBuf),
}

struct Case {
    name: String,
    input: Input,
    /// Exit 0 (at a limit) or 2 (refused).
    accept: bool,
    /// Substrings of standard error (refused cases).
    expect: Vec<String>,
}

impl Case {
    /// The input's size, bytes.
    fn bytes(&self) -> u64 {
        let (Input::File(p) | Input::Stdin(p)) = &self.input;
        std::fs::metadata(p).map(|m| m.len()).unwrap_or(u64::MAX)
    }

    /// An input that must be refused, its error quoting each of `expect`.
    fn refused(name: &str, input: Input, expect: &[&str]) -> Case {
        Case {
            name: name.to_string(),
            input,
            accept: false,
            expect: expect.iter().map(|s| s.to_string()).collect(),
        }
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    /// Peak resident set, KiB (`None` where /proc is not available).
    peak_kib: Option<u64>,
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn drain(r: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut v);
        }
        v
    })
}

const GNU_TIME: &str = "/usr/bin/time";
const MAXRSS: &str = "PACTUM-MAXRSS-KIB ";

/// `pactum --ledger LEDGER`, under GNU time when it is installed (its `%M`
/// is the exact peak, from `wait4`); else sampled from `/proc`.
fn pactum_measured(ledger: &Path) -> std::process::Command {
    if !Path::new(GNU_TIME).exists() {
        return pactum(ledger);
    }
    let plain = pactum(ledger);
    let mut c = std::process::Command::new(GNU_TIME);
    c.arg("-f")
        .arg(format!("{MAXRSS}%M"))
        .arg(plain.get_program());
    c.args(plain.get_args());
    for (k, v) in plain.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.stdin(Stdio::null());
    c
}

/// Takes GNU time's lines out of standard error; returns its peak, if any.
fn strip_time(stderr: &mut String) -> Option<u64> {
    let mut peak = None;
    let kept: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            if let Some(k) = l.strip_prefix(MAXRSS) {
                peak = k.trim().parse().ok();
                return false;
            }
            !(l.starts_with("Command exited with non-zero status")
                || l.starts_with("Command terminated by signal"))
        })
        .collect();
    let mut s = kept.join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    *stderr = s;
    peak
}

/// Runs `pactum --ledger LEDGER append INPUT` in `cwd`, measuring its memory.
fn append(ledger: &Path, input: &Input, cwd: &Path) -> Run {
    let mut c = pactum_measured(ledger);
    c.current_dir(cwd).env("PACTUM_NOW", NOW).arg("append");
    match input {
        Input::File(p) => c.arg(p),
        Input::Stdin(_) => c.arg("-").stdin(Stdio::piped()),
    };
    let started = Instant::now();
    let mut child: Child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pactum");
    let feeder = match input {
        Input::Stdin(p) => {
            let mut stdin = child.stdin.take().expect("stdin");
            let mut f = std::fs::File::open(p).expect("open input");
            // pactum may stop reading early (that is the point): ignore EPIPE.
            Some(std::thread::spawn(move || {
                let _ = std::io::copy(&mut f, &mut stdin);
            }))
        }
        Input::File(_) => None,
    };
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let pid = child.id();
    let mut peak = None;
    let status = loop {
        if let Some(kib) = vm_hwm(pid) {
            peak = Some(peak.unwrap_or(0).max(kib));
        }
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if started.elapsed() > TIME_MAX * 6 {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let elapsed = started.elapsed();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let mut stderr = text(&err.join().expect("stderr"));
    // GNU time's exact peak when it ran (it is the child, pactum its child).
    if let Some(kib) = strip_time(&mut stderr) {
        peak = Some(kib);
    }
    Run {
        code: status.code(),
        stdout: text(&out.join().expect("stdout")),
        stderr,
        elapsed,
        peak_kib: peak,
    }
}

// ------------------------------------------------------------------ inputs

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write input");
    p
}

/// Writes `head`, then `fill` repeated up to `size` bytes in all, then `tail`.
fn write_big(dir: &Path, name: &str, head: &str, fill: u8, tail: &str, size: usize) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).expect("create"));
    f.write_all(head.as_bytes()).expect("write");
    let chunk = vec![fill; MIB];
    let mut left = size - head.len() - tail.len();
    while left > 0 {
        let n = left.min(MIB);
        f.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    f.write_all(tail.as_bytes()).expect("write");
    f.flush().expect("flush");
    p
}

const HEAD: &str = r#"{"agreement":"h","id":"x","title":"T","effective":"2024-01-01","change":["#;

fn json_doc(changes: &str) -> String {
    format!("{HEAD}{changes}]}}")
}

const EST: &str = r#"{"op":"establish","title":"A","parties":[{"id":"p","name":"P"}]}"#;

fn add_change(clause: &str, extra: &str) -> String {
    format!(r#"{{"op":"add","clause":"{clause}","text":"t"{extra}}}"#)
}

/// Every id at the limit given (`o` names the one made one byte longer).
fn ids_doc(over: Option<&str>) -> String {
    let n =
        |what: &str, c: &str, max: usize| c.repeat(if over == Some(what) { max + 1 } else { max });
    format!(
        r#"{{"agreement":"{}","id":"{}","title":"Limits","effective":"2024-01-01","change":[{{"op":"establish","title":"A","parties":[{{"id":"{}","name":"P"}}]}},{{"op":"add","clause":"{}","text":"t","terms":{{"{}":1}},"until_event":"{}"}},{{"op":"occur","event":"{}"}}]}}"#,
        n("agreement", "a", 64),
        n("amendment", "b", 128),
        n("party", "p", 64),
        n("clause", "c", 128),
        n("term", "t", 64),
        n("until_event", "e", 64),
        if over == Some("event") {
            "e".repeat(65)
        } else {
            "e".repeat(64)
        },
    )
}

fn nested(depth: usize, open: &str, inner: &str, close: &str) -> String {
    let mut s = String::with_capacity(depth * (open.len() + close.len()) + inner.len());
    for _ in 0..depth {
        s.push_str(open);
    }
    s.push_str(inner);
    for _ in 0..depth {
        s.push_str(close);
    }
    s
}

/// Inputs whose refusal quotes a part of them that holds a NUL or an ESC.
fn echo_cases(dir: &Path) -> Vec<Case> {
    let mut v: Vec<Case> = Vec::new();
    let mut refuse =
        |name: &str, input: Input, expect: &[&str]| v.push(Case::refused(name, input, expect));
    let f = |name: &str, bytes: &dyn AsRef<[u8]>| Input::File(write(dir, name, bytes));
    refuse(
        "a NUL escape in an amendment id",
        f(
            "nul-id.json",
            &json_doc(EST).replace(r#""id":"x""#, r#""id":"x\u0000y""#),
        ),
        &["nul-id.json:1:", "amendment id", "must match"],
    );
    refuse(
        "a NUL escape in an agreement id",
        f(
            "nul-agreement.json",
            &json_doc(EST).replace(r#""agreement":"h""#, r#""agreement":"h\u0000""#),
        ),
        &["nul-agreement.json:1:", "agreement id", "must match"],
    );
    refuse(
        "an ANSI escape sequence in an agreement id",
        f(
            "esc-agreement.json",
            &json_doc(EST).replace(
                r#""agreement":"h""#,
                r#""agreement":"h\u001b[2J\u001b[31mred""#,
            ),
        ),
        &["esc-agreement.json:1:", "agreement id", "must match"],
    );
    refuse(
        "an ANSI escape sequence in an op",
        f("esc-op.json", &json_doc(r#"{"op":"add\u001b[2J"}"#)),
        &["esc-op.json:1:", "unknown op"],
    );
    refuse(
        "an ANSI escape sequence in an unknown field's name",
        f(
            "esc-field.json",
            &json_doc(EST).replace(r#""title":"T""#, r#""title":"T","x\u001b[2J":1"#),
        ),
        &["esc-field.json:1:", "unknown field"],
    );
    v
}

fn cases(dir: &Path) -> Vec<Case> {
    let mut v: Vec<Case> = Vec::new();
    let mut refuse =
        |name: &str, input: Input, expect: &[&str]| v.push(Case::refused(name, input, expect));
    let f = |name: &str, bytes: &dyn AsRef<[u8]>| Input::File(write(dir, name, bytes));

    // ---- size
    let big_line = write_big(dir, "big-line.jsonl", HEAD, b'a', "\"]}\n", 100 * MIB);
    refuse(
        "100 MiB JSON Lines line",
        Input::File(big_line.clone()),
        &[
            "big-line.jsonl:1",
            "over the limit of 1048576 bytes",
            "AMENDMENT_BYTES_MAX",
        ],
    );
    refuse(
        "100 MiB on standard input",
        Input::Stdin(big_line),
        &[
            "-:1",
            "over the limit of 1048576 bytes",
            "AMENDMENT_BYTES_MAX",
        ],
    );
    let big_json = write_big(
        dir,
        "big.json",
        r#"{"agreement":"h","id":"x","title":""#,
        b'a',
        "\"}",
        100 * MIB,
    );
    refuse(
        "100 MiB .json",
        Input::File(big_json),
        &[
            "big.json",
            "104857600 bytes, over the limit of 1048576 bytes",
            "AMENDMENT_BYTES_MAX",
        ],
    );
    let big_toml = write_big(dir, "big.toml", "title = \"", b'a', "\"\n", 100 * MIB);
    refuse(
        "100 MiB .toml",
        Input::File(big_toml),
        &[
            "big.toml",
            "104857600 bytes, over the limit of 1048576 bytes",
            "AMENDMENT_BYTES_MAX",
        ],
    );
    // 20 MiB of blank lines (100 MiB takes 7 s at the test profile's opt-level 1), then a bad line.
    let blank_tail = "{\"agreement\":\n";
    let blanks = write_big(
        dir,
        "blanks-then-bad.jsonl",
        "",
        b'\n',
        blank_tail,
        20 * MIB,
    );
    let bad_line = format!("blanks-then-bad.jsonl:{}:", 20 * MIB - blank_tail.len() + 1);
    refuse(
        "20 MiB of blank lines, then a bad line",
        Input::File(blanks),
        &[&bad_line, "JSON Lines holds one whole amendment per line"],
    );
    let sparse = dir.join("sparse.jsonl");
    std::fs::File::create(&sparse)
        .and_then(|f| f.set_len(2 * 1024 * MIB as u64 + 1))
        .expect("sparse file");
    refuse(
        "a 2 GiB + 1 byte (sparse) .jsonl",
        Input::File(sparse),
        &[
            "sparse.jsonl",
            "2147483649 bytes, over the limit of 2147483648 bytes",
            "INPUT_FILE_BYTES_MAX",
        ],
    );
    let over_1mib = {
        let doc = json_doc(EST);
        format!("{doc}{}", " ".repeat(MIB + 1 - doc.len()))
    };
    refuse(
        "a .json of 1 MiB + 1 byte",
        f("over-1mib.json", &over_1mib),
        &[
            "over-1mib.json",
            "1048577 bytes, over the limit of 1048576 bytes",
            "AMENDMENT_BYTES_MAX",
        ],
    );
    refuse(
        "a .jsonl line of 1 MiB + 1 byte",
        f("over-1mib.jsonl", &format!("{over_1mib}\n")),
        &[
            "over-1mib.jsonl:1",
            "over the limit of 1048576 bytes",
            "AMENDMENT_BYTES_MAX",
        ],
    );

    // ---- a million changes
    let million = json_doc(&vec![r#"{"op":"terminate"}"#; 1_000_000].join(","));
    refuse(
        "a million changes (.jsonl)",
        f("million.jsonl", &format!("{million}\n")),
        &["million.jsonl:1", "over the limit of 1048576 bytes"],
    );
    refuse(
        "a million changes (.json)",
        f("million.json", &million),
        &["million.json", "over the limit of 1048576 bytes"],
    );
    let changes = |n: usize| {
        let mut c = vec![EST.to_string()];
        c.extend((1..n).map(|i| add_change(&format!("c{i}"), "")));
        json_doc(&c.join(","))
    };
    refuse(
        "1001 changes",
        f("changes-1001.json", &changes(1001)),
        &[
            "changes-1001.json",
            "1001 changes, over the limit of 1000",
            "CHANGES_PER_AMENDMENT_MAX",
        ],
    );

    // ---- nesting 100 000 deep
    const DEEP: usize = 100_000;
    let deep_arr = nested(DEEP, "[", "1", "]");
    let deep_obj = nested(DEEP, r#"{"a":"#, "1", "}");
    let term = |val: &str| {
        json_doc(&format!(
            "{EST},{}",
            add_change("c", &format!(r#","terms":{{"x":{val}}}"#))
        ))
    };
    refuse(
        "JSON array nested 100 000 deep in a term",
        f("deep-term-array.json", &term(&deep_arr)),
        &[
            "deep-term-array.json:1:",
            "a term value must be text, an integer, a boolean or a date, not a list",
        ],
    );
    refuse(
        "JSON object nested 100 000 deep in a term",
        f("deep-term-object.json", &term(&deep_obj)),
        &[
            "deep-term-object.json:1:",
            "a term value must be text, an integer, a boolean or a date, not a table",
        ],
    );
    refuse(
        "JSON nested 100 000 deep as the change list",
        f("deep-changes.json", &json_doc(&deep_arr)),
        &["deep-changes.json:1:"],
    );
    refuse(
        "JSON nested 100 000 deep in an unknown field",
        f(
            "deep-unknown.json",
            &format!(r#"{{"agreement":"h","deep":{deep_arr}}}"#),
        ),
        &["deep-unknown.json:1:", "unknown field `deep`"],
    );
    refuse(
        "JSON nested 100 000 deep as the document",
        f("deep-top.json", &deep_arr),
        &["deep-top.json", "one JSON object"],
    );
    refuse(
        "JSON nested 100 000 deep on a JSON Lines line",
        f(
            "deep.jsonl",
            &format!("{}\n{}\n", json_doc(EST), term(&deep_obj)),
        ),
        &[
            "deep.jsonl:2:",
            "a term value must be text, an integer, a boolean or a date, not a table",
        ],
    );
    let toml_head = "agreement = \"h\"\nid = \"x\"\ntitle = \"T\"\neffective = 2024-01-01\n[[change]]\nop = \"establish\"\ntitle = \"A\"\nparties = [{ id = \"p\", name = \"P\" }]\n[[change]]\nop = \"add\"\nclause = \"c\"\ntext = \"t\"\n";
    refuse(
        "TOML array nested 100 000 deep in a term",
        f(
            "deep-term-array.toml",
            &format!("{toml_head}terms = {{ x = {deep_arr} }}\n"),
        ),
        &["deep-term-array.toml:13:", "recursion limit"],
    );
    refuse(
        "TOML inline table nested 100 000 deep in a term",
        f(
            "deep-term-table.toml",
            &format!(
                "{toml_head}terms = {{ x = {} }}\n",
                nested(DEEP, "{ a = ", "1", " }")
            ),
        ),
        &["deep-term-table.toml:13:", "recursion limit"],
    );
    refuse(
        "TOML dotted key 100 000 deep",
        f(
            "deep-dotted.toml",
            &format!("{toml_head}{} = 1\n", vec!["a"; DEEP].join(".")),
        ),
        &["deep-dotted.toml:13:", "recursion limit"],
    );
    refuse(
        "TOML table header 100 000 deep",
        f(
            "deep-header.toml",
            &format!("{toml_head}[{}]\n", vec!["a"; DEEP].join(".")),
        ),
        &["deep-header.toml:13:", "recursion limit"],
    );

    // ---- big texts
    let text_doc = |len: usize| {
        json_doc(&format!(
            "{EST},{}",
            add_change("c", "")
                .replace(r#""text":"t""#, &format!(r#""text":"{}""#, filler(7, len)))
        ))
    };
    let ten = text_doc(10 * MIB);
    refuse(
        "10 MiB clause text (.json)",
        f("text-10mib.json", &ten),
        &["text-10mib.json", "over the limit of 1048576 bytes"],
    );
    refuse(
        "10 MiB clause text (.jsonl)",
        f("text-10mib.jsonl", &format!("{ten}\n")),
        &["text-10mib.jsonl:1", "over the limit of 1048576 bytes"],
    );
    refuse(
        "10 MiB clause text (.toml)",
        f(
            "text-10mib.toml",
            &toml_head.replace(
                "text = \"t\"",
                &format!("text = \"{}\"", filler(7, 10 * MIB)),
            ),
        ),
        &["text-10mib.toml", "over the limit of 1048576 bytes"],
    );
    refuse(
        "clause text of 64 KiB + 1",
        f("text-over.json", &text_doc(65_537)),
        &[
            "text-over.json",
            "`text` is 65537 bytes, over the limit of 65536 bytes (CLAUSE_TEXT_BYTES_MAX)",
        ],
    );

    // ---- invalid UTF-8
    let bad = |bytes: &[u8]| {
        let mut d = json_doc(EST).into_bytes();
        let at = d.windows(4).position(|w| w == b"\"T\",").expect("title") + 1;
        d.splice(at..at + 1, bytes.iter().copied());
        d
    };
    refuse(
        "invalid UTF-8 (0xFF) in .json",
        f("utf8-ff.json", &bad(b"\xff")),
        &["utf8-ff.json:1:", "not valid UTF-8"],
    );
    refuse(
        "a UTF-16 surrogate in UTF-8 bytes",
        f("utf8-surrogate.json", &bad(b"\xed\xa0\x80")),
        &["utf8-surrogate.json:1:", "not valid UTF-8"],
    );
    refuse(
        "an overlong UTF-8 encoding",
        f("utf8-overlong.json", &bad(b"\xc0\xaf")),
        &["utf8-overlong.json:1:", "not valid UTF-8"],
    );
    refuse(
        "a truncated UTF-8 sequence at the end",
        f(
            "utf8-truncated.json",
            &[json_doc(EST).as_bytes(), b"\xe2\x82"].concat(),
        ),
        &["utf8-truncated.json:1:", "not valid UTF-8"],
    );
    let mut toml_bad = toml_head.as_bytes().to_vec();
    toml_bad.extend_from_slice(b"heading = \"caf\xe9\"\n");
    refuse(
        "invalid UTF-8 in .toml",
        f("utf8.toml", &toml_bad),
        &["utf8.toml:13:", "not valid UTF-8"],
    );
    let mut lines = format!("{}\n\n", json_doc(EST)).into_bytes();
    lines.extend_from_slice(&bad(b"\x80"));
    lines.push(b'\n');
    refuse(
        "invalid UTF-8 on line 3 of .jsonl",
        f("utf8.jsonl", &lines),
        &["utf8.jsonl:3:", "not valid UTF-8"],
    );
    let stdin_bad = write(dir, "utf8-stdin.bin", &lines);
    refuse(
        "invalid UTF-8 on standard input",
        Input::Stdin(stdin_bad),
        &["-:3:", "not valid UTF-8"],
    );

    // ---- NUL bytes
    refuse(
        "a raw NUL byte in a JSON string",
        f("nul-raw.json", &bad(b"\0")),
        &["nul-raw.json:1:", "control character"],
    );
    refuse(
        "a NUL escape in a clause text",
        f(
            "nul-text.json",
            &json_doc(&format!(
                "{EST},{}",
                add_change("c", "").replace(r#""text":"t""#, r#""text":"a\u0000b""#)
            )),
        ),
        &["nul-text.json", "control character U+0000"],
    );
    refuse(
        "a NUL escape in a TOML title",
        f(
            "nul-title.toml",
            &toml_head.replace("title = \"T\"", "title = \"T\\u0000\""),
        ),
        &["nul-title.toml", "control character U+0000"],
    );
    refuse(
        "a raw NUL byte in TOML",
        f(
            "nul-raw.toml",
            &toml_head.replace("title = \"T\"", "title = \"T\0\""),
        ),
        &["nul-raw.toml:3:"],
    );
    refuse(
        "a NUL byte outside strings",
        f("nul-outside.json", &json_doc(EST).replacen(',', ",\0", 1)),
        &["nul-outside.json:1:"],
    );
    refuse(
        "1 MiB of NUL bytes (.json)",
        f("zeros.json", &vec![0u8; MIB]),
        &["zeros.json", "one JSON object"],
    );
    refuse(
        "1 MiB of NUL bytes (.toml)",
        f("zeros.toml", &vec![0u8; MIB]),
        &["zeros.toml:1:"],
    );
    refuse(
        "1 MiB of NUL bytes (.jsonl)",
        f("zeros.jsonl", &vec![0u8; MIB]),
        &["zeros.jsonl:1"],
    );

    // ---- every id one byte over its limit
    for (what, msg) in [
        (
            "agreement",
            "is 65 bytes, over the limit of 64 bytes (AGREEMENT_ID_BYTES_MAX)",
        ),
        (
            "amendment",
            "is 129 bytes, over the limit of 128 bytes (AMENDMENT_ID_BYTES_MAX)",
        ),
        (
            "party",
            "is 65 bytes, over the limit of 64 bytes (PARTY_ID_BYTES_MAX)",
        ),
        (
            "clause",
            "is 129 bytes, over the limit of 128 bytes (CLAUSE_ID_BYTES_MAX)",
        ),
        (
            "term",
            "is 65 bytes, over the limit of 64 bytes (TERM_NAME_BYTES_MAX)",
        ),
        (
            "until_event",
            "is 65 bytes, over the limit of 64 bytes (EVENT_ID_BYTES_MAX)",
        ),
        (
            "event",
            "is 65 bytes, over the limit of 64 bytes (EVENT_ID_BYTES_MAX)",
        ),
    ] {
        let name = format!("over-{what}.json");
        refuse(
            &format!("{what} id one byte over"),
            f(&name, &ids_doc(Some(what))),
            &[&name, msg],
        );
    }
    // ---- every other limit one over
    let parties = |n: usize| {
        let p: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"id":"p{i}","name":"P"}}"#))
            .collect();
        json_doc(&format!(
            r#"{{"op":"establish","title":"A","parties":[{}]}}"#,
            p.join(",")
        ))
    };
    let terms = |n: usize| {
        let t: Vec<String> = (0..n).map(|i| format!(r#""t{i}":{i}"#)).collect();
        json_doc(&format!(
            "{EST},{}",
            add_change("c", &format!(r#","terms":{{{}}}"#, t.join(",")))
        ))
    };
    let title = |n: usize| {
        json_doc(EST).replace(r#""title":"T""#, &format!(r#""title":"{}""#, "t".repeat(n)))
    };
    let source = |n: usize| {
        json_doc(EST).replace(
            r#""title":"T""#,
            &format!(r#""title":"T","source":"{}""#, "s".repeat(n)),
        )
    };
    let term_text = |n: usize| {
        json_doc(&format!(
            "{EST},{}",
            add_change("c", &format!(r#","terms":{{"x":"{}"}}"#, "v".repeat(n)))
        ))
    };
    let effective = |d: &str| json_doc(EST).replace("2024-01-01", d);
    refuse(
        "65 parties",
        f("parties-65.json", &parties(65)),
        &["parties-65.json", "65", "PARTIES_PER_AGREEMENT_MAX"],
    );
    refuse(
        "65 terms on a clause",
        f("terms-65.json", &terms(65)),
        &[
            "terms-65.json",
            "65 terms, over the limit of 64",
            "TERMS_PER_CLAUSE_MAX",
        ],
    );
    refuse(
        "a title of 1025 bytes",
        f("title-1025.json", &title(1025)),
        &[
            "title-1025.json",
            "1025 bytes, over the limit of 1024 bytes (SHORT_TEXT_BYTES_MAX)",
        ],
    );
    refuse(
        "a source of 2049 bytes",
        f("source-2049.json", &source(2049)),
        &[
            "source-2049.json",
            "2049 bytes, over the limit of 2048 bytes (SOURCE_BYTES_MAX)",
        ],
    );
    refuse(
        "a term text of 1025 bytes",
        f("term-text-1025.json", &term_text(1025)),
        &[
            "term-text-1025.json",
            "1025 bytes, over the limit of 1024 bytes (TERM_TEXT_BYTES_MAX)",
        ],
    );
    refuse(
        "the year 0",
        f("year-0.json", &effective("0000-12-31")),
        &["year-0.json", "0000-12-31"],
    );
    refuse(
        "the year 10000",
        f("year-10000.json", &effective("10000-01-01")),
        &["year-10000.json", "10000-01-01"],
    );

    // ---- at every limit: accepted
    let mut accept = |name: &str, bytes: &dyn AsRef<[u8]>| {
        v.push(Case {
            name: name.to_string(),
            input: Input::File(write(
                dir,
                &format!("ok-{}.json", name.replace(' ', "-")),
                bytes,
            )),
            accept: true,
            expect: vec![],
        })
    };
    accept("every id at its limit", &ids_doc(None));
    accept("1000 changes", &changes(1000));
    accept("clause text of 64 KiB", &text_doc(65_536));
    accept("64 parties", &parties(64));
    accept("64 terms", &terms(64));
    accept("title of 1024 bytes", &title(1024));
    accept("source of 2048 bytes", &source(2048));
    accept("term text of 1024 bytes", &term_text(1024));
    accept("year 1", &effective("0001-01-01"));
    accept("year 9999", &effective("9999-12-31"));
    let exactly_1mib = {
        let doc = json_doc(EST);
        format!("{doc}{}", " ".repeat(MIB - doc.len()))
    };
    accept("file of exactly 1 MiB", &exactly_1mib);
    v.extend(echo_cases(dir));
    v
}

// ------------------------------------------------------------------ the test

fn ledger_snapshot(path: &Path) -> Snapshot {
    snapshot(&SledStore::open(path, Duration::from_secs(30)).expect("open ledger"))
}

/// Problems with one run, if any.
fn judge(case: &Case, where_: &str, r: &Run, echo: bool) -> Vec<String> {
    let mut bad = Vec::new();
    let want = if case.accept { 0 } else { 2 };
    if r.code != Some(want) {
        bad.push(format!("exit {:?}, expected {want}", r.code));
    }
    if let Some(f) = unclean(&r.stderr) {
        bad.push(format!("stderr shows {f:?}"));
    }
    for e in &case.expect {
        if !r.stderr.contains(e.as_str()) {
            bad.push(format!("stderr lacks {e:?}"));
        }
    }
    // Input is never echoed raw: a NUL or an ESC from a hostile file must not
    // reach the terminal (invisible text, or escape sequences that recolour or
    // rewrite it).
    if let Some(c) = r
        .stderr
        .chars()
        .find(|c| echo && c.is_control() && *c != '\n')
    {
        bad.push(format!(
            "stderr holds the raw control character U+{:04X}, echoed from the input unescaped",
            c as u32
        ));
    }
    if !case.accept && !r.stdout.trim().is_empty() {
        bad.push("a refusal printed to stdout".into());
    }
    if r.elapsed > TIME_MAX {
        bad.push(format!("took {:.1?}, over {TIME_MAX:?}", r.elapsed));
    }
    if let Some(kib) = r.peak_kib {
        if kib > MEMORY_MAX_KIB {
            bad.push(format!(
                "peak memory {} MiB, over {} MiB",
                kib / 1024,
                MEMORY_MAX_KIB / 1024
            ));
        }
    }
    bad.into_iter()
        .map(|b| {
            format!(
                "{} ({where_}): {b}\n    stderr: {}",
                case.name,
                r.stderr.trim().escape_debug().take(400).collect::<String>()
            )
        })
        .collect()
}

#[test]
fn hostile_input_is_refused_quickly_in_bounded_memory_writing_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let inputs = tmp.path().join("inputs");
    std::fs::create_dir_all(&inputs).expect("mkdir");
    let started = Instant::now();
    let all = cases(&inputs);
    let generated = started.elapsed();
    let total = all.len();
    let cases: Vec<Case> = all
        .into_iter()
        .filter(|c| long_tier() || c.bytes() <= QUICK_BYTES_MAX)
        .collect();
    if cases.len() < total {
        println!(
            "hostile: default tier: {} of {total} inputs (those of up to {QUICK_BYTES_MAX} bytes; PACTUM_TEST_LONG=1 runs all)",
            cases.len()
        );
    }

    // The existing ledger: the bundled fixture.
    let base = tmp.path().join("base");
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/microsoft-openai");
    let r = append(&base, &Input::File(fixture), tmp.path());
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let base_snapshot = ledger_snapshot(&base);

    let mut problems = Vec::new();
    let (mut runs, mut refused, mut accepted) = (0, 0, 0);
    let mut peak: (u64, String) = (0, String::new());
    let mut slowest: (Duration, String) = (Duration::ZERO, String::new());
    let mut note = |r: &Run, name: &str| {
        if let Some(k) = r.peak_kib {
            if k > peak.0 {
                peak = (k, name.to_string());
            }
        }
        if r.elapsed > slowest.0 {
            slowest = (r.elapsed, name.to_string());
        }
    };
    for (i, case) in cases.iter().enumerate() {
        let cwd = tmp.path().join(format!("cwd-{i}"));
        std::fs::create_dir_all(&cwd).expect("mkdir");
        // A missing ledger.
        let missing = cwd.join("missing.ledger");
        let r = append(&missing, &case.input, &cwd);
        if std::env::var_os("PACTUM_HOSTILE_SHOW").is_some() {
            println!(
                "{}: exit {:?}, {:.0?}, {:?} KiB: {}",
                case.name,
                r.code,
                r.elapsed,
                r.peak_kib,
                r.stderr.trim()
            );
        }
        runs += 1;
        note(&r, &case.name);
        problems.extend(judge(case, "missing ledger", &r, false));
        if case.accept {
            accepted += 1;
            let out = run({
                let mut c = pactum(&missing);
                c.arg("audit");
                c
            });
            if out.status.code() != Some(0) {
                problems.push(format!(
                    "{}: audit after the append: {}",
                    case.name,
                    text(&out.stderr)
                ));
            }
            let _ = std::fs::remove_dir_all(&cwd);
            continue;
        }
        refused += 1;
        if missing.exists() {
            problems.push(format!(
                "{}: the refused append created the ledger",
                case.name
            ));
        }
        let stray: Vec<_> = std::fs::read_dir(&cwd)
            .expect("read")
            .map(|e| e.expect("entry").file_name())
            .collect();
        if !stray.is_empty() {
            problems.push(format!(
                "{}: left {stray:?} in the working folder",
                case.name
            ));
        }
        // An existing ledger: no key or value changes.
        let existing = cwd.join("existing.ledger");
        copy_dir(&base, &existing);
        let r = append(&existing, &case.input, &cwd);
        runs += 1;
        note(&r, &case.name);
        problems.extend(judge(case, "existing ledger", &r, false));
        let now = ledger_snapshot(&existing);
        if now != base_snapshot {
            problems.push(format!(
                "{}: the refused append changed the ledger: {}",
                case.name,
                snapshot_diff(&base_snapshot, &now)
            ));
        }
        let _ = std::fs::remove_dir_all(&cwd);
    }
    let how = if Path::new(GNU_TIME).exists() {
        "GNU time"
    } else {
        "sampled from /proc"
    };
    if peak.0 == 0 {
        problems.push("no run's peak memory was measured (neither GNU time nor /proc)".into());
    }
    let measured = format!(
        "peak memory {:.1} MiB ({}; {how})",
        peak.0 as f64 / 1024.0,
        peak.1
    );
    println!(
        "hostile: {} inputs ({refused} refused, {accepted} at a limit and accepted), {runs} runs; {measured}; slowest {:.2?} ({}); inputs generated in {generated:.1?}, all in {:.1?}",
        cases.len(),
        slowest.0,
        slowest.1,
        started.elapsed()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn refusals_never_echo_control_characters_from_the_input() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cases = echo_cases(tmp.path());
    let mut problems = Vec::new();
    for case in &cases {
        let r = append(&tmp.path().join("missing.ledger"), &case.input, tmp.path());
        problems.extend(judge(case, "missing ledger", &r, true));
    }
    println!(
        "hostile: {} refusals quoting a NUL or an ESC from the input",
        cases.len()
    );
    assert!(
        problems.is_empty(),
        "{} of {} refusals print a control character of the input as it is (quote it escaped, e.g. \\u{{1b}}):\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}
