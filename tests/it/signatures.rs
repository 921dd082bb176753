//! Keys, signed checkpoints and witness cosignatures through the real binary:
//! `key generate`, `checkpoint --sign`, `verify --key`, `audit --checkpoint
//! --key`, `cosign`, and the split-view attack a witness stops.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pactum::note::{Note, VerifierKey};

const NOW: &str = "2026-11-01T12:00:00Z";
/// `NOW` in POSIX seconds.
const NOW_SECONDS: u64 = 1_793_534_400;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/microsoft-openai")
}

struct Env {
    dir: tempfile::TempDir,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_pactum"))
            .args(args)
            .current_dir(self.dir.path())
            .env("PACTUM_NOW", NOW)
            .env_remove("PACTUM_LEDGER")
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("run pactum")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "pactum {args:?}\nstdout:\n{}\nstderr:\n{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        text(&o.stdout)
    }

    /// Runs, asserts the exit code, returns stderr and stdout together.
    fn fails(&self, code: i32, args: &[&str]) -> String {
        let o = self.run(args);
        let all = format!("{}{}", text(&o.stderr), text(&o.stdout));
        assert_eq!(o.status.code(), Some(code), "pactum {args:?}\n{all}");
        assert!(!all.contains("panicked"), "{all}");
        all
    }

    fn write(&self, name: &str, content: &str) -> String {
        std::fs::write(self.path(name), content).expect("write");
        self.path(name).display().to_string()
    }

    /// A ledger with the bundled history; returns its origin line.
    fn ledger(&self, name: &str) -> String {
        self.ok(&["--ledger", name, "append", &fixture().display().to_string()]);
        let cp = self.ok(&["--ledger", name, "checkpoint"]);
        cp.lines().next().expect("origin").to_string()
    }

    /// `key generate NAME -o FILE`; returns the verifier key printed.
    fn key(&self, name: &str, file: &str) -> String {
        self.ok(&["key", "generate", name, "-o", file])
            .trim()
            .to_string()
    }
}

fn amendment(id: &str, clause: &str) -> String {
    format!(
        "agreement = \"microsoft-openai\"\nid = \"{id}\"\ntitle = \"{id}\"\neffective = 2026-06-01\n\n\
         [[change]]\nop = \"add\"\nclause = \"{clause}\"\nheading = \"{clause}\"\ntext = \"Text of {clause}.\"\n"
    )
}

