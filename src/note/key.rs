//! Ed25519 verifier and signer keys in the C2SP signed-note text form.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::cosignature::cosignature_message;
use super::NoteError;
use crate::chain::{base64, unbase64};
use crate::limits::KEY_NAME_BYTES_MAX;

/// Signature type of Ed25519 signatures over a note's text.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type of timestamped Ed25519 `cosignature/v1` signatures.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The first 4 bytes, big-endian, of `SHA-256(name ‖ 0x0A ‖ alg ‖ public)`.
pub fn key_id(name: &str, alg: u8, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, alg]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A key name: non-empty, no Unicode white space, no `+`, no control
/// characters, at most [`KEY_NAME_BYTES_MAX`] bytes.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the key name is empty".into());
    }
    if name.len() > KEY_NAME_BYTES_MAX {
        return Err(format!(
            "the key name is {} bytes, over KEY_NAME_BYTES_MAX ({KEY_NAME_BYTES_MAX})",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || *c == '+')
    {
        return Err(format!(
            "the key name `{}` contains {:?}: names have no spaces, control characters or `+`",
            name.escape_default(),
            c
        ));
    }
    Ok(())
}

fn parse_id(s: &str) -> Result<u32, NoteError> {
    if s.len() != 8 || !s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(NoteError::Key(format!(
            "the key id `{}` is not 8 lowercase hex digits",
            s.escape_default()
        )));
    }
    u32::from_str_radix(s, 16).map_err(|e| NoteError::Key(e.to_string()))
}

fn parse_public(bytes: &[u8]) -> Result<VerifyingKey, NoteError> {
    let pk: [u8; 32] = bytes.try_into().map_err(|_| {
        NoteError::Key(format!(
            "an Ed25519 public key is 32 bytes, this one {}",
            bytes.len()
        ))
    })?;
    let key = VerifyingKey::from_bytes(&pk)
        .map_err(|_| NoteError::Key("the public key is not a valid Ed25519 point".into()))?;
    if key.is_weak() {
        return Err(NoteError::Key(
            "the public key is of small order (a weak key that any signature would match)".into(),
        ));
    }
    if key.to_bytes() != pk {
        return Err(NoteError::Key(
            "the public key is not canonically encoded".into(),
        ));
    }
    Ok(key)
}

fn check_id(name: &str, given: u32, computed: u32) -> Result<(), NoteError> {
    if given != computed {
        return Err(NoteError::KeyId {
            name: name.to_string(),
            given: format!("{given:08x}"),
            computed: format!("{computed:08x}"),
        });
    }
    Ok(())
}

/// A public key that checks signatures: `NAME+KEYID+B64(type ‖ public key)`.
///
/// Type `0x01` ([`ALG_ED25519`]) checks plain note signatures, type `0x04`
/// ([`ALG_COSIGNATURE_V1`]) timestamped witness cosignatures.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    alg: u8,
    key: VerifyingKey,
}

impl VerifierKey {
    /// The key for `name` and a public key, of signature type `alg`.
    pub fn new(name: &str, alg: u8, public: &[u8; 32]) -> Result<VerifierKey, NoteError> {
        check_name(name).map_err(NoteError::Key)?;
        if alg != ALG_ED25519 && alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::Key(format!(
                "unknown signature type 0x{alg:02x} (known: 0x01 Ed25519, 0x04 cosignature/v1)"
            )));
        }
        let key = parse_public(public)?;
        Ok(VerifierKey {
            name: name.to_string(),
            id: key_id(name, alg, public),
            alg,
            key,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The signature type: [`ALG_ED25519`] or [`ALG_COSIGNATURE_V1`].
    pub fn alg(&self) -> u8 {
        self.alg
    }

    /// The 32-byte Ed25519 public key.
    pub fn public(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The same public key as a `cosignature/v1` (type `0x04`) verifier.
    pub fn cosigner(&self) -> VerifierKey {
        let public = self.public();
        VerifierKey {
            name: self.name.clone(),
            id: key_id(&self.name, ALG_COSIGNATURE_V1, &public),
            alg: ALG_COSIGNATURE_V1,
            key: self.key,
        }
    }

    /// Whether `sig` (the bytes after the key id in a signature line) is this
    /// key's valid signature of the note text `text`. For a type `0x04` key,
    /// `sig` is the 8-byte big-endian timestamp and the signature.
    pub fn verify(&self, text: &str, sig: &[u8]) -> bool {
        match self.alg {
            ALG_ED25519 => self.verify_raw(text.as_bytes(), sig),
            _ => {
                if sig.len() != 8 + 64 {
                    return false;
                }
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&sig[..8]);
                let t = u64::from_be_bytes(ts);
                if t > i64::MAX as u64 {
                    return false;
                }
                self.verify_raw(cosignature_message(t, text).as_bytes(), &sig[8..])
            }
        }
    }

    /// Ed25519 verification of `msg` with RFC 8032's strict checks.
    pub fn verify_raw(&self, msg: &[u8], sig: &[u8]) -> bool {
        match Signature::from_slice(sig) {
            Ok(s) => self.key.verify_strict(msg, &s).is_ok(),
            Err(_) => false,
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut data = Vec::with_capacity(33);
        data.push(self.alg);
        data.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, base64(&data))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl FromStr for VerifierKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<VerifierKey, NoteError> {
        if s.starts_with("PRIVATE+KEY+") {
            return Err(NoteError::Key(
                "this is a signer (private) key; a verifier key is expected here".into(),
            ));
        }
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::Key(
                "a verifier key is NAME+KEYID+BASE64 (as `pactum key generate` prints it)".into(),
            ));
        };
        check_name(name).map_err(NoteError::Key)?;
        let id = parse_id(id)?;
        let data = unbase64(data)
            .ok_or_else(|| NoteError::Key("the key data is not canonical base64".into()))?;
        let Some((&alg, public)) = data.split_first() else {
            return Err(NoteError::Key("the key data is empty".into()));
        };
        if alg != ALG_ED25519 && alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::Key(format!(
                "unknown signature type 0x{alg:02x} (known: 0x01 Ed25519, 0x04 cosignature/v1)"
            )));
        }
        let key = parse_public(public)?;
        let public = key.to_bytes();
        check_id(name, id, key_id(name, alg, &public))?;
        Ok(VerifierKey {
            name: name.to_string(),
            id,
            alg,
            key,
        })
    }
}

