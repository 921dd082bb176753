//! Known answers for keys, signed notes and cosignatures (`src/note/`):
//! Go's `golang.org/x/mod/sumdb/note` tests and package docs, the C2SP
//! signed-note and tlog-cosignature examples, transparency-dev's cosignature
//! vectors and RFC 8032 §7.1, byte for byte; then malformed input.

#[path = "../../fuzz/check_note.rs"]
mod check_note;

use pactum::note::{
    key_id, Note, NoteError, SigLine, SignerKey, VerifierKey, ALG_COSIGNATURE_V1, ALG_ED25519,
};

const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn vkey(s: &str) -> VerifierKey {
    s.parse().expect("verifier key")
}

fn unhex(s: &str) -> Vec<u8> {
    pactum::chain::unhex(s).expect("hex")
}

#[test]
fn go_signer_and_verifier_keys() {
    let signer: SignerKey = PETER_SKEY.parse().expect("signer key");
    assert_eq!(signer.to_string(), PETER_SKEY);
    assert_eq!(signer.verifier().to_string(), PETER_VKEY);
    assert_eq!(signer.id(), 0xc74f20a3);
    let v = vkey(PETER_VKEY);
    assert_eq!(
        (v.name(), v.id(), v.alg()),
        ("PeterNeumann", 0xc74f20a3, ALG_ED25519)
    );
    assert_eq!(v.to_string(), PETER_VKEY);
    assert_eq!(vkey(ENOCH_VKEY).to_string(), ENOCH_VKEY);
    assert_eq!(key_id("PeterNeumann", ALG_ED25519, &v.public()), 0xc74f20a3);
    // The secret never shows in Debug.
    assert!(!format!("{signer:?}").contains("AYEKFALV"));
}

/// Go's TestNewVerifier / TestNewSigner: every proper substring and every
/// one-byte change of a good key is refused.
#[test]
fn go_key_manglings_are_refused() {
    for key in [PETER_VKEY, PETER_SKEY] {
        let b = key.as_bytes();
        let check = |s: &[u8]| {
            let Ok(s) = std::str::from_utf8(s) else {
                return;
            };
            assert!(s.parse::<VerifierKey>().is_err(), "accepted verifier {s}");
            assert!(s.parse::<SignerKey>().is_err(), "accepted signer {s}");
        };
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i != 0 || j != b.len() {
                    check(&b[i..j]);
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] = m[i].wrapping_add(1);
            check(&m);
        }
    }
    // Wrong key length and unknown algorithm, each with a matching key id.
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ] {
        assert!(bad.parse::<VerifierKey>().is_err(), "{bad}");
    }
}

/// Go's TestSign and the package doc's example, byte for byte.
#[test]
fn go_sign_reproduces_the_published_note() {
    let signer: SignerKey = PETER_SKEY.parse().expect("key");
    let mut note = Note::new(TEXT).expect("text");
    note.sign(&signer).expect("sign");
    assert_eq!(note.to_string(), format!("{TEXT}\n{PETER_SIG}"));
    // An existing line by the same key is replaced, not repeated.
    let mut again = Note::parse(&format!("{TEXT}\n— PeterNeumann x08go/ZJ=\n"));
    if let Ok(n) = &mut again {
        n.sign(&signer).expect("sign");
        assert_eq!(n.to_string(), format!("{TEXT}\n{PETER_SIG}"));
    }
    assert!(Note::new("abc").is_err(), "text without final newline");
}

