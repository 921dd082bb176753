//! `note::check_signatures`, the rule the ledger applies to every amendment
//! of a signed agreement (product.md §8): examples and properties.

use std::collections::BTreeMap;

use pactum::model::{Amendment, Change, Date, Op, Party, PartyId};
use pactum::note::{
    amendment_note, check_signatures, sign_amendment, Keys, Refused, SigLine, SignerKey,
};
use proptest::prelude::*;

fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(name, [seed; 32]).expect("key")
}

fn pid(s: &str) -> PartyId {
    PartyId::new(s).expect("party id")
}

fn repeal(id: &str) -> Amendment {
    Amendment {
        agreement: "deal".parse().expect("agreement"),
        id: id.parse().expect("id"),
        title: "Repeal".into(),
        effective: Date::new(2025, 1, 1),
        signed: None,
        source: None,
        changes: vec![Change {
            effective: None,
            op: Op::Repeal {
                clause: "c".parse().expect("clause"),
            },
        }],
    }
}

fn establish(parties: &[(&str, Option<&SignerKey>)]) -> Amendment {
    let mut a = repeal("establish");
    a.changes = vec![Change {
        effective: None,
        op: Op::Establish {
            title: "Deal".into(),
            parties: parties
                .iter()
                .map(|(id, k)| Party {
                    id: pid(id),
                    name: id.to_uppercase(),
                    key: k.map(|k| k.verifier()),
                })
                .collect(),
        },
    }];
    a
}

fn rekey(party: &str, new: &SignerKey) -> Amendment {
    let mut a = repeal("rekey");
    a.effective = None;
    a.changes = vec![Change {
        effective: None,
        op: Op::Rekey {
            party: pid(party),
            key: new.verifier(),
        },
    }];
    a
}

fn sign(a: &Amendment, keys: &[&SignerKey]) -> Vec<SigLine> {
    keys.iter()
        .map(|k| sign_amendment(a, k).expect("sign"))
        .collect()
}

fn keys(parties: &[(&str, &SignerKey)]) -> Keys {
    parties
        .iter()
        .map(|(p, k)| (pid(p), k.verifier()))
        .collect()
}

#[test]
fn the_note_is_four_lines_over_the_canonical_bytes() {
    let a = repeal("2025-repeal");
    let note = amendment_note(&a).expect("note");
    let lines: Vec<&str> = note.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], "pactum/amendment/v1\n");
    assert_eq!(lines[1], "deal\n");
    assert_eq!(lines[2], "2025-repeal\n");
    let bytes = pactum::codec::amendment_bytes(&a).expect("bytes");
    use sha2::Digest;
    let digest: [u8; 32] = sha2::Sha256::digest(&bytes).into();
    assert_eq!(lines[3], format!("{}\n", pactum::chain::base64(&digest)));
    // Any change to the amendment changes the note.
    let mut b = a.clone();
    b.title = "Repeal!".into();
    assert_ne!(amendment_note(&b).expect("note"), note);
}

#[test]
fn establish_with_keys_needs_every_party() {
    let (ka, kb) = (key("a.example", 1), key("b.example", 2));
    let e = establish(&[("a", Some(&ka)), ("b", Some(&kb))]);
    e.validate().expect("valid");
    let ok = check_signatures(None, &e, &sign(&e, &[&kb, &ka])).expect("both signed");
    assert_eq!(ok.signers, vec![(pid("b"), false), (pid("a"), false)]);
    assert_eq!(ok.keys_after, Some(keys(&[("a", &ka), ("b", &kb)])));
    let r = check_signatures(None, &e, &sign(&e, &[&ka])).expect_err("b missing");
    assert_eq!(r.missing, vec!["b".to_string()]);
    assert_eq!(r.to_string(), "no signature by `b`");
    // Keys for only some parties: refused by validate, naming them.
    let half = establish(&[("a", Some(&ka)), ("b", None)]);
    let err = half.validate().expect_err("half keyed");
    assert!(err.message.contains("`b` has none"), "{}", err.message);
    // One key for two parties.
    let same = establish(&[("a", Some(&ka)), ("b", Some(&ka))]);
    assert!(same.validate().is_err());
}

