//! Keys, signed notes and witness cosignatures in the C2SP formats
//! (`c2sp.org/signed-note`, `c2sp.org/tlog-cosignature`), byte for byte as
//! Go's `golang.org/x/mod/sumdb/note` writes them; signed checkpoints and
//! the witness's check before it cosigns one. Pure: no I/O, no clock
//! (the time of a cosignature is a parameter); the only outside input is the
//! operating system's randomness in [`SignerKey::generate`].
//!
//! ```
//! use pactum::note::{Note, SignerKey, VerifierKey};
//! let signer = SignerKey::from_seed("example.com/log", [7; 32]).unwrap();
//! let verifier: VerifierKey = signer.verifier();
//! let mut note = Note::new("hello\nworld\n").unwrap();
//! note.sign(&signer).unwrap();
//! let text = note.to_string();
//! assert!(text.starts_with("hello\nworld\n\n— example.com/log "));
//! let back = Note::parse(&text).unwrap();
//! back.require(&[verifier]).unwrap();
//! ```
//!
//! - A **verifier key** is `NAME+KEYID+B64(type ‖ public key)`, a **signer
//!   key** `PRIVATE+KEY+NAME+KEYID+B64(0x01 ‖ seed)`; `KEYID` is the first 4
//!   bytes of `SHA-256(NAME ‖ 0x0A ‖ type ‖ public key)` as 8 lowercase hex
//!   digits. Type `0x01` signs note texts; type `0x04` makes timestamped
//!   `cosignature/v1` signatures with the same Ed25519 key.
//! - A **signed note** is a text ending in `\n`, a blank line, and signature
//!   lines `— NAME B64(KEYID ‖ signature)`.
//!
//! Parsing accepts one spelling only: canonical base64 with padding,
//! lowercase key ids, names without spaces or `+`; verification is Ed25519
//! with RFC 8032's strict checks (no small-order keys, canonical `S`).

mod amendment;
mod checkpoint;
mod cosignature;
mod key;
mod signed;

pub use amendment::{
    amendment_note, check_signatures, keys_after, sign_amendment, Keys, Refused, Signed,
    AMENDMENT_NOTE_HEADER,
};
pub use checkpoint::{cosign, parse_checkpoint, sign_checkpoint, CosignRequest, SignedCheckpoint};
pub use cosignature::{cosignature_message, COSIGNATURE_HEADER};
pub use key::{check_name, key_id, SignerKey, VerifierKey, ALG_COSIGNATURE_V1, ALG_ED25519};
pub use signed::{Note, SigLine, EM_DASH};

/// Why a key, a note or a signature was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key string is malformed.
    #[error("malformed key: {0}")]
    Key(String),
    /// A key's id is not the hash of its name and public key.
    #[error("key `{name}`: key id {given} is not {computed}, the id of its name and public key")]
    KeyId {
        /// The key's name.
        name: String,
        /// The id written in the key.
        given: String,
        /// The id its name and public key give.
        computed: String,
    },
    /// A note is malformed.
    #[error("malformed note: {0}")]
    Malformed(String),
    /// A known key's signature does not verify.
    #[error("invalid signature by key {name}+{id:08x}")]
    BadSignature {
        /// The key's name.
        name: String,
        /// The key's id.
        id: u32,
    },
    /// A required key did not sign.
    #[error("no signature by key {name}+{id:08x}")]
    Missing {
        /// The key's name.
        name: String,
        /// The key's id.
        id: u32,
    },
    /// Two known keys share a name and id.
    #[error("ambiguous key {name}+{id:08x}: two keys given have this name and id")]
    Ambiguous {
        /// The keys' name.
        name: String,
        /// The keys' id.
        id: u32,
    },
    /// No signature on the note is by a known key.
    #[error("the note has no signature by a known key")]
    Unverified,
    /// The system's random number generator failed.
    #[error("cannot read randomness from the operating system: {0}")]
    Random(String),
}