/// Go's TestOpen.
#[test]
fn go_open() {
    let peter = vkey(PETER_VKEY);
    let enoch = vkey(ENOCH_VKEY);
    let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let n = Note::parse(&msg).expect("parse");
    assert_eq!(n.text(), TEXT);
    assert_eq!(n.to_string(), msg);
    assert_eq!(n.signatures()[0].id, 0xc74f20a3);
    assert_eq!(n.signatures()[1].id, 0xaf0cfe78);
    // One known, one ignored.
    assert_eq!(n.verify(std::slice::from_ref(&peter)), Ok(vec![0]));
    // Both known.
    assert_eq!(n.verify(&[peter.clone(), enoch.clone()]), Ok(vec![0, 1]));
    n.require(&[peter.clone(), enoch.clone()])
        .expect("both signed");
    // None known.
    assert_eq!(n.verify(&[]), Err(NoteError::Unverified));
    // Too many signatures.
    let many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
    assert!(matches!(Note::parse(&many), Err(NoteError::Malformed(_))));
    assert!(Note::parse(&format!("{TEXT}\n{}", PETER_SIG.repeat(100))).is_ok());
    // An invalid signature by a known key rejects the note.
    let bad = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let err = Note::parse(&bad)
        .expect("parse")
        .verify(std::slice::from_ref(&peter))
        .expect_err("bad signature");
    assert_eq!(
        err.to_string(),
        "invalid signature by key PeterNeumann+c74f20a3"
    );
    // Repeated lines: each by a known key verifies; unknown ones are ignored.
    let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let dup = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_abcd}");
    let n = Note::parse(&dup).expect("parse");
    assert_eq!(n.verify(std::slice::from_ref(&peter)), Ok(vec![0, 1]));
    // Malformed encodings.
    for msg in [
        TEXT.to_string(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\x01{TEXT}\n{PETER_SIG}"),
        format!("{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
    ] {
        assert!(matches!(Note::parse(&msg), Err(NoteError::Malformed(_))), "{msg:?}");
    }
    let mut not_utf8 = vec![0xff];
    not_utf8.extend_from_slice(format!("{TEXT}\n{PETER_SIG}").as_bytes());
    assert!(matches!(
        Note::parse_bytes(&not_utf8),
        Err(NoteError::Malformed(_))
    ));
    // Two different keys under one name and id.
    let twin = "PeterNeumann+c74f20a3+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    assert!(
        twin.parse::<VerifierKey>().is_err(),
        "id does not match: refused at parse"
    );
}

/// The examples of c2sp.org/signed-note and c2sp.org/tlog-cosignature.
#[test]
fn c2sp_examples_parse() {
    let poem = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let n = Note::parse(poem).expect("poem");
    assert_eq!(
        n.text(),
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    );
    assert_eq!(n.signatures()[0].name, "quasimodo.example/salvatore");
    assert_eq!(n.signatures()[0].sig.len(), 64);
    assert_eq!(n.to_string(), poem);

    let cp = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
    let n = Note::parse(cp).expect("cosigned checkpoint");
    let w = &n.signatures()[1];
    assert_eq!(
        (w.name.as_str(), w.id),
        ("witness.example.com/w1", 0x8d66cf3f)
    );
    // The spec's message example uses this very time.
    assert_eq!(w.cosignature_time(), Some(1679315147));
    assert_eq!(n.signatures()[0].cosignature_time(), None);
    assert_eq!(n.to_string(), cp);
}

/// transparency-dev/formats note_cosigv1_test.go: a native type-0x04
/// verifier key, a type-0x01 one, and the timestamp inside a cosignature.
#[test]
fn transparency_dev_cosignature_vectors() {
    let native = vkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");
    assert_eq!(native.alg(), ALG_COSIGNATURE_V1);
    assert_eq!(
        key_id(native.name(), ALG_COSIGNATURE_V1, &native.public()),
        0xda77ade7
    );
    let plain = vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6");
    assert_eq!(plain.alg(), ALG_ED25519);
    assert_eq!(plain.cosigner().alg(), ALG_COSIGNATURE_V1);
    assert_eq!(
        plain.cosigner().id(),
        key_id("TEST", ALG_COSIGNATURE_V1, &plain.public())
    );
    for bad in [
        "bananas.sigstore.dev+12344556",
        "rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!",
        "rekor.sigstore.dev+12345678+AwEB",
    ] {
        assert!(bad.parse::<VerifierKey>().is_err(), "{bad}");
    }
    let line = SigLine::parse("— w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==")
        .expect("line");
    assert_eq!(line.cosignature_time(), Some(1727964367));
    let plain_sig = SigLine::parse("— w eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=")
        .expect("line");
    assert_eq!(plain_sig.cosignature_time(), None);
}