#[test]
fn unsigned_agreements_work_as_before() {
    let a = repeal("x");
    let ok = check_signatures(None, &a, &[]).expect("unsigned");
    assert_eq!(ok.keys_after, None);
    let stray = sign(&a, &[&key("z.example", 9)]);
    let r = check_signatures(None, &a, &stray).expect_err("a signature on an unsigned agreement");
    assert_eq!(r.foreign.len(), 1);
    let r = check_signatures(None, &rekey("a", &key("n.example", 3)), &[]).expect_err("rekey");
    assert!(r.to_string().contains("not signed"), "{r}");
}

#[test]
fn rekey_needs_the_old_keys_and_the_new_one_and_retires_the_old() {
    let (ka, kb, ka2) = (
        key("a.example", 1),
        key("b.example", 2),
        key("a2.example", 3),
    );
    let before = keys(&[("a", &ka), ("b", &kb)]);
    let r = rekey("a", &ka2);
    r.validate().expect("valid rekey");
    let ok = check_signatures(Some(&before), &r, &sign(&r, &[&ka, &kb, &ka2])).expect("rekey");
    assert_eq!(ok.signers.last(), Some(&(pid("a"), true)));
    let after = ok.keys_after.expect("keys");
    assert_eq!(after, keys(&[("a", &ka2), ("b", &kb)]));
    // Without the old key, or without the new one.
    let e = check_signatures(Some(&before), &r, &sign(&r, &[&kb, &ka2])).expect_err("old");
    assert_eq!(e.missing, vec!["a".to_string()]);
    let e = check_signatures(Some(&before), &r, &sign(&r, &[&ka, &kb])).expect_err("new");
    assert_eq!(e.missing, vec!["a (new key)".to_string()]);
    // After it, the retired key is no party's.
    let next = repeal("after");
    let e = check_signatures(Some(&after), &next, &sign(&next, &[&ka, &kb])).expect_err("retired");
    assert_eq!(e.missing, vec!["a".to_string()]);
    assert_eq!(e.foreign.len(), 1);
    check_signatures(Some(&after), &next, &sign(&next, &[&ka2, &kb])).expect("new key signs");
    // ...while the amendments signed before still verify with the keys then.
    let old = repeal("before");
    check_signatures(Some(&before), &old, &sign(&old, &[&ka, &kb])).expect("before the rekey");
    // Rekeying to the key in force, or to another party's key, or an unknown party.
    let e = check_signatures(Some(&before), &rekey("a", &ka), &[]).expect_err("same key");
    assert!(e.to_string().contains("its key in force"), "{e}");
    let e = check_signatures(Some(&before), &rekey("a", &kb), &[]).expect_err("b's key");
    assert!(e.to_string().contains("the key of `b`"), "{e}");
    let e = check_signatures(Some(&before), &rekey("c", &ka2), &[]).expect_err("no party c");
    assert!(e.to_string().contains("`c` is not a party"), "{e}");
    // A rekey contains nothing else and has no date.
    let mut dated = rekey("a", &ka2);
    dated.effective = Date::new(2025, 1, 1);
    assert!(dated.validate().is_err());
}

#[test]
fn duplicate_and_swapped_signatures_are_refused() {
    let (ka, kb) = (key("a.example", 1), key("b.example", 2));
    let in_force = keys(&[("a", &ka), ("b", &kb)]);
    let a = repeal("x");
    let mut sigs = sign(&a, &[&ka, &kb, &ka]);
    let e = check_signatures(Some(&in_force), &a, &sigs).expect_err("twice");
    assert!(
        e.to_string().contains("two signatures by key a.example+"),
        "{e}"
    );
    // b's signature bytes under a's name and id: invalid for a, b missing.
    sigs.truncate(2);
    sigs[0].sig = sigs[1].sig.clone();
    sigs.truncate(1);
    let e = check_signatures(Some(&in_force), &a, &sigs).expect_err("swapped");
    assert_eq!(
        e,
        Refused {
            missing: vec!["b".into()],
            invalid: vec!["a".into()],
            foreign: vec![],
            rule: None
        }
    );
    assert_eq!(
        e.to_string(),
        "no signature by `b`; invalid signature by `a`"
    );
}

