//! Converts between the library's states and the reference model's, for the
//! property tests and the fuzz model target (both include this file). The
//! reference model itself stays free of library projection code.

use pactum::model::{AgreementId, AmendmentId, ClauseId, EventId, Party, PartyId, TermName};
use pactum::projection::{self, Clause, State, Status};

use super::reference::{RefClause, RefState};

pub fn to_ref(s: &State) -> RefState {
    RefState {
        status: s.status.as_str(),
        title: s.title.clone(),
        parties: s
            .parties
            .iter()
            .map(|p| (p.id.as_str().to_string(), p.name.clone()))
            .collect(),
        established: s.established,
        terminated: s.terminated,
        known_through: s.known_through,
        clauses: s
            .clauses
            .iter()
            .map(|c| RefClause {
                id: c.id.as_str().to_string(),
                heading: c.heading.clone(),
                text: c.text.clone(),
                terms: c
                    .terms
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                    .collect(),
                since: c.since,
                amendment: c.amendment.as_str().to_string(),
                until: c.until,
                until_event: c.until_event.as_ref().map(|e| e.as_str().to_string()),
            })
            .collect(),
    }
}

/// The digest the model's state should carry, through the library's digest
/// function (which only encodes and hashes what it is given).
pub fn model_digest(ag: &AgreementId, m: &RefState) -> [u8; 32] {
    let status = match m.status {
        "not-yet-in-force" => Status::NotYetInForce,
        "terminated" => Status::Terminated,
        _ => Status::InForce,
    };
    let parties: Vec<Party> = m
        .parties
        .iter()
        .map(|(id, name)| Party {
            id: PartyId::new(id.clone()).expect("party id"),
            name: name.clone(),
            key: None,
        })
        .collect();
    let clauses: Vec<Clause> = m
        .clauses
        .iter()
        .map(|c| Clause {
            id: ClauseId::new(c.id.clone()).expect("clause id"),
            heading: c.heading.clone(),
            text: c.text.clone(),
            terms: c
                .terms
                .iter()
                .map(|(k, v)| (TermName::new(k.clone()).expect("term"), v.clone()))
                .collect(),
            since: c.since,
            amendment: AmendmentId::new(c.amendment.clone()).expect("amendment id"),
            until: c.until,
            until_event: c
                .until_event
                .clone()
                .map(|e| EventId::new(e).expect("event")),
        })
        .collect();
    projection::digest(ag, status, &m.title, &parties, &clauses)
}
