//! What readers ask of a ledger besides a state, a diff or a history: the
//! agreements at a glance (`list`), one amendment whole (`show`), which
//! entry retracted an amendment, and whether a clause, an agreement or a
//! view named by a user exists at all (with the near name when it does not).
//!
//! Pure reads over [`Ledger`]; nothing here writes or prints.
//!
//! ```
//! use pactum::{catalog, Ledger, store::MemStore, model::RecordedAt};
//!
//! let ledger = Ledger::create(MemStore::default(), [1; 16]).unwrap();
//! let a = pactum::input::parse_str("a.json", concat!(
//!   r#"{"agreement":"acme","id":"start","title":"Start","effective":"2024-01-01","change":["#,
//!   r#"{"op":"establish","title":"Acme supply","parties":[{"id":"acme","name":"Acme"}]},"#,
//!   r#"{"op":"add","clause":"price","text":"Ten per unit."}]}"#,
//! )).unwrap();
//! ledger.append(&a, RecordedAt(1_700_000_000_000_000), Default::default()).unwrap();
//! let rows = catalog::summaries(&ledger, "2025-01-01".parse().unwrap()).unwrap();
//! assert_eq!(rows[0].amendments, 1);
//! let entries = ledger.agreement_entries(&"acme".parse().unwrap()).unwrap();
//! assert_eq!(catalog::near_clause(&entries, "prise").as_deref(), Some("price"));
//! ```

use crate::chain::{self, Hash};
use crate::codec::Entry;
use crate::error::Error;
use crate::layout::keys;
use crate::layout::StoredEntry;
use crate::ledger::Ledger;
use crate::model::{AgreementId, AmendmentId, Date, Op, Party, PartyId};
use crate::note::{keys_after, Keys};
use crate::projection::{self, KnownAt, Status};
use crate::store::Store;
use std::collections::HashMap;

/// One agreement at a glance (a row of `pactum list`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The agreement.
    pub agreement: AgreementId,
    /// Its title, when it is established as known now (`None`: its
    /// establishing amendment was retracted).
    pub title: Option<String>,
    /// Its parties.
    pub parties: Vec<Party>,
    /// Amendments in force (not retracted, not retractions).
    pub amendments: usize,
    /// Retractions recorded.
    pub retracted: usize,
    /// The earliest effective date of a live change.
    pub first_effective: Option<Date>,
    /// The latest effective date of a live change.
    pub last_effective: Option<Date>,
    /// The status on `today` (`None`: retracted, see `title`).
    pub status: Option<Status>,
    /// The first day it is no longer in force, when terminated by `today`.
    pub terminated: Option<Date>,
}

/// Every agreement of the ledger, in id order, summarised on `today`.
pub fn summaries<S: Store>(ledger: &Ledger<S>, today: Date) -> Result<Vec<Summary>, Error> {
    let mut rows = Vec::new();
    for id in ledger.agreements()? {
        let entries = ledger.agreement_entries(&id)?;
        let live = projection::live(&entries, KnownAt::All);
        let dates: Vec<Date> = live
            .iter()
            .flat_map(|e| (0..e.amendment.changes.len()).filter_map(|i| e.amendment.change_date(i)))
            .collect();
        let retracted = entries
            .iter()
            .filter(|e| e.amendment.is_retraction())
            .count();
        let state = projection::state(&id, &entries, today, KnownAt::All).ok();
        rows.push(Summary {
            title: state.as_ref().map(|s| s.title.clone()),
            parties: state
                .as_ref()
                .map(|s| s.parties.clone())
                .unwrap_or_default(),
            amendments: live.len(),
            retracted,
            first_effective: dates.iter().min().copied(),
            last_effective: dates.iter().max().copied(),
            status: state.as_ref().map(|s| s.status),
            terminated: state.as_ref().and_then(|s| s.terminated),
            agreement: id,
        });
    }
    Ok(rows)
}

/// The retraction that voids an amendment: its seq and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetractedBy {
    /// The retraction's entry.
    pub seq: u64,
    /// The retraction's id.
    pub amendment: AmendmentId,
}

