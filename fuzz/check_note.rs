//! The check behind the `note` fuzz target (`fuzz/fuzz_targets/note.rs`):
//! the key and signed-note parsers of `src/note/`. Also replayed on stable
//! over `fuzz/seeds/note/` and `fuzz/regressions/note/` by `tests/note.rs`,
//! which includes this file with `#[path]`. Only `pactum` and std are used.
//!
//! The first byte picks the parser, the rest is its input:
//!
//! * `0`: a verifier key; `1`: a signer key; `2`: a signed note;
//!   `3`: a checkpoint file (plain or signed); `5`, `6`, `7`: an amendment
//!   file (TOML, JSON, JSON Lines) that `pactum sign` edits; anything else:
//!   a signature line.
//!
//! Whatever parses must print back to exactly the bytes read (one spelling
//! only), parse again to the same value, and survive verification, signing
//! and cosigning with fixed keys; nothing may panic.

#![allow(dead_code)]

use pactum::note::{self, Note, SigLine, SignerKey, VerifierKey};

fn keys() -> (SignerKey, Vec<VerifierKey>) {
    let signer = SignerKey::from_seed("fuzz.example", [7; 32]).expect("fixed key");
    let v = signer.verifier();
    let known = vec![v.clone(), v.cosigner()];
    (signer, known)
}

/// Runs one input; panics on a finding.
pub fn check_note(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        // Only the note parser takes bytes; the others take text.
        if kind == 2 {
            assert!(Note::parse_bytes(rest).is_err(), "a note that is not UTF-8");
        }
        return;
    };
    match kind {
        0 => {
            if let Ok(k) = text.parse::<VerifierKey>() {
                assert_eq!(k.to_string(), text, "a verifier key prints as read");
                assert_eq!(text.parse::<VerifierKey>().ok(), Some(k.clone()));
                assert!(!k.verify("x\n", &[0; 64]), "a zero signature verifies");
                let _ = k
                    .cosigner()
                    .to_string()
                    .parse::<VerifierKey>()
                    .expect("cosigner key");
            }
        }
        1 => {
            if let Ok(k) = text.parse::<SignerKey>() {
                assert_eq!(k.to_string(), text, "a signer key prints as read");
                let v = k.verifier();
                let sig = k.sign_raw(b"msg");
                assert!(v.verify_raw(b"msg", &sig), "its own signature verifies");
            }
        }
        2 => {
            let parsed = Note::parse_bytes(rest);
            if let Ok(n) = parsed {
                assert_eq!(n.to_string(), text, "a note prints as read");
                assert_eq!(Note::parse(text).ok(), Some(n.clone()));
                let (signer, known) = keys();
                let _ = n.verify(&known);
                let _ = n.require(&known);
                let mut signed = n.clone();
                if signed.sign(&signer).is_ok() && signed.cosign(&signer, 1_700_000_000).is_ok() {
                    let again = signed.to_string();
                    if again.len() <= pactum::limits::NOTE_BYTES_MAX {
                        let back = Note::parse(&again).expect("a note pactum signed parses");
                        back.require(&known)
                            .expect("pactum's own signatures verify");
                    }
                }
            }
        }
        3 => {
            if let Ok(cp) = note::parse_checkpoint(text) {
                let (_, known) = keys();
                let _ = cp.require(&known);
                match &cp.note {
                    Some(n) => assert_eq!(n.text(), cp.body.to_string()),
                    None => assert!(text.starts_with(cp.body.to_string().trim_end())),
                }
            }
        }
        5..=7 => {
            let name = ["f.toml", "f.json", "f.jsonl"][usize::from(kind - 5)];
            let (signer, known) = keys();
            if let Ok(signed) = pactum::signfile::sign_text(name, text, &signer) {
                let before =
                    pactum::signfile::amendments(name, text).expect("it parsed to be signed");
                let after =
                    pactum::signfile::amendments(name, &signed).expect("a signed file parses");
                assert_eq!(before.len(), after.len(), "as many amendments");
                for ((a, _), (b, sigs)) in before.iter().zip(&after) {
                    assert_eq!(a, b, "signing changes no amendment");
                    let note = pactum::note::amendment_note(b).expect("note");
                    assert!(
                        sigs.iter()
                            .any(|l| l.is_by(&known[0]) && known[0].verify(&note, &l.sig)),
                        "the new line is there and verifies"
                    );
                }
                let again = pactum::signfile::sign_text(name, &signed, &signer).expect("re-sign");
                assert_eq!(again, signed, "signing twice changes nothing");
                // Every other byte is kept: a file none of whose amendments
                // this key signed gains one insertion per amendment (per line
                // of JSON Lines), and loses nothing.
                if !before
                    .iter()
                    .any(|(_, sigs)| sigs.iter().any(|l| l.is_by(&known[0])))
                {
                    if kind == 7 {
                        let (x, y): (Vec<&str>, Vec<&str>) =
                            (text.split('\n').collect(), signed.split('\n').collect());
                        assert_eq!(x.len(), y.len(), "signing changes the lines");
                        for (a, b) in x.iter().zip(&y) {
                            assert!(one_insertion(a, b), "a line changes: {a:?} to {b:?}");
                        }
                    } else {
                        assert!(
                            one_insertion(text, &signed),
                            "other bytes change: {signed:?}"
                        );
                    }
                }
            }
        }
        _ => {
            if let Ok(line) = SigLine::parse(text) {
                assert_eq!(line.to_string(), text, "a signature line prints as read");
                let _ = line.cosignature_time();
            }
        }
    }
}

/// Whether `b` is `a` with one run of bytes inserted (or `a` itself).
fn one_insertion(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if b.len() < a.len() {
        return false;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let s = a[p..]
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    p + s >= a.len()
}