/// A private key that signs: `PRIVATE+KEY+NAME+KEYID+B64(0x01 ‖ 32-byte seed)`.
/// Its `Debug` form hides the seed.
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    id: u32,
    key: SigningKey,
}

impl SignerKey {
    /// The key for `name` from a 32-byte Ed25519 seed (RFC 8032's private key).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<SignerKey, NoteError> {
        check_name(name).map_err(NoteError::Key)?;
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, ALG_ED25519, key.verifying_key().as_bytes());
        Ok(SignerKey {
            name: name.to_string(),
            id,
            key,
        })
    }

    /// A new key for `name` from the operating system's randomness.
    pub fn generate(name: &str) -> Result<SignerKey, NoteError> {
        check_name(name).map_err(NoteError::Key)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| NoteError::Random(e.to_string()))?;
        SignerKey::from_seed(name, seed)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id (of its type `0x01` verifier key).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The verifier key (type `0x01`) that checks this key's signatures.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            alg: ALG_ED25519,
            key: self.key.verifying_key(),
        }
    }

    /// The 32-byte seed.
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The Ed25519 signature of `msg`.
    pub fn sign_raw(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }
}

impl fmt::Display for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut data = Vec::with_capacity(33);
        data.push(ALG_ED25519);
        data.extend_from_slice(&self.key.to_bytes());
        write!(
            f,
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            base64(&data)
        )
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignerKey({}+{:08x}, seed hidden)", self.name, self.id)
    }
}

impl FromStr for SignerKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<SignerKey, NoteError> {
        let Some(rest) = s.strip_prefix("PRIVATE+KEY+") else {
            return Err(NoteError::Key(
                "a signer key is PRIVATE+KEY+NAME+KEYID+BASE64 (a key file written by `pactum key generate`)"
                    .into(),
            ));
        };
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::Key(
                "a signer key is PRIVATE+KEY+NAME+KEYID+BASE64".into(),
            ));
        };
        check_name(name).map_err(NoteError::Key)?;
        let id = parse_id(id)?;
        let data = unbase64(data)
            .ok_or_else(|| NoteError::Key("the key data is not canonical base64".into()))?;
        let Some((&alg, seed)) = data.split_first() else {
            return Err(NoteError::Key("the key data is empty".into()));
        };
        if alg != ALG_ED25519 {
            return Err(NoteError::Key(format!(
                "unknown signer key type 0x{alg:02x} (known: 0x01 Ed25519)"
            )));
        }
        let seed: [u8; 32] = seed.try_into().map_err(|_| {
            NoteError::Key(format!(
                "an Ed25519 seed is 32 bytes, this one {}",
                seed.len()
            ))
        })?;
        let key = SignerKey::from_seed(name, seed)?;
        check_id(name, id, key.id)?;
        Ok(key)
    }
}

/// Encoded as its text form (`NAME+KEYID+BASE64`), checked when decoded.
impl serde::Serialize for VerifierKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for VerifierKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<VerifierKey, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