/// RFC 8032 §7.1, tests 1, 2, 3 and SHA(abc).
#[test]
fn rfc8032_vectors() {
    let vectors = [
        ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
         "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
        ("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
         "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
         "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
         "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
    ];
    for (seed, public, msg, sig) in vectors {
        let seed: [u8; 32] = unhex(seed).try_into().expect("seed");
        let k = SignerKey::from_seed("rfc8032", seed).expect("key");
        assert_eq!(k.verifier().public().to_vec(), unhex(public));
        let s = k.sign_raw(&unhex(msg));
        assert_eq!(s.to_vec(), unhex(sig));
        assert!(k.verifier().verify_raw(&unhex(msg), &s));
        let mut flipped = s;
        flipped[0] ^= 1;
        assert!(!k.verifier().verify_raw(&unhex(msg), &flipped));
    }
}

#[test]
fn cosignature_round_trip_and_bytes() {
    let k = SignerKey::from_seed("witness.example/w1", [9; 32]).expect("key");
    let text = "pactum/00112233445566778899aabbccddeeff\n2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nchain 0000000000000000000000000000000000000000000000000000000000000000\n";
    let mut n = Note::new(text).expect("text");
    n.cosign(&k, 1_700_000_000).expect("cosign");
    let line = &n.signatures()[0];
    assert_eq!(
        line.id,
        key_id("witness.example/w1", 0x04, &k.verifier().public())
    );
    assert_eq!(line.cosignature_time(), Some(1_700_000_000));
    let msg = format!("cosignature/v1\ntime 1700000000\n{text}");
    assert_eq!(line.sig[8..], k.sign_raw(msg.as_bytes()));
    let w = k.verifier().cosigner();
    let back = Note::parse(&n.to_string()).expect("parse");
    back.require(std::slice::from_ref(&w)).expect("cosigned");
    // The plain verifier key (type 0x01) does not match a cosignature line.
    assert_eq!(
        back.require(&[k.verifier()]),
        Err(NoteError::Missing {
            name: "witness.example/w1".into(),
            id: k.id()
        })
    );
    // The timestamp is signed: changing it breaks the signature.
    let mut forged = back.signatures()[0].clone();
    forged.sig[7] ^= 1;
    let mut m = Note::new(text).expect("text");
    m.push(forged).expect("push");
    assert!(matches!(
        m.require(&[w]),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn malformed_keys_have_clear_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "key id c74f20a4 is not c74f20a3",
        ),
        (
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "not 8 lowercase hex digits",
        ),
        (
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",
            "not a valid Ed25519 point",
        ),
        (
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW====",
            "not canonical base64",
        ),
        (
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW",
            "not canonical base64",
        ),
        (
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n",
            "not canonical base64",
        ),
        (PETER_SKEY, "signer (private) key"),
        (
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "no spaces",
        ),
        (
            "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "empty",
        ),
        // The identity point: a small-order key.
        (
            "weak+00000000+AQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "small order",
        ),
    ];
    for (key, want) in cases {
        let err = key.parse::<VerifierKey>().expect_err(key).to_string();
        assert!(err.contains(want), "{key}: {err} (want {want})");
    }
    let err = "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
        .parse::<SignerKey>()
        .expect_err("wrong id")
        .to_string();
    assert!(err.contains("key id c74f20a4 is not c74f20a3"), "{err}");
    assert!(PETER_VKEY.parse::<SignerKey>().is_err());
    assert!(SignerKey::generate("a+b").is_err());
}

#[test]
fn malformed_notes_have_clear_errors() {
    let big = format!(
        "{}\n\n{PETER_SIG}",
        "x".repeat(pactum::limits::NOTE_BYTES_MAX)
    );
    let err = Note::parse(&big).expect_err("oversized").to_string();
    assert!(err.contains("NOTE_BYTES_MAX"), "{err}");
    let err = Note::parse(&format!("{TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAN=\n"))
        .expect_err("non-canonical")
        .to_string();
    assert!(err.contains("canonical base64"), "{err}");
    let err = Note::parse(&format!("a\tb\n\n{PETER_SIG}"))
        .expect_err("tab")
        .to_string();
    assert!(err.contains("line 1") && err.contains("control"), "{err}");
    let err = Note::parse(&format!("{TEXT}\n- PeterNeumann x08go/ZJ=\n"))
        .expect_err("hyphen")
        .to_string();
    assert!(err.contains("em dash"), "{err}");
    let err = Note::parse(&format!("{TEXT}\n— PeterNeumann AAAA\n"))
        .expect_err("short")
        .to_string();
    assert!(err.contains("shorter"), "{err}");
}

#[test]
fn generated_keys_round_trip() {
    let k = SignerKey::generate("legal.example.com").expect("generate");
    let again: SignerKey = k.to_string().parse().expect("parse");
    assert_eq!(again.seed(), k.seed());
    let v: VerifierKey = k.verifier().to_string().parse().expect("parse");
    assert_eq!(v, k.verifier());
    let other = SignerKey::generate("legal.example.com").expect("generate");
    assert_ne!(
        other.seed(),
        k.seed(),
        "two keys from the system's randomness"
    );
}

/// docs/format.md §21.7: the worked example, rebuilt with pactum, is what
/// the document shows.
#[test]
fn format_md_worked_example() {
    let origin = "pactum/00000000000000000000000000000000";
    let log = SignerKey::from_seed(origin, [1; 32]).expect("log key");
    let witness = SignerKey::from_seed("witness.example", [2; 32]).expect("witness key");
    assert_eq!(
        log.to_string(),
        "PRIVATE+KEY+pactum/00000000000000000000000000000000+993d7be2+AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
    );
    assert_eq!(
        log.verifier().to_string(),
        "pactum/00000000000000000000000000000000+993d7be2+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c"
    );
    assert_eq!(
        witness.verifier().to_string(),
        "witness.example+749679f8+AYE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU"
    );
    assert_eq!(
        witness.verifier().cosigner().to_string(),
        "witness.example+3176bd45+BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU"
    );
    let cp: pactum::chain::CheckpointText = "pactum/00000000000000000000000000000000\n2\n\
        oRHqszZ2mzkmlcRvK/Q3MBF/FMMde/hOSmhWHh3fAbE=\n\
        chain 522411e11b9264ca580634a002ac3ead0bb3c50cbcba9669d9f6342ae34ff46e\n"
        .parse()
        .expect("checkpoint");
    let mut note = pactum::note::sign_checkpoint(&cp, &log).expect("sign");
    note.cosign(&witness, 1_793_534_400).expect("cosign");
    let want = "pactum/00000000000000000000000000000000
2
oRHqszZ2mzkmlcRvK/Q3MBF/FMMde/hOSmhWHh3fAbE=
chain 522411e11b9264ca580634a002ac3ead0bb3c50cbcba9669d9f6342ae34ff46e

— pactum/00000000000000000000000000000000 mT174s19oWfuRspxuocfLeaN9Zs/ou9gA2EtJGbJPBHFagh7ox+i1LW+LT1vvfLj6lVs7WyFr3S1429oI4H5fVB32gE=
— witness.example MXa9RQAAAABq5ynAl3+90QWyTyy9yqOwLoSknTtGgkbmfRAtliHT2VGWcag/GsHGTO5I1o4rnDo/r7NDYox+Q62eZOufBag7TeYACg==
";
    assert_eq!(note.to_string(), want);
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/format.md"),
    )
    .expect("docs/format.md");
    assert!(
        doc.contains(&format!("```text\n{want}```")),
        "§21.7 shows other bytes"
    );
    for s in [
        "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
        "cd7da167ee46ca71ba871f2de68df59b3fa2ef6003612d2466c93c11c56a087ba31fa2d4b5be2d3d6fbdf2e3ea556ced6c85af74b5e36f682381f97d5077da01",
        "977fbdd105b24f2cbdcaa3b02e84a49d3b468246e67d102d9621d3d9519671a83f1ac1c64cee48d68e2b9c3a3fafb343628c7e43ad9e64eb9f05a83b4de6000a",
    ] {
        assert!(doc.contains(s), "§21.7 lacks {s}");
    }
    assert_eq!(
        pactum::chain::hex(&note.signatures()[0].sig),
        "cd7da167ee46ca71ba871f2de68df59b3fa2ef6003612d2466c93c11c56a087ba31fa2d4b5be2d3d6fbdf2e3ea556ced6c85af74b5e36f682381f97d5077da01"
    );
    assert_eq!(
        pactum::chain::hex(&note.signatures()[1].sig[8..]),
        "977fbdd105b24f2cbdcaa3b02e84a49d3b468246e67d102d9621d3d9519671a83f1ac1c64cee48d68e2b9c3a3fafb343628c7e43ad9e64eb9f05a83b4de6000a"
    );
}

