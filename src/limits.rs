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
/// Most clauses in force in one agreement at once (an `add` beyond it is
/// refused): bounds a state, a replay snapshot and a judge's memory.
pub const CLAUSES_IN_FORCE_MAX: usize = 10_000;
/// Most events that occur in one agreement (an `occur` beyond it is
/// refused): bounds the events a replay snapshot carries.
pub const EVENTS_PER_AGREEMENT_MAX: usize = 100_000;
/// Earliest year of any date.
pub const YEAR_MIN: i16 = 1;
/// Latest year of any date.
pub const YEAR_MAX: i16 = 9999;

// ---------------------------------------------------------------- tuning
//
// Not limits on what a user may write, but how pactum spends memory and
// room; each is re-exported under its old name where it is used.

/// sled's page cache for readers, bytes.
pub const SLED_READ_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// sled's page cache for the audit, which reads in key order (two scans at
/// once): a larger cache only holds pages it will not read again. Bytes.
pub const SLED_SCAN_CACHE_BYTES: u64 = 16 * 1024 * 1024;
/// sled's page cache for writers, bytes. sled fills it with every page a
/// batch writes, so it bounds a writer's memory (256 MiB budget, product.md
/// §11). With layout 2 (entries and copied steps in sled) a large cache paid
/// (100,000 amendments of 1,000 agreements in one append: 15 s at 64 MiB,
/// 9 s at 512 MiB, but 536 MB of RSS for 20,000); since layout 3 sled holds
/// only the index part, about a sixth of those bytes.
pub const SLED_WRITE_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// Bytes of entries after which a batch being appended goes to a store
/// that can stage ahead of its commit (sled): bounds an append's memory
/// whatever the batch's size.
pub const STAGE_PART_BYTES: usize = 8 * 1024 * 1024;
/// Amendments after which a batch being appended goes to a store that can
/// stage, whatever their bytes: the judge's timelines (steps and replay
/// marks of every agreement the part touches) take ~10 KB per amendment
/// (measured: a dry run of 5,000 in one process, 54 MB).
pub const STAGE_PART_AMENDMENTS: usize = 2_000;
/// Entries a process writes to a sled ledger from which it opens the folder
/// once more before it ends ([`crate::place::append_each`], `import`): sled
/// writes its recovery snapshot only when it opens, so otherwise the next
/// command replays everything this one wrote (measured: 4.5 s for the
/// first command after an `append -` of 100,000, 0.1 s after).
pub const SETTLE_ENTRIES_MIN: u64 = 5_000;
/// Most agreements whose timelines stay cached in a writer between appends.
pub const WRITER_CACHED_AGREEMENTS_MAX: usize = 256;
/// Most steps one stored projection page holds.
pub const PAGE_STEPS_MAX: usize = 32;
/// A snapshot is written at a page start once this many steps, or as many
/// steps as clauses are in force (whichever is more), follow the previous
/// one: snapshots then take no more room than the steps they skip.
pub const SNAPSHOT_SPACING_STEPS_MIN: usize = 32;
/// Largest product of word counts diffed word by word; beyond it the whole
/// text is shown as replaced (bounds time and memory). Cells.
pub const REDLINE_CELLS_MAX: usize = 4_000_000;

const _: () = {
    assert!(SLED_SCAN_CACHE_BYTES <= SLED_READ_CACHE_BYTES);
    assert!(SLED_READ_CACHE_BYTES <= SLED_WRITE_CACHE_BYTES);
    assert!(PAGE_STEPS_MAX > 0 && SNAPSHOT_SPACING_STEPS_MIN > 0);
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