#[test]
fn key_generate_writes_a_private_file_once_and_prints_the_verifier_key() {
    let env = Env::new();
    let vkey = env.key("legal.example.com", "legal.key");
    let v: VerifierKey = vkey.parse().expect("a verifier key is printed");
    assert_eq!(v.name(), "legal.example.com");
    let skey = std::fs::read_to_string(env.path("legal.key")).expect("key file");
    assert!(skey.starts_with("PRIVATE+KEY+legal.example.com+"));
    assert!(!vkey.contains("PRIVATE"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path("legal.key"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let err = env.fails(
        2,
        &["key", "generate", "legal.example.com", "-o", "legal.key"],
    );
    assert!(err.contains("never overwritten"), "{err}");
    assert_eq!(
        std::fs::read_to_string(env.path("legal.key")).expect("key"),
        skey
    );
    let err = env.fails(2, &["key", "generate", "two words", "-o", "x.key"]);
    assert!(err.contains("no spaces"), "{err}");
    assert!(!env.path("x.key").exists());
    // Without -o: NAME.key with `/` as `_`.
    env.key("example.com/log", "unused-name-check.key");
    env.ok(&["key", "generate", "example.com/log"]);
    assert!(env.path("example.com_log.key").exists());
}

#[test]
fn signed_checkpoints_verify_with_their_keys() {
    let env = Env::new();
    let origin = env.ledger("l");
    let wrong = env.key("not-the-origin", "wrong.key");
    let err = env.fails(2, &["--ledger", "l", "checkpoint", "--sign", "wrong.key"]);
    assert!(err.contains("origin line"), "{err}");
    let vkey = env.key(&origin, "log.key");
    let signed = env.ok(&["--ledger", "l", "checkpoint", "--sign", "log.key"]);
    let note = Note::parse(&signed).expect("a signed note");
    let plain = env.ok(&["--ledger", "l", "checkpoint"]);
    assert_eq!(note.text(), plain);
    note.require(&[vkey.parse().expect("vkey")])
        .expect("signed by the log key");
    let cp = env.write("cp.txt", &signed);
    env.ok(&[
        "--ledger",
        "l",
        "checkpoint",
        "--sign",
        "log.key",
        "-o",
        "cp-o.txt",
    ]);
    assert_eq!(
        std::fs::read_to_string(env.path("cp-o.txt")).expect("-o"),
        signed
    );
    let json = env.ok(&["--ledger", "l", "checkpoint", "--sign", "log.key", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["signed"].as_str(), Some(signed.as_str()));
    assert_eq!(v["text"].as_str(), Some(plain_text(&signed)));
    env.write("log.vkey", &format!("{vkey}\n"));
    let proof = env.ok(&[
        "--ledger",
        "l",
        "prove",
        "microsoft-openai",
        "2023-01-23-extension",
    ]);
    let proof = env.write("proof.json", &proof);
    // A key on the command line, or a file holding one.
    let out = env.ok(&["verify", &proof, "--checkpoint", &cp, "--key", &vkey]);
    assert!(out.contains("signed by pactum/"), "{out}");
    env.ok(&["verify", &proof, "--checkpoint", &cp, "--key", "log.vkey"]);
    env.ok(&["verify", &proof, "--checkpoint", &cp]);
    // Another key: no signature by it.
    let out = env.fails(
        1,
        &[
            "verify",
            &proof,
            "--checkpoint",
            &cp,
            "--key",
            "log.vkey",
            "--key",
            &wrong,
        ],
    );
    assert!(out.contains("no signature by key not-the-origin+"), "{out}");
    // An unsigned checkpoint file.
    let bare = env.write("bare.txt", &plain);
    let out = env.fails(
        1,
        &["verify", &proof, "--checkpoint", &bare, "--key", &vkey],
    );
    assert!(out.contains("not signed"), "{out}");
    // A forged signature: the text changed after signing.
    let forged = signed.replacen("\n7\n", "\n6\n", 1);
    let forged = env.write("forged.txt", &forged);
    let out = env.fails(
        1,
        &["verify", &proof, "--checkpoint", &forged, "--key", &vkey],
    );
    assert!(out.contains("invalid signature by key pactum/"), "{out}");
    // A malformed key is refused (exit 2), naming it.
    let out = env.fails(
        2,
        &[
            "verify",
            &proof,
            "--checkpoint",
            &cp,
            "--key",
            "x+1234+AAAA",
        ],
    );
    assert!(out.contains("--key `x+1234+AAAA`"), "{out}");

    // audit --checkpoint FILE --key.
    env.ok(&[
        "--ledger",
        "l",
        "audit",
        "--checkpoint",
        &cp,
        "--key",
        &vkey,
    ]);
    let out = env.fails(
        1,
        &[
            "--ledger",
            "l",
            "audit",
            "--checkpoint",
            &cp,
            "--key",
            &wrong,
        ],
    );
    assert!(out.contains("no signature by key not-the-origin"), "{out}");
    let head = env.ok(&["--ledger", "l", "head"]);
    let out = env.fails(
        2,
        &[
            "--ledger",
            "l",
            "audit",
            "--checkpoint",
            head.trim(),
            "--key",
            &vkey,
        ],
    );
    assert!(out.contains("bare N:HASH"), "{out}");
    // The export, offline.
    env.ok(&["--ledger", "l", "export", "-o", "l.jsonl"]);
    env.ok(&["audit", "l.jsonl", "--checkpoint", &cp, "--key", &vkey]);
}

/// Two ledgers with one origin and a common past: the operator's fork.
struct Fork {
    env: Env,
    log_vkey: String,
    witness_vkey04: String,
}

impl Fork {
    fn new() -> Fork {
        let env = Env::new();
        let origin = env.ledger("a");
        env.ok(&["--ledger", "a", "export", "-o", "a.jsonl"]);
        env.ok(&["--ledger", "b", "import", "a.jsonl"]);
        let log_vkey = env.key(&origin, "log.key");
        env.key("witness.example", "w.key");
        let seed_key: pactum::note::SignerKey = std::fs::read_to_string(env.path("w.key"))
            .expect("key")
            .trim()
            .parse()
            .expect("signer");
        let witness_vkey04 = seed_key.verifier().cosigner().to_string();
        Fork {
            env,
            log_vkey,
            witness_vkey04,
        }
    }

    fn checkpoint(&self, ledger: &str, file: &str) -> String {
        let out = self
            .env
            .ok(&["--ledger", ledger, "checkpoint", "--sign", "log.key"]);
        self.env.write(file, &out)
    }

    fn consistency(&self, ledger: &str, old: u64, file: &str) -> String {
        let out = self.env.ok(&[
            "--ledger",
            ledger,
            "prove",
            "--consistency",
            &old.to_string(),
        ]);
        self.env.write(file, &out)
    }

    fn append(&self, ledger: &str, id: &str) {
        let f = self.env.write(&format!("{id}.toml"), &amendment(id, id));
        self.env.ok(&["--ledger", ledger, "append", &f]);
    }

    fn cosign(&self, cp: &str, state: &str, proof: Option<&str>) -> Output {
        let mut args = vec![
            "cosign",
            cp,
            "--key",
            "w.key",
            "--log-key",
            &self.log_vkey,
            "--state",
            state,
        ];
        if let Some(p) = proof {
            args.extend(["--proof", p]);
        }
        self.env.run(&args)
    }
}

#[test]
fn cosign_checks_the_operator_and_consistency_and_keeps_state() {
    let f = Fork::new();
    let cp7 = f.checkpoint("a", "cp7.txt");
    let o = f.cosign(&cp7, "w.state", None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let note = Note::parse(&out).expect("cosigned note");
    assert_eq!(note.signatures().len(), 2);
    assert_eq!(note.signatures()[1].cosignature_time(), Some(NOW_SECONDS));
    let w04: VerifierKey = f.witness_vkey04.parse().expect("key");
    note.require(&[f.log_vkey.parse().expect("log key"), w04])
        .expect("log signature and cosignature");
    assert_eq!(
        std::fs::read_to_string(f.env.path("w.state")).expect("state"),
        out
    );
    // Others check the cosignature with verify --key.
    let proof = f.env.ok(&[
        "--ledger",
        "a",
        "prove",
        "microsoft-openai",
        "2023-01-23-extension",
    ]);
    let proof = f.env.write("p.json", &proof);
    let cosigned = f.env.write("cosigned.txt", &out);
    f.env.ok(&[
        "verify",
        &proof,
        "--checkpoint",
        &cosigned,
        "--key",
        &f.log_vkey,
        "--key",
        &f.witness_vkey04,
    ]);

    // The same checkpoint again: fine. A larger one needs a proof.
    assert_eq!(f.cosign(&cp7, "w.state", None).status.code(), Some(0));
    f.append("a", "x-1");
    let cp8 = f.checkpoint("a", "cp8.txt");
    let before = std::fs::read(f.env.path("w.state")).expect("state");
    let o = f.cosign(&cp8, "w.state", None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("give --proof"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read(f.env.path("w.state")).expect("state"), before);
    let p = f.consistency("a", 7, "c7-8.json");
    let o = f.cosign(&cp8, "w.state", Some(&p));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // An older checkpoint after a newer one: refused.
    let o = f.cosign(&cp7, "w.state", None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("fewer than the 8"),
        "{}",
        text(&o.stderr)
    );

    // Not signed by the operator: refused, state unchanged.
    let before = std::fs::read(f.env.path("w.state")).expect("state");
    let plain = f.env.ok(&["--ledger", "a", "checkpoint"]);
    let plain = f.env.write("plain.txt", &plain);
    let o = f.cosign(&plain, "w.state", None);
    assert_eq!(o.status.code(), Some(2));
    let forged = std::fs::read_to_string(&cp8)
        .expect("cp")
        .replacen("\n8\n", "\n9\n", 1);
    let forged = f.env.write("forged.txt", &forged);
    let o = f.cosign(&forged, "w.state", None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("invalid signature"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read(f.env.path("w.state")).expect("state"), before);
}

/// The operator shows two parties two different histories. Each history on
/// its own looks fine; a witness that has cosigned one refuses the other, at
/// the same size or at a larger one, and its state file is left unchanged.
#[test]
fn split_view_is_refused() {
    let f = Fork::new();
    // The common past, size 7, cosigned by the witness.
    let cp7 = f.checkpoint("a", "cp7.txt");
    assert_eq!(f.cosign(&cp7, "w.state", None).status.code(), Some(0));
    // The fork: history A gets one amendment, history B another.
    f.append("a", "only-in-a");
    f.append("b", "only-in-b");
    let a8 = f.checkpoint("a", "a8.txt");
    let b8 = f.checkpoint("b", "b8.txt");
    assert_ne!(
        std::fs::read(&a8).expect("a8"),
        std::fs::read(&b8).expect("b8")
    );
    // Party 1 is shown A and cosigns it (with the proof from 7).
    let pa = f.consistency("a", 7, "pa.json");
    let o = f.cosign(&a8, "w.state", Some(&pa));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let state = std::fs::read(f.env.path("w.state")).expect("state");
    // The operator then shows history B, same size: a fork, refused.
    let pb = f.consistency("b", 7, "pb.json");
    let o = f.cosign(&b8, "w.state", Some(&pb));
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("a fork"), "{err}");
    assert!(text(&o.stdout).is_empty());
    assert_eq!(std::fs::read(f.env.path("w.state")).expect("state"), state);
    // B grows further; its own proof from 7 to 9 does not start from what
    // the witness cosigned (A at 8): the proof from 8 on B is refused too.
    f.append("b", "only-in-b-2");
    let b9 = f.checkpoint("b", "b9.txt");
    let pb9 = f.consistency("b", 8, "pb9.json");
    let o = f.cosign(&b9, "w.state", Some(&pb9));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("does not extend"),
        "{}",
        text(&o.stderr)
    );
    let pb79 = f.consistency("b", 7, "pb79.json");
    let o = f.cosign(&b9, "w.state", Some(&pb79));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(f.env.path("w.state")).expect("state"), state);

    // Two parties, each its own witness: party 2 was shown B and cosigned it;
    // when party 1's cosigned view of A reaches party 2, party 2 refuses it.
    let o = f.cosign(&b8, "p2.state", None);
    assert_eq!(o.status.code(), Some(0));
    let a8_by_p1 = f.env.write("a8-p1.txt", &text(&state));
    let o = f.cosign(&a8_by_p1, "p2.state", None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("a fork"), "{}", text(&o.stderr));
}

#[test]
fn cosign_refuses_bad_inputs_without_touching_state() {
    let f = Fork::new();
    let cp7 = f.checkpoint("a", "cp7.txt");
    // A state file that is not one of ours.
    f.env.write("junk.state", "not a checkpoint\n");
    let o = f.cosign(&cp7, "junk.state", None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("state file"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(f.env.path("junk.state")).expect("state"),
        "not a checkpoint\n"
    );
    // The log key named otherwise than the origin.
    let other = f.env.key("other", "other.key");
    let o = f.env.run(&[
        "cosign",
        &cp7,
        "--key",
        "w.key",
        "--log-key",
        &other,
        "--state",
        "s",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!Path::new(&f.env.path("s")).exists());
    // A cosign already running on the state file (its lock is there).
    assert_eq!(f.cosign(&cp7, "w.state", None).status.code(), Some(0));
    let before = std::fs::read(f.env.path("w.state")).expect("state");
    f.env.write("w.state.lock", "1\n");
    let o = f.cosign(&cp7, "w.state", None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("another cosign"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read(f.env.path("w.state")).expect("state"), before);
    std::fs::remove_file(f.env.path("w.state.lock")).expect("unlock");
    assert_eq!(f.cosign(&cp7, "w.state", None).status.code(), Some(0));
    assert!(!f.env.path("w.state.lock").exists(), "the lock is removed");
    // An inclusion proof where a consistency proof belongs.
    let p = f.env.ok(&[
        "--ledger",
        "a",
        "prove",
        "microsoft-openai",
        "2023-01-23-extension",
    ]);
    let p = f.env.write("incl.json", &p);
    let o = f.cosign(&cp7, "s2", Some(&p));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("consistency proof"),
        "{}",
        text(&o.stderr)
    );
}

/// The script of docs/format.md §21.8, taken from the document, with the
/// `cryptography` package: it verifies the worked example and what pactum
/// signs and cosigns, and refuses altered copies.
#[test]
fn python_script_in_format_md_verifies() {
    if !python_with_cryptography() {
        return;
    }
    let doc =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/format.md"))
            .expect("format.md");
    let section = &doc[doc.find("### 21.8").expect("§21.8")..];
    let start = section.find("```python\n").expect("script") + "```python\n".len();
    let script = &section[start..start + section[start..].find("```").expect("end")];
    let example_start = doc.find("### 21.7").expect("§21.7");
    let ex = &doc[example_start..];
    let ex = &ex[ex.find("```text\n").expect("example") + 8..];
    let example = &ex[..ex.find("```").expect("end")];

    let f = Fork::new();
    let py = f.env.write("verify_note.py", script);
    let run = |note: &str, keys: &[&str]| -> (bool, String) {
        let file = f.env.write("n.txt", note);
        let o = Command::new("python3")
            .arg(&py)
            .arg(&file)
            .args(keys)
            .output()
            .expect("python3");
        (
            o.status.success(),
            format!("{}{}", text(&o.stdout), text(&o.stderr)),
        )
    };
    let log_ex = "pactum/00000000000000000000000000000000+993d7be2+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c";
    let w_ex = "witness.example+3176bd45+BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU";
    let (ok, out) = run(example, &[log_ex, w_ex]);
    assert!(ok, "{out}");
    assert!(
        out.contains("ok: signed by witness.example+3176bd45"),
        "{out}"
    );

    // What pactum signs and cosigns now.
    let cp = f.checkpoint("a", "cp.txt");
    let o = f.cosign(&cp, "w.state", None);
    assert_eq!(o.status.code(), Some(0));
    let cosigned = text(&o.stdout);
    let (ok, out) = run(&cosigned, &[&f.log_vkey, &f.witness_vkey04]);
    assert!(ok, "{out}");
    // Altered copies: the size, the time, a signature byte; a missing signer.
    let altered = [
        cosigned.replacen("\n7\n", "\n8\n", 1),
        {
            let mut n = Note::parse(&cosigned).expect("note");
            let mut line = n.signatures()[1].clone();
            line.sig[7] ^= 1;
            n.push(line).expect("push");
            n.to_string()
        },
        {
            let mut n = Note::parse(&cosigned).expect("note");
            let mut line = n.signatures()[0].clone();
            line.sig[0] ^= 1;
            n.push(line).expect("push");
            n.to_string()
        },
    ];
    for bad in &altered {
        let (ok, out) = run(bad, &[&f.log_vkey, &f.witness_vkey04]);
        assert!(!ok, "accepted an altered note:\n{bad}\n{out}");
    }
    let other = f.env.key("other.example", "other.key");
    let (ok, out) = run(&cosigned, &[&other]);
    assert!(
        !ok && out.contains("no signature by other.example"),
        "{out}"
    );

    // An amendment's signatures, as §21.8 shows: note text, blank line, lines.
    let toml = f.env.write("x.toml", &amendment("x-1", "x-1"));
    f.env.ok(&["sign", &toml, "--key", "other.key"]);
    f.env.ok(&["sign", &toml, "--key", "log.key"]);
    let note = f.env.ok(&["sign", "--note", &toml]);
    let file = std::fs::read_to_string(&toml).expect("toml");
    let lines: Vec<&str> = file
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"'))
        .filter_map(|l| l.strip_suffix("\","))
        .filter(|l| l.starts_with('—'))
        .collect();
    assert_eq!(lines.len(), 2, "{file}");
    let signed = format!("{note}\n{}\n", lines.join("\n"));
    let (ok, out) = run(&signed, &[&other, &f.log_vkey]);
    assert!(ok, "{out}");
    let (ok, _) = run(&signed.replacen("x-1", "x-2", 1), &[&other]);
    assert!(!ok, "another amendment's note");
}

/// `pactum sign` adds each holder's line in place, keeping every other
/// byte; `sign --note` prints what is signed; refusals change no file.
#[test]
fn sign_adds_lines_in_place_and_prints_notes() {
    let env = Env::new();
    let ka = env.key("microsoft.example", "a.key");
    let kb = env.key("openai.example", "b.key");
    let original =
        std::fs::read_to_string(fixture().join("2020-09-22-gpt-3-licence.toml")).expect("fixture");
    let toml = env.write("x.toml", &original);
    env.ok(&["sign", &toml, "--key", "a.key"]);
    env.ok(&["sign", &toml, "--key", "b.key"]);
    let signed = std::fs::read_to_string(&toml).expect("signed");
    // The array sits after the other top-level keys; without it, the original.
    let start = signed.find("signatures = [\n").expect("array");
    let end = start + signed[start..].find("\n]\n").expect("end") + 3;
    let block = &signed[start..end];
    assert_eq!(format!("{}{}", &signed[..start], &signed[end..]), original);
    assert!(
        block.starts_with("signatures = [\n    \"— microsoft.example "),
        "{block}"
    );
    assert_eq!(block.matches("\n    \"— ").count(), 2, "{block}");
    // Signing again changes nothing.
    env.ok(&["sign", &toml, "--key", "a.key"]);
    assert_eq!(std::fs::read_to_string(&toml).expect("again"), signed);
    // The lines verify against the note `sign --note` prints.
    let note = env.ok(&["sign", "--note", &toml]);
    assert!(note.starts_with("pactum/amendment/v1\nmicrosoft-openai\n2020-09-22-gpt-3-licence\n"));
    assert_eq!(note.lines().count(), 4);
    let (amendment, sigs) = pactum::input::parse_toml_signed("x.toml", &signed).expect("parse");
    assert_eq!(
        pactum::note::amendment_note(&amendment).expect("note"),
        note
    );
    let keys: Vec<VerifierKey> = [&ka, &kb]
        .iter()
        .map(|k| k.parse().expect("vkey"))
        .collect();
    for (line, key) in sigs.iter().zip(&keys) {
        assert!(line.is_by(key) && key.verify(&note, &line.sig));
    }

    // JSON and JSON Lines.
    let json = env.write(
        "x.json",
        "{\n  \"agreement\": \"microsoft-openai\",\n  \"id\": \"j\",\n  \"title\": \"J\",\n  \"effective\": \"2026-06-01\",\n  \"change\": [{\"op\": \"repeal\", \"clause\": \"c\"}]\n}\n",
    );
    env.ok(&["sign", &json, "--key", "a.key"]);
    let j = std::fs::read_to_string(&json).expect("json");
    assert!(
        j.contains("],\n  \"signatures\": [\n    \"— microsoft.example "),
        "{j}"
    );
    let jsonl = env.write(
        "x.jsonl",
        "{\"agreement\": \"microsoft-openai\", \"id\": \"l1\", \"title\": \"L\", \"effective\": \"2026-06-01\", \"change\": [{\"op\": \"repeal\", \"clause\": \"c\"}]}\n{\"agreement\": \"microsoft-openai\", \"id\": \"l2\", \"title\": \"L\", \"effective\": \"2026-06-01\", \"change\": [{\"op\": \"repeal\", \"clause\": \"c\"}]}\n",
    );
    env.ok(&["sign", &jsonl, &json, "--key", "b.key"]);
    let l = std::fs::read_to_string(&jsonl).expect("jsonl");
    assert_eq!(l.lines().count(), 2);
    assert!(
        l.lines()
            .all(|x| x.contains("\"signatures\": [\"— openai.example ")),
        "{l}"
    );
    let notes = env.ok(&["sign", "--note", &jsonl]);
    assert_eq!(notes.matches("pactum/amendment/v1\n").count(), 2);
    assert!(notes.contains("\n\npactum/amendment/v1\nmicrosoft-openai\nl2\n"));

    // Refusals: a malformed file, a bad existing line, a missing key file; nothing changes.
    let before = std::fs::read_to_string(&toml).expect("toml");
    let bad = env.write("bad.toml", "agreement = \"x\"\n");
    let out = env.fails(2, &["sign", &toml, &bad, "--key", "a.key"]);
    assert!(out.contains("bad.toml"), "{out}");
    assert_eq!(std::fs::read_to_string(&toml).expect("toml"), before);
    let first = signed
        .lines()
        .find(|l| l.contains("— microsoft.example"))
        .expect("line");
    let dup = signed.replacen(first, &format!("{first}\n{first}"), 1);
    let dup = env.write("dup.toml", &dup);
    let out = env.fails(2, &["sign", &dup, "--key", "b.key"]);
    assert!(
        out.contains("dup.toml") && out.contains("signatures["),
        "{out}"
    );
    let out = env.fails(2, &["sign", &toml, "--key", "missing.key"]);
    assert!(out.contains("missing.key"), "{out}");

    // The agreement is not signed (its establish gives no keys): lines by
    // keys of no party are refused, naming the file; nothing is written.
    let est = fixture().join("2019-07-22-establish.toml");
    env.ok(&["--ledger", "l", "append", est.to_str().expect("utf-8")]);
    let head = env.ok(&["--ledger", "l", "head"]);
    let out = env.fails(2, &["--ledger", "l", "append", &toml]);
    assert!(
        out.contains("x.toml") && out.contains("signed by keys of no party: microsoft.example+"),
        "{out}"
    );
    assert_eq!(env.ok(&["--ledger", "l", "head"]), head);
}

#[test]
fn amendment_files_with_keys_rekeys_and_bad_signatures() {
    let env = Env::new();
    let ka = env.key("a.example", "a.key");
    let kb = env.key("b.example", "b.key");
    let est = format!(
        "agreement = \"deal\"\nid = \"e\"\ntitle = \"Deal\"\neffective = 2025-01-01\n\n[[change]]\nop = \"establish\"\ntitle = \"Deal\"\nparties = [\n  {{ id = \"a\", name = \"A\", key = \"{ka}\" }},\n  {{ id = \"b\", name = \"B\", key = \"{kb}\" }},\n]\n"
    );
    let est = env.write("e.toml", &est);
    env.ok(&["sign", &est, "--key", "a.key"]);
    env.key("c.example", "c.key");
    let out = env.fails(2, &["sign", &est, "--key", "c.key"]);
    assert!(out.contains("not the key of any of its parties"), "{out}");
    // Signed by `a` only: refused, naming `b`; no ledger is created.
    let out = env.fails(2, &["--ledger", "l", "append", &est]);
    assert!(
        out.contains("e.toml") && out.contains("no signature by `b`"),
        "{out}"
    );
    assert!(!env.path("l").exists());
    env.ok(&["sign", &est, "--key", "b.key"]);
    env.ok(&["--ledger", "l", "append", &est]);
    // Keys for only some parties.
    let half =
        std::fs::read_to_string(&est)
            .expect("est")
            .replacen(&format!(", key = \"{kb}\""), "", 1);
    let half = env.write("half.toml", &half);
    let out = env.fails(2, &["sign", "--note", &half]);
    assert!(out.contains("`b` has none"), "{out}");
    // A malformed key in a file names the file.
    let badkey = env.write(
        "badkey.toml",
        &std::fs::read_to_string(&est)
            .expect("est")
            .replacen("a.example+", "a.example+0", 1),
    );
    let out = env.fails(2, &["sign", "--note", &badkey]);
    assert!(out.contains("badkey.toml"), "{out}");
    // A rekey file.
    let rk = env.write(
        "r.toml",
        &format!("agreement = \"deal\"\nid = \"r\"\ntitle = \"New key for a\"\n\n[[change]]\nop = \"rekey\"\nparty = \"a\"\nkey = \"{kb}\"\n"),
    );
    let note = env.ok(&["sign", "--note", &rk]);
    assert!(note.starts_with("pactum/amendment/v1\ndeal\nr\n"), "{note}");
    // A party's new key may not be another party's.
    let out = env.fails(2, &["--ledger", "l", "append", &rk]);
    assert!(
        out.contains("r.toml") && out.contains("the new key of `a` is the key of `b`"),
        "{out}"
    );
    let dated = env.write(
        "rd.toml",
        &std::fs::read_to_string(&rk).expect("rk").replacen(
            "\n\n[[change]]",
            "\neffective = 2025-01-01\n\n[[change]]",
            1,
        ),
    );
    let out = env.fails(2, &["sign", "--note", &dated]);
    assert!(out.contains("a rekey has no date of its own"), "{out}");
}

fn plain_text(signed: &str) -> &str {
    &signed[..signed.rfind("\n\n").expect("note") + 1]
}

/// The README's signing tour, run as it stands (bash, from a folder that
/// holds the repository's `fixtures`, with this `pactum` on the PATH): the
/// signed fixture, the unsigned amendment refused, the rekey, the retired
/// key refused, the witnessed checkpoint and the proof with its signer.
#[test]
fn readme_signing_tour() {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .expect("README");
    let start = readme.find("<!-- tour:signing").expect("the tour's start");
    let block = &readme[start..];
    let block = &block[block.find("```sh\n").expect("its code block") + 6..];
    let block = &block[..block.find("```").expect("its end")];
    let env = Env::new();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        env.path("fixtures"),
    )
    .expect("link the fixtures");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_pactum"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("the binary's folder").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new("bash")
        .args(["-e", "-c", block])
        .current_dir(env.path(""))
        .env("PATH", path)
        .env("PACTUM_NOW", NOW)
        .env_remove("PACTUM_LEDGER")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run bash");
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.matches("refused: exit 2").count(), 2, "{out}");
    assert!(
        err.contains("review.toml: amendment `2026-12-02-compute-review` of `microsoft-openai`: signatures: no signature by `microsoft`, `openai`"),
        "{err}"
    );
    assert!(
        err.contains("stale.toml")
            && err.contains(
                "signed by keys of no party: microsoft.example+505943d3 \
                 (microsoft.example+505943d3 was `microsoft`'s key until the rekey at #7"
            ),
        "{err}"
    );
    assert!(out.contains("signed by microsoft, openai"), "{out}");
    assert!(
        out.contains("signed    microsoft signs with microsoft.example+4aa51c68"),
        "{out}"
    );
    assert!(
        out.contains("ok: signed.ledger: 9 entries verified"),
        "{out}"
    );
    assert!(
        out.contains("amendment signed by openai.example+41646e5b"),
        "{out}"
    );
    // The refusals wrote nothing: 7 + the rekey + the signed review.
    assert_eq!(
        env.ok(&["--ledger", "signed.ledger", "head"])
            .split(':')
            .next(),
        Some("9")
    );
}

/// Whether `python3` with the `cryptography` package runs here. CI installs
/// it (.ci/run); a developer without it is told, but under `CI` a test that
/// needs it fails rather than pass by skipping.
pub(crate) fn python_with_cryptography() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with the `cryptography` package is needed: python3 -m pip install cryptography"
        );
        eprintln!("not run: python3 with the `cryptography` package is not installed");
    }
    ok
}

/// `log`, `history` and `show` (human and `--json`) name the party of each
/// signature line by the keys in force when it was recorded; `state` gives
/// the keys in force through its view.
#[test]
fn readers_name_the_signers() {
    let env = Env::new();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let signed = root.join("microsoft-openai-signed").display().to_string();
    let rekey = root
        .join("signing-tour/2026-12-01-microsoft-new-key.toml")
        .display()
        .to_string();
    env.ok(&["--ledger", "l", "append", &signed, &rekey]);
    let l = |args: &[&str]| {
        let mut v = vec!["--ledger", "l"];
        v.extend_from_slice(args);
        env.ok(&v)
    };
    let log = l(&["log", "--json"]);
    let last: serde_json::Value =
        serde_json::from_str(log.lines().last().expect("a line")).expect("json");
    assert_eq!(
        last["signed_by"],
        serde_json::json!([
            {"party": "microsoft", "key": "microsoft.example+505943d3"},
            {"party": "openai", "key": "openai.example+41646e5b"},
            {"party": "microsoft", "key": "microsoft.example+4aa51c68", "new_key": true},
        ])
    );
    assert!(l(&["log"]).contains("signed by microsoft, openai, microsoft (new key)"));
    let h: serde_json::Value =
        serde_json::from_str(&l(&["history", "microsoft-openai", "--json"])).expect("json");
    let est = h["amendments"]
        .as_array()
        .expect("amendments")
        .iter()
        .find(|a| a["amendment"] == "2019-07-22-establish")
        .expect("the establish");
    assert_eq!(est["signed_by"][1]["party"], "openai");
    let show: serde_json::Value = serde_json::from_str(&l(&[
        "show",
        "microsoft-openai",
        "2026-12-01-microsoft-new-key",
        "--json",
    ]))
    .expect("json");
    assert_eq!(show["signed_by"][2]["new_key"], true);
    // The keys in force through the view: Microsoft's first key before the
    // rekey (#7), its new key after.
    let key_of = |view: &str| -> String {
        let s: serde_json::Value = serde_json::from_str(&l(&[
            "state",
            "microsoft-openai",
            "--known-at",
            view,
            "--json",
        ]))
        .expect("json");
        s["parties"][0]["key"].as_str().expect("a key").to_string()
    };
    assert!(key_of("#6").starts_with("microsoft.example+505943d3+"));
    assert!(key_of("#7").starts_with("microsoft.example+4aa51c68+"));
    // An unsigned ledger's JSON has no such fields.
    env.ok(&["--ledger", "u", "append", &fixture().display().to_string()]);
    let plain = env.ok(&["--ledger", "u", "log", "--json"]);
    assert!(!plain.contains("signed_by"), "{plain}");
    let state = env.ok(&["--ledger", "u", "state", "microsoft-openai", "--json"]);
    assert!(!state.contains("\"key\""), "{state}");
}
