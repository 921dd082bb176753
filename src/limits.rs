//! Every limit pactum enforces, as a named constant with its unit last.
//!
//! Each limit is checked on input (amendment files) and again when stored
//! bytes are decoded, so a ledger can never hold what a user could not have
//! written. The relations between them are checked at compile time below.

/// Largest amendment, in bytes of its input text (one file, or one JSON Lines line)
/// and of its stored encoding.
pub const AMENDMENT_BYTES_MAX: usize = 1024 * 1024;
/// Largest stored entry (record header + encoded amendment), in bytes.
pub const ENTRY_BYTES_MAX: usize = AMENDMENT_BYTES_MAX + 64;
/// Most changes in one amendment.
pub const CHANGES_PER_AMENDMENT_MAX: usize = 1_000;
/// Longest clause text, in bytes (UTF-8).
pub const CLAUSE_TEXT_BYTES_MAX: usize = 64 * 1024;
/// Longest short text (titles, headings, notes, reasons, party names), in bytes.
pub const SHORT_TEXT_BYTES_MAX: usize = 1024;
/// Longest `source` reference, in bytes.
pub const SOURCE_BYTES_MAX: usize = 2048;
/// Longest term text value, in bytes.
pub const TERM_TEXT_BYTES_MAX: usize = 1024;
/// Most terms on one clause (and in one `set` or `unset`).
pub const TERMS_PER_CLAUSE_MAX: usize = 64;
/// Most parties to one agreement.
pub const PARTIES_PER_AGREEMENT_MAX: usize = 64;
/// Longest agreement id, in bytes.
pub const AGREEMENT_ID_BYTES_MAX: usize = 64;
/// Longest amendment id, in bytes.
pub const AMENDMENT_ID_BYTES_MAX: usize = 128;
/// Longest clause id, in bytes.
pub const CLAUSE_ID_BYTES_MAX: usize = 128;
/// Longest event id, in bytes.
pub const EVENT_ID_BYTES_MAX: usize = 64;
/// Longest party id, in bytes.
pub const PARTY_ID_BYTES_MAX: usize = 64;
/// Longest term name, in bytes.
pub const TERM_NAME_BYTES_MAX: usize = 64;
/// Most amendments given to one `append` (all validated and recorded together).
pub const AMENDMENTS_PER_APPEND_MAX: usize = 2_000_000;
/// Largest input file (a JSON Lines file or standard input may hold many amendments), in bytes.
pub const INPUT_FILE_BYTES_MAX: u64 = 2 * 1024 * 1024 * 1024;
/// Largest signed note (text and signature lines), in bytes: a checkpoint or
/// an amendment note with its signatures.
pub const NOTE_BYTES_MAX: usize = 64 * 1024;
/// Most signature lines on one note (C2SP signed-note asks for at least 16).
pub const NOTE_SIGNATURES_MAX: usize = 100;
/// Longest key name, in bytes.
pub const KEY_NAME_BYTES_MAX: usize = 256;
/// Largest key file (one key, possibly with a final newline), in bytes.
pub const KEY_FILE_BYTES_MAX: usize = 4096;
/// Most signature lines on one amendment (every party, and a rekey's new key).
pub const SIGNATURES_PER_AMENDMENT_MAX: usize = PARTIES_PER_AGREEMENT_MAX + 1;
/// Earliest year of any date.
pub const YEAR_MIN: i16 = 1;
/// Latest year of any date.
pub const YEAR_MAX: i16 = 9999;

const _: () = {
    assert!(CLAUSE_TEXT_BYTES_MAX < AMENDMENT_BYTES_MAX);
    assert!(SHORT_TEXT_BYTES_MAX < CLAUSE_TEXT_BYTES_MAX);
    assert!(TERM_TEXT_BYTES_MAX <= CLAUSE_TEXT_BYTES_MAX);
    assert!(ENTRY_BYTES_MAX > AMENDMENT_BYTES_MAX);
    assert!(AGREEMENT_ID_BYTES_MAX <= AMENDMENT_ID_BYTES_MAX);
    assert!(EVENT_ID_BYTES_MAX <= CLAUSE_ID_BYTES_MAX);
    assert!(CHANGES_PER_AMENDMENT_MAX <= u32::MAX as usize);
    assert!(YEAR_MIN >= 1 && YEAR_MAX <= 9999);
    assert!(NOTE_SIGNATURES_MAX >= 16);
    assert!(SIGNATURES_PER_AMENDMENT_MAX <= NOTE_SIGNATURES_MAX);
    assert!(KEY_NAME_BYTES_MAX < KEY_FILE_BYTES_MAX);
    // A JSON Lines file must be able to hold at least one amendment.
    assert!(INPUT_FILE_BYTES_MAX >= AMENDMENT_BYTES_MAX as u64);
};
