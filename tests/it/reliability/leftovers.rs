//! The states a SIGKILL leaves behind, made by hand so that each is checked
//! every run (the crash harness, `crash.rs`, finds them by chance):
//!
//! - a ledger folder holding sled's files but no ledger yet (killed after
//!   sled created its files, before the creation commit; also what a second
//!   `pactum append` sees while a first one is creating the ledger);
//! - an empty or partial `snap.<lsn>.generating` file (killed while sled
//!   wrote a snapshot on open: sled 0.34.7 then reads that file as the newest
//!   snapshot and reports corruption; see sled issues #1387 and #1527);
//! - sled's `conf` written without its CRC (killed between sled's two writes
//!   of it, when the folder is created).
//!
//! No amendment was acknowledged into the first and the last, and every one
//! was into the second: each must go on working, with nothing lost.

use std::path::Path;
use std::time::Duration;

use pactum::store::SledStore;

use super::common::*;

fn fixture() -> String {
    format!("{}/fixtures/microsoft-openai", env!("CARGO_MANIFEST_DIR"))
}

fn cli(ledger: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = run({
        let mut c = pactum(ledger);
        c.args(args).env("PACTUM_NOW", "2026-11-01T00:00:00Z");
        c
    });
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// sled's files and nothing else: sled opened and closed, no ledger created.
fn sled_files_only(path: &Path) {
    drop(SledStore::open(path, Duration::from_secs(5)).expect("open sled"));
    assert!(SledStore::exists(path));
}

#[test]
fn a_folder_with_sled_files_but_no_ledger_yet_is_not_damage() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("l");
    sled_files_only(&path);
    let (code, _, err) = cli(&path, &["append", &fixture()]);
    assert_eq!(
        code,
        Some(0),
        "append into a folder left by a creation that never committed (sled's files, no ledger: \
         what a kill during creation, or a concurrent first append, leaves) must create the ledger; got:\n{err}"
    );
    let (code, out, err) = cli(&path, &["audit"]);
    assert_eq!(code, Some(0), "{out}{err}");
}

#[test]
fn an_interrupted_sled_snapshot_is_not_damage() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut problems = Vec::new();
    for (name, bytes) in [
        ("empty", Vec::new()),
        ("partial", b"\x01\x02\x03 partial snapshot bytes".to_vec()),
    ] {
        let path = tmp.path().join(name);
        let (code, _, err) = cli(&path, &["append", &fixture()]);
        assert_eq!(code, Some(0), "{err}");
        let (_, head, _) = cli(&path, &["head"]);
        // A snapshot newer than any there: what a kill during sled's
        // write_snapshot leaves (created, not yet renamed).
        let newest = std::fs::read_dir(&path)
            .expect("read")
            .filter_map(|e| {
                let n = e.expect("entry").file_name().into_string().ok()?;
                u64::from_str_radix(n.strip_prefix("snap.")?, 16).ok()
            })
            .max()
            .unwrap_or(0);
        std::fs::write(
            path.join(format!("snap.{:016X}.generating", newest + 0x400)),
            bytes,
        )
        .expect("write");
        let (code, out, err) = cli(&path, &["audit"]);
        if code != Some(0) {
            problems.push(format!(
                "{name} snap.*.generating: audit exited {code:?}: {}{}",
                out.trim(),
                err.trim()
            ));
            continue;
        }
        let (_, head2, _) = cli(&path, &["head"]);
        if head2 != head {
            problems.push(format!("{name}: head {head2:?}, was {head:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "a kill while sled writes a snapshot must not make the ledger unreadable \
         (sled 0.34.7 takes `snap.<lsn>.generating` for the newest snapshot):\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_sled_conf_without_its_crc_from_an_interrupted_creation_is_not_damage() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // What sled writes first when it creates a database, in this order:
    // `blobs/`, then `conf` (its text, then its 4-byte CRC, in two writes),
    // then `db`. Take the real bytes from a database sled made.
    let made = tmp.path().join("made");
    sled_files_only(&made);
    let conf = std::fs::read(made.join("conf")).expect("read conf");
    // Killed between the two writes of `conf`.
    let path = tmp.path().join("l");
    std::fs::create_dir_all(path.join("blobs")).expect("mkdir");
    std::fs::write(path.join("conf"), &conf[..conf.len() - 4]).expect("write");
    let (code, _, err) = cli(&path, &["append", &fixture()]);
    assert_eq!(
        code,
        Some(0),
        "append into a folder whose creation was killed between sled's two writes of `conf` \
         (no amendment was ever acknowledged there) must create the ledger; got:\n{err}"
    );
}