/// The retraction of `(agreement, id)`, if one is recorded.
pub fn retracted_by<S: Store>(
    ledger: &Ledger<S>,
    agreement: &AgreementId,
    id: &AmendmentId,
) -> Result<Option<RetractedBy>, Error> {
    let Some(v) = ledger.store().get(&keys::retracted(agreement, id))? else {
        return Ok(None);
    };
    let seq = u64::from_be_bytes(v.as_slice().try_into().map_err(|_| Error::Damaged {
        seq: None,
        detail: "malformed retraction value".into(),
    })?);
    let e = ledger.entry(seq)?.ok_or_else(|| Error::Damaged {
        seq: Some(seq),
        detail: "a retraction key names a missing entry".into(),
    })?;
    Ok(Some(RetractedBy {
        seq,
        amendment: e.amendment.id,
    }))
}

/// Who made one signature line of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    /// The party whose key made it (`None`: a key of no party, which the
    /// ledger never accepts; the audit names it).
    pub party: Option<PartyId>,
    /// The key, as `NAME+KEYID`.
    pub key: String,
    /// Whether it is the party's new key (a rekey's).
    pub new_key: bool,
}

/// Names the signers of entries read in recording order: each signature
/// line's party, by the keys in force when the entry was recorded (a
/// reading aid: the audit is what verifies the signatures).
#[derive(Debug, Default)]
pub struct Signers {
    keys: HashMap<AgreementId, Keys>,
}

impl Signers {
    /// Starts with the keys in force of `agreement` before entry `seq` (for
    /// a reader that starts at `seq` rather than at the first entry).
    pub fn before<S: Store>(
        ledger: &Ledger<S>,
        agreement: &AgreementId,
        seq: u64,
    ) -> Result<Signers, Error> {
        let mut s = Signers::default();
        if let Some(k) = crate::layout::keys_in_force_before(ledger.store(), agreement, seq)? {
            s.keys.insert(agreement.clone(), k);
        }
        Ok(s)
    }

    /// The signers of `e`, in the order of its lines; then `e`'s keys are in
    /// force for the next entries.
    pub fn next(&mut self, e: &Entry) -> Vec<Signer> {
        let a = &e.amendment;
        let in_force = self.keys.get(&a.agreement);
        let establish = a.establish_keys();
        let rekey = match a.changes.first().map(|c| &c.op) {
            Some(Op::Rekey { party, key }) => Some((party, key)),
            _ => None,
        };
        let out = e
            .signatures
            .iter()
            .map(|line| {
                let old = in_force
                    .into_iter()
                    .flatten()
                    .chain(establish.iter().flatten().map(|(p, k)| (*p, *k)))
                    .find(|(_, k)| line.is_by(k))
                    .map(|(p, _)| (p.clone(), false));
                let found = old.or_else(|| {
                    rekey
                        .filter(|(_, k)| line.is_by(k))
                        .map(|(p, _)| (p.clone(), true))
                });
                Signer {
                    party: found.as_ref().map(|(p, _)| p.clone()),
                    key: format!("{}+{:08x}", line.name, line.id),
                    new_key: found.is_some_and(|(_, n)| n),
                }
            })
            .collect();
        if let Some(k) = keys_after(in_force.cloned(), a) {
            self.keys.insert(a.agreement.clone(), k);
        }
        out
    }

    /// The keys in force of `agreement` after the entries read.
    pub fn keys(&self, agreement: &AgreementId) -> Option<&Keys> {
        self.keys.get(agreement)
    }
}

/// The signers of each signed entry of one agreement's `entries` (all of
/// them from its first, in recording order), by seq.
pub fn signers_by_seq(entries: &[Entry]) -> HashMap<u64, Vec<Signer>> {
    let mut s = Signers::default();
    entries
        .iter()
        .filter_map(|e| {
            let who = s.next(e);
            (!who.is_empty()).then_some((e.seq, who))
        })
        .collect()
}