/// The `note` fuzz target's committed inputs (`fuzz/seeds/note/`,
/// `fuzz/regressions/note/`), and 20,000 mutations of them, through its
/// check (`fuzz/check_note.rs`), on stable.
#[test]
fn fuzz_note_seeds_and_mutations() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(kind).join("note")) else {
            continue;
        };
        for e in rd {
            let p = e.expect("entry").path();
            if p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
            {
                inputs.push(std::fs::read(&p).expect("seed"));
            }
        }
    }
    assert!(inputs.len() >= 8, "the seeds are there");
    for i in &inputs {
        check_note::check_note(i);
    }
    // A small deterministic mutator (xorshift): flip, insert, delete, splice.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut parsed = 0;
    for _ in 0..20_000 {
        let mut d = inputs[(next() % inputs.len() as u64) as usize].clone();
        for _ in 0..1 + next() % 3 {
            let at = (next() % (d.len() as u64).max(1)) as usize;
            match next() % 5 {
                0 if at < d.len() => d[at] ^= 1 << (next() % 8),
                1 => d.insert(at.min(d.len()), next() as u8),
                2 if at < d.len() && at > 0 => {
                    d.remove(at);
                }
                3 => d.insert(
                    at.min(d.len()),
                    b"\n\n+=\xe2\x80\x94 "[(next() % 8) as usize],
                ),
                _ if at > 0 && at < d.len() => d[at] = b"+=/\n A"[(next() % 6) as usize],
                _ => {}
            }
        }
        check_note::check_note(&d);
        if d.first() == Some(&2) && Note::parse_bytes(&d[1..]).is_ok() {
            parsed += 1;
        }
    }
    println!(
        "note fuzz replay: {} seeds, 20000 mutations, {parsed} mutated notes parsed",
        inputs.len()
    );
}

/// Figures for planning the audit's re-verification (run with
/// `cargo test --release --test note -- --ignored --nocapture`): strict
/// Ed25519 verifications of amendment-sized notes per second, one core.
#[test]
#[ignore]
fn measure_verifications_per_second() {
    let k = SignerKey::from_seed("p.example", [5; 32]).expect("key");
    let v = k.verifier();
    let text = "pactum/amendment/v1\nmicrosoft-openai\n2025-01-21-compute-rofr\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
    let sig = k.sign_raw(text.as_bytes());
    let n = 20_000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        assert!(v.verify(text, &sig));
    }
    let per = t.elapsed() / n;
    println!(
        "verify_strict: {per:?} per signature, {:.0} per second",
        1.0 / per.as_secs_f64()
    );
    let t = std::time::Instant::now();
    for _ in 0..n / 10 {
        std::hint::black_box(k.sign_raw(text.as_bytes()));
    }
    println!("sign: {:?} per signature", t.elapsed() / (n / 10));
}
