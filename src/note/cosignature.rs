//! `tlog-cosignature/v1`: a witness's timestamped Ed25519 signature of a
//! checkpoint (c2sp.org/tlog-cosignature).
//!
//! The signature line is `— NAME B64(KEYID ‖ u64_be(T) ‖ signature)`, where
//! `KEYID` is computed with signature type `0x04` and the signature is over
//! [`cosignature_message`]`(T, checkpoint text)`.

/// The first line of the message a cosignature signs.
pub const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// `cosignature/v1\ntime T\n` followed by the note text (T: POSIX seconds, decimal).
pub fn cosignature_message(time: u64, text: &str) -> String {
    format!("{COSIGNATURE_HEADER}time {time}\n{text}")
}