/// Up to 5 parties, each with a key; an amendment id.
fn parties() -> impl Strategy<Value = (Vec<SignerKey>, String)> {
    (
        prop::collection::btree_set(1u8..=255, 1..=5),
        "[a-z][a-z0-9-]{0,20}",
    )
        .prop_map(|(seeds, id)| {
            let ks = seeds
                .into_iter()
                .map(|s| key(&format!("p{s}.example"), s))
                .collect();
            (ks, id)
        })
}

fn in_force(ks: &[SignerKey]) -> Keys {
    ks.iter()
        .enumerate()
        .map(|(i, k)| (pid(&format!("p{i}")), k.verifier()))
        .collect::<BTreeMap<_, _>>()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Signed by every party, in any order: accepted.
    #[test]
    fn signed_by_all_is_accepted((ks, id) in parties(), rot in 0usize..5) {
        let a = repeal(&id);
        let mut sigs = sign(&a, &ks.iter().collect::<Vec<_>>());
        let n = sigs.len();
        sigs.rotate_left(rot % n);
        sigs.reverse();
        let ok = check_signatures(Some(&in_force(&ks)), &a, &sigs);
        prop_assert!(ok.is_ok(), "{:?}", ok);
        prop_assert_eq!(ok.expect("ok").signers.len(), ks.len());
    }

    /// Any one signature removed: refused, naming that party.
    #[test]
    fn a_removed_signature_is_named((ks, id) in parties(), which in 0usize..5) {
        let a = repeal(&id);
        let mut sigs = sign(&a, &ks.iter().collect::<Vec<_>>());
        let i = which % sigs.len();
        sigs.remove(i);
        let e = check_signatures(Some(&in_force(&ks)), &a, &sigs).expect_err("missing");
        prop_assert_eq!(e.missing, vec![format!("p{i}")]);
    }

    /// Any bit of any signature flipped: refused, naming that party (or, when
    /// the bit is in the key id, the line is by no party's key and the party
    /// is missing).
    #[test]
    fn an_altered_signature_is_named((ks, id) in parties(), which in 0usize..5, bit in 0usize..(68 * 8)) {
        let a = repeal(&id);
        let mut sigs = sign(&a, &ks.iter().collect::<Vec<_>>());
        let i = which % sigs.len();
        let mut raw = sigs[i].id.to_be_bytes().to_vec();
        raw.extend_from_slice(&sigs[i].sig);
        raw[bit / 8] ^= 1 << (bit % 8);
        sigs[i].id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        sigs[i].sig = raw[4..].to_vec();
        let e = check_signatures(Some(&in_force(&ks)), &a, &sigs).expect_err("altered");
        let party = format!("p{i}");
        prop_assert!(e.invalid == vec![party.clone()] || e.missing == vec![party], "{:?}", e);
    }

    /// The signatures of another amendment: refused for every party.
    #[test]
    fn signatures_do_not_move_between_amendments((ks, id) in parties()) {
        let a = repeal(&id);
        let b = repeal(&format!("{id}-other"));
        let sigs = sign(&b, &ks.iter().collect::<Vec<_>>());
        let e = check_signatures(Some(&in_force(&ks)), &a, &sigs).expect_err("moved");
        prop_assert_eq!(e.invalid.len(), ks.len());
    }

    /// A signature by a key that is no party's: refused, even with all the others.
    #[test]
    fn a_non_party_key_is_refused((ks, id) in parties(), seed in 1u8..=255) {
        prop_assume!(ks.iter().all(|k| k.seed() != [seed; 32]));
        let a = repeal(&id);
        let outsider = key("outsider.example", seed);
        let mut all: Vec<&SignerKey> = ks.iter().collect();
        all.push(&outsider);
        let e = check_signatures(Some(&in_force(&ks)), &a, &sign(&a, &all)).expect_err("outsider");
        prop_assert_eq!(e.foreign.len(), 1);
        prop_assert!(e.missing.is_empty() && e.invalid.is_empty());
    }
}