/// How `log`, `history` and `show` name the signers: `microsoft, openai,
/// microsoft (new key)`.
pub fn signers_text(signers: &[Signer]) -> String {
    signers
        .iter()
        .map(|s| match (&s.party, s.new_key) {
            (Some(p), false) => p.to_string(),
            (Some(p), true) => format!("{p} (new key)"),
            (None, _) => format!("{} (no party's key)", s.key),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One amendment whole, as `pactum show` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    /// The entry (seq, recorded time, the amendment with every change).
    pub entry: Entry,
    /// Its leaf hash (RFC 9162 leaf of the entry's bytes).
    pub leaf: Hash,
    /// The chain hash after it.
    pub chain: Hash,
    /// The retraction that voids it, if any.
    pub retracted_by: Option<RetractedBy>,
    /// Who signed it, line by line.
    pub signers: Vec<Signer>,
}

/// The amendment `(agreement, id)` whole, or `None` when it is not recorded.
pub fn show<S: Store>(
    ledger: &Ledger<S>,
    agreement: &AgreementId,
    id: &AmendmentId,
) -> Result<Option<Shown>, Error> {
    let Some(seq) = ledger.find(agreement, id)? else {
        return Ok(None);
    };
    let damaged = |detail: &str| Error::Damaged {
        seq: Some(seq),
        detail: detail.to_string(),
    };
    let value = ledger
        .store()
        .get(&keys::entry(seq))?
        .ok_or_else(|| damaged("indexed entry missing"))?;
    let stored = StoredEntry::split(&value).ok_or_else(|| damaged("entry value too short"))?;
    let (leaf, chain) = (chain::leaf(stored.bytes), stored.chain);
    let entry = ledger
        .entry(seq)?
        .ok_or_else(|| damaged("indexed entry missing"))?;
    let signers = Signers::before(ledger, agreement, seq)?.next(&entry);
    Ok(Some(Shown {
        entry,
        leaf,
        chain,
        retracted_by: retracted_by(ledger, agreement, id)?,
        signers,
    }))
}

/// Whether any amendment of these entries names `clause` (adds, amends or
/// repeals it).
pub fn names_clause(entries: &[Entry], clause: &str) -> bool {
    entries.iter().any(|e| {
        e.amendment
            .changes
            .iter()
            .any(|c| c.op.clause().is_some_and(|x| x.as_str() == clause))
    })
}

/// The clause named in these entries nearest to `clause` (a typo's likely
/// meaning): within an edit distance of a third of its length, at least 2.
pub fn near_clause(entries: &[Entry], clause: &str) -> Option<String> {
    let names = entries
        .iter()
        .flat_map(|e| e.amendment.changes.iter())
        .filter_map(|c| c.op.clause().map(|c| c.to_string()));
    nearest(clause, names)
}

/// The candidate nearest to `word` by edit distance, if near enough (a third
/// of the word's length, at least 2); ties go to the first in order.
pub fn nearest(word: &str, candidates: impl IntoIterator<Item = String>) -> Option<String> {
    let max = (word.chars().count() / 3).max(2);
    let mut best: Option<(usize, String)> = None;
    for c in candidates {
        let d = edit_distance(word, &c);
        if d <= max && best.as_ref().is_none_or(|(b, _)| d < *b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// Refuses a view `#N` beyond the ledger (it holds entries 0 … count − 1).
pub fn check_view<S: Store>(ledger: &Ledger<S>, known: KnownAt) -> Result<(), Error> {
    let count = ledger.head().count;
    match known {
        KnownAt::Seq(n) if n >= count => Err(Error::Usage(format!(
            "the view #{n} is beyond the ledger: it holds {count} entries, #0 … #{}",
            count.saturating_sub(1)
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_are_found_and_far_ones_are_not() {
        let names = || {
            ["cloud.exclusivity", "ip.rights", "revenue.share"]
                .map(String::from)
                .into_iter()
        };
        assert_eq!(
            nearest("cloud.exclusivty", names()).as_deref(),
            Some("cloud.exclusivity")
        );
        assert_eq!(nearest("ip.right", names()).as_deref(), Some("ip.rights"));
        assert_eq!(nearest("nope", names()), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
