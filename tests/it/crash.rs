//! Crash harness (`harness = false`): writers are killed with SIGKILL at
//! random moments, and after every kill the ledger is reopened and checked.
//!
//! Two kinds of writer, half of the kills each:
//!
//! - **library**: this binary re-executed as a child (`--pactum-crash-child`)
//!   opens the ledger with `SledStore` + `Ledger::open_or_create` and appends
//!   batches of 1–3 amendments one after another, printing `BEGIN i n` before
//!   each append and `ACK i n` once it returned Ok; a writer whose first
//!   amendment number is odd stages every amendment as a part of its own
//!   (`Ledger::set_stage_part_bytes(1)`), so kills also land in staged batches;
//! - **CLI**: the parent runs `pactum append BATCH.jsonl` processes one after
//!   another; an exit 0 acknowledges the batch.
//!
//! After each kill the parent reopens the ledger and checks that the audit
//! passes, that every acknowledged amendment is there (amendment i at seq i,
//! found by its id), that the in-flight batch is there entirely or not at all
//! (no partial entry, no partial batch), and that appending the in-flight
//! batch again (same ids, same content) records it exactly once: `appended`
//! if it had not landed, `existing` if it had, and `existing` the time after.
//! A new ledger is started every 10 kills, so kills also land while a ledger
//! is being created.
//!
//! `PACTUM_CRASH_KILLS=N` sets the number of kills (default 10 in the fast
//! tier; 100, 50 of each kind, about 30 s, with `PACTUM_TEST_LONG=1`); `PACTUM_CRASH_SEED=S` repeats a run. The longer run:
//! `PACTUM_CRASH_KILLS=1000 cargo test --release --test it crash`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::long_tier;
use crate::reliability::common::*;
use pactum::ledger::{AppendOptions, Outcome};
use pactum::model::Amendment;
use pactum::store::SledStore;
use pactum::Ledger;

const CHILD_ENV: &str = "PACTUM_CRASH_CHILD";
const DEFAULT_KILLS: u64 = 100;
/// Kills in the default (fast) tier.
const QUICK_KILLS: u64 = 10;
const KILLS_PER_LEDGER: u64 = 10;
const LIB_AGREEMENT: &str = "crash-lib";
const CLI_AGREEMENT: &str = "crash-cli";
const WAIT: Duration = Duration::from_secs(30);

/// The crash harness (see the module docs). In the default tier it kills
/// [`QUICK_KILLS`] writers; `PACTUM_TEST_LONG=1` (what `.ci/run` sets) or
/// `PACTUM_CRASH_KILLS=N` runs more.
#[test]
fn crash_kills() {
    let failures = parent();
    assert!(failures.is_empty(), "{}", failures);
}

/// The library writer's entry point: the harness starts this test binary as
/// `it crash::child_writer --exact --ignored --nocapture` with
/// `PACTUM_CRASH_CHILD="FOLDER START"`; without that variable it does nothing.
#[test]
#[ignore = "the crash harness's child writer, started by crash::crash_kills"]
fn child_writer() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let args: Vec<String> = spec.splitn(2, ' ').map(str::to_string).collect();
        child(&args);
    }
}

// ------------------------------------------------------------------ child

fn lib_batch(i: u64, n: u64) -> Vec<Amendment> {
    (i..i + n)
        .map(|k| parse(&numbered_json(LIB_AGREEMENT, k)))
        .collect()
}

/// The library writer: appends batches from amendment `start` on until killed.
fn child(args: &[String]) -> ! {
    fn fail(what: String) -> ! {
        println!("ERR {what}");
        let _ = std::io::stdout().flush();
        std::process::exit(3)
    }
    let mut i: u64 = args[0].parse().expect("start");
    let path = PathBuf::from(&args[1]);
    let store = SledStore::open(&path, WAIT).unwrap_or_else(|e| fail(format!("open: {e}")));
    let origin = || {
        let h = pactum::chain::leaf(format!("{:?}{}", now(), std::process::id()).as_bytes());
        let mut o = [0u8; 16];
        o.copy_from_slice(&h[..16]);
        o
    };
    let mut ledger = Ledger::open_or_create(store, origin)
        .unwrap_or_else(|e| fail(format!("open the ledger: {e}")));
    // Every other library writer stages each amendment of its batches as a
    // part of its own (under the undo journal), so that kills also land
    // while a batch is staged and is undone by the next open.
    if i % 2 == 1 {
        ledger.set_stage_part_bytes(1);
    }
    let mut out = std::io::stdout().lock();
    loop {
        let n = batch_len(i);
        let batch = lib_batch(i, n);
        let _ = writeln!(out, "BEGIN {i} {n}").and_then(|()| out.flush());
        match ledger.append(&batch, now(), AppendOptions::default()) {
            Ok(r)
                if r.outcomes
                    .iter()
                    .all(|o| matches!(o, Outcome::Appended { .. })) => {}
            Ok(r) => fail(format!("batch {i}+{n}: not all appended: {:?}", r.outcomes)),
            Err(e) => fail(format!("batch {i}+{n}: {e}")),
        }
        let _ = writeln!(out, "ACK {i} {n}").and_then(|()| out.flush());
        i += n;
    }
}

// ------------------------------------------------------------------ parent

#[derive(Default)]
struct Stats {
    kills: [u64; 2],
    acknowledged: [u64; 2],
    landed: u64,
    not_landed: u64,
    none_in_flight: u64,
    creation_kills: u64,
    empty_folders: u64,
    ledgers: u64,
    largest: u64,
    failures: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Library = 0,
    Cli = 1,
}

/// One ledger under test and what was acknowledged in it.
struct Track {
    dir: PathBuf,
    /// Amendments `0..acked` are acknowledged (amendment i is seq i).
    acked: u64,
    kills: u64,
}

fn agreement(mode: Mode) -> &'static str {
    match mode {
        Mode::Library => LIB_AGREEMENT,
        Mode::Cli => CLI_AGREEMENT,
    }
}

/// Runs the harness; the failures, one a line (empty: none).
fn parent() -> String {
    let kills: u64 = match std::env::var("PACTUM_CRASH_KILLS") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("PACTUM_CRASH_KILLS={s} is not a number")),
        Err(_) if long_tier() => DEFAULT_KILLS,
        Err(_) => QUICK_KILLS,
    };
    let seed = seed("PACTUM_CRASH_SEED");
    println!("crash: {kills} kills, seed {seed} (repeat with PACTUM_CRASH_SEED={seed})");
    let mut rng = Rng::new(seed);
    let root = tempfile::Builder::new()
        .prefix("pactum-crash-")
        .tempdir()
        .expect("temp dir");
    let started = Instant::now();
    let mut stats = Stats::default();
    let mut avg_cli = Avg::new(Duration::from_millis(40));
    let mut tracks: [Option<Track>; 2] = [None, None];
    for k in 0..kills {
        // Alternate: library, CLI, library, …
        let mode = if k % 2 == 0 { Mode::Library } else { Mode::Cli };
        let slot = &mut tracks[mode as usize];
        if slot.as_ref().is_none_or(|t| t.kills >= KILLS_PER_LEDGER) {
            if let Some(old) = slot.take() {
                let _ = std::fs::remove_dir_all(&old.dir);
            }
            stats.ledgers += 1;
            let dir = root
                .path()
                .join(format!("ledger-{}-{mode:?}", stats.ledgers));
            *slot = Some(Track {
                dir,
                acked: 0,
                kills: 0,
            });
        }
        let track = slot.as_mut().expect("track");
        let r = match mode {
            Mode::Library => lib_cycle(&mut rng, track, &mut stats),
            Mode::Cli => cli_cycle(&mut rng, track, &mut stats, &mut avg_cli),
        };
        track.kills += 1;
        stats.kills[mode as usize] += 1;
        if let Err(e) = r {
            let kept = root.path().join(format!("failed-{k}"));
            let _ = std::fs::rename(&track.dir, &kept);
            stats.failures.push(format!(
                "kill {k} ({mode:?}, ledger {}, {} acknowledged): {e}\n    ledger kept at {}",
                stats.ledgers,
                track.acked,
                kept.display()
            ));
            // Go on with a new ledger.
            track.kills = KILLS_PER_LEDGER;
        }
        if (k + 1) % 100 == 0 {
            println!(
                "crash: {} kills, {} failures, {:.0?}",
                k + 1,
                stats.failures.len(),
                started.elapsed()
            );
        }
    }
    let s = &stats;
    println!(
        "crash: kills: {} ({} library, {} CLI), acknowledged: {} amendments ({} library, {} CLI), \
         in-flight found landed: {}, not landed: {}, none in flight: {}; \
         kills before a ledger's first acknowledgement: {} (leaving a ledger folder without a ledger: {}); \
         ledgers: {}, largest: {} entries; {:.1?}",
        s.kills[0] + s.kills[1],
        s.kills[0],
        s.kills[1],
        s.acknowledged[0] + s.acknowledged[1],
        s.acknowledged[0],
        s.acknowledged[1],
        s.landed,
        s.not_landed,
        s.none_in_flight,
        s.creation_kills,
        s.empty_folders,
        s.ledgers,
        s.largest,
        started.elapsed()
    );
    if s.failures.is_empty() {
        String::new()
    } else {
        let kept = root.keep();
        format!(
            "{} of {} kills failed (seed {seed}; folders kept in {}):\n{}",
            s.failures.len(),
            kills,
            kept.display(),
            s.failures.join("\n")
        )
    }
}

/// A moving average of how long a CLI append takes, to aim the kills.
struct Avg(f64);

impl Avg {
    fn new(d: Duration) -> Avg {
        Avg(d.as_secs_f64())
    }
    fn add(&mut self, d: Duration) {
        self.0 = 0.8 * self.0 + 0.2 * d.as_secs_f64();
    }
    fn get(&self) -> Duration {
        Duration::from_secs_f64(self.0)
    }
}

fn uniform(rng: &mut Rng, from: Duration, to: Duration) -> Duration {
    let span = to.saturating_sub(from).as_micros().max(1) as u64;
    from + Duration::from_micros(rng.below(span))
}

/// Waits up to `delay` for the child; `Some(status)` if it ended by itself.
fn wait_up_to(child: &mut Child, delay: Duration) -> Result<Option<ExitStatus>, String> {
    let deadline = Instant::now() + delay;
    loop {
        if let Some(st) = child.try_wait().map_err(|e| format!("try_wait: {e}"))? {
            return Ok(Some(st));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        thread::sleep(left.min(Duration::from_micros(500)));
    }
}

/// SIGKILL; the status it ended with (it may have ended just before).
fn kill(child: &mut Child) -> Result<ExitStatus, String> {
    let _ = child.kill();
    child.wait().map_err(|e| format!("wait: {e}"))
}

fn killed(st: &ExitStatus) -> bool {
    st.signal() == Some(9)
}

fn lib_cycle(rng: &mut Rng, track: &mut Track, stats: &mut Stats) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let stderr_path = track.dir.with_extension("stderr");
    let stderr = std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args([
            "crash::child_writer",
            "--exact",
            "--ignored",
            "--nocapture",
            "--quiet",
        ])
        .env(
            CHILD_ENV,
            format!("{} {}", track.acked, track.dir.display()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("spawn the child: {e}"))?;
    let out = child.stdout.take().expect("stdout");
    let reader = thread::spawn(move || {
        BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    // A quarter of the kills early (opening, recovering, creating), the rest anywhere.
    let delay = if rng.below(4) == 0 {
        uniform(rng, Duration::ZERO, Duration::from_millis(40))
    } else {
        uniform(rng, Duration::from_millis(40), Duration::from_millis(400))
    };
    let early = wait_up_to(&mut child, delay)?;
    let status = match early {
        Some(st) => st,
        None => kill(&mut child)?,
    };
    let lines = reader.join().map_err(|_| "reader panicked".to_string())?;
    let child_err = || {
        format!(
            "\n    child stdout tail: {:?}\n    child stderr: {}",
            &lines[lines.len().saturating_sub(3)..],
            std::fs::read_to_string(&stderr_path)
                .unwrap_or_default()
                .trim()
        )
    };
    if !killed(&status) {
        return Err(format!(
            "the child ended by itself ({status}) before the kill{}",
            child_err()
        ));
    }
    let mut begun: Option<(u64, u64)> = None;
    let before = track.acked;
    // libtest's own lines ("running 1 test") around the child's.
    for l in lines
        .iter()
        .filter(|l| !l.is_empty() && !l.starts_with("running "))
    {
        let mut w = l.split(' ');
        let (tag, a, n) = (w.next(), w.next(), w.next());
        let nums = a
            .and_then(|a| a.parse::<u64>().ok())
            .zip(n.and_then(|n| n.parse::<u64>().ok()));
        match (tag, nums) {
            (Some("BEGIN"), Some((a, n))) if a == track.acked => begun = Some((a, n)),
            (Some("ACK"), Some((a, n))) if Some((a, n)) == begun => {
                track.acked = a + n;
                begun = None;
            }
            _ => {
                return Err(format!(
                    "unexpected line from the child: {l}{}",
                    child_err()
                ))
            }
        }
    }
    stats.acknowledged[Mode::Library as usize] += track.acked - before;
    let landed = check_after_kill(track, begun, Mode::Library, stats)?;
    if let (Some((a, n)), Some(landed)) = (begun, landed) {
        // Re-append the in-flight batch: recorded exactly once.
        let store = SledStore::open(&track.dir, WAIT).map_err(|e| format!("reopen: {e}"))?;
        let ledger = Ledger::open_or_create(store, || [0x5a; 16])
            .map_err(|e| format!("open the ledger to re-append: {e}"))?;
        let batch = lib_batch(a, n);
        for round in 0..2 {
            let r = ledger
                .append(&batch, now(), AppendOptions::default())
                .map_err(|e| format!("re-append of batch {a}+{n} (round {round}): {e}"))?;
            let want_existing = landed || round == 1;
            for (k, o) in r.outcomes.iter().enumerate() {
                let seq = a + k as u64;
                let ok = match o {
                    Outcome::Appended { seq: s, .. } => !want_existing && *s == seq,
                    Outcome::Existing { seq: s } => want_existing && *s == seq,
                };
                if !ok {
                    return Err(format!(
                        "re-append of batch {a}+{n} (landed: {landed}, round {round}): outcomes {:?}",
                        r.outcomes
                    ));
                }
            }
        }
        if ledger.head().count != a + n {
            return Err(format!(
                "after the re-append the ledger holds {} entries, not {}",
                ledger.head().count,
                a + n
            ));
        }
        audit(ledger.store())?;
        track.acked = a + n;
    }
    Ok(())
}

/// Reopens the ledger after a kill and checks it. Returns whether the
/// in-flight batch landed (`None` when there was none, or no ledger yet).
fn check_after_kill(
    track: &Track,
    begun: Option<(u64, u64)>,
    mode: Mode,
    stats: &mut Stats,
) -> Result<Option<bool>, String> {
    if track.acked == 0 {
        stats.creation_kills += 1;
    }
    if !track.dir.exists() {
        if track.acked > 0 {
            return Err("the ledger folder is gone".into());
        }
        none_or_count(begun, stats);
        return Ok(begun.map(|_| false));
    }
    let store = SledStore::open(&track.dir, WAIT)
        .map_err(|e| format!("reopen after the kill: sled: {e}"))?;
    let origin = pactum::layout::read_origin(&store).map_err(|e| format!("read origin: {e}"))?;
    if origin.is_none() {
        if track.acked > 0 {
            return Err(format!(
                "{} amendments were acknowledged, but the store holds no ledger",
                track.acked
            ));
        }
        // Killed while the ledger was being created: sled's files, no ledger.
        stats.empty_folders += 1;
        if !snapshot(&store).is_empty() {
            return Err("the store holds keys but no format key".into());
        }
        none_or_count(begun, stats);
        return Ok(begun.map(|_| false));
    }
    let ledger = Ledger::open(store).map_err(|e| format!("open the ledger after the kill: {e}"))?;
    let entries = audit(ledger.store())?;
    let head = ledger.head();
    stats.largest = stats.largest.max(head.count);
    if entries != head.count {
        return Err(format!(
            "the audit verified {entries} entries, the head says {}",
            head.count
        ));
    }
    let landed = match begun {
        None if head.count == track.acked => None,
        None => {
            return Err(format!(
                "{} entries, but {} amendments were acknowledged and none was in flight",
                head.count, track.acked
            ))
        }
        Some((a, n)) if head.count == a + n => Some(true),
        Some((a, _)) if head.count == a => Some(false),
        Some((a, n)) => {
            return Err(format!(
            "{} entries: neither the {a} acknowledged nor with the whole in-flight batch of {n}",
            head.count
        ))
        }
    };
    let ag = agreement(mode);
    for i in 0..head.count {
        let (agr, id) = numbered_key(ag, i);
        match ledger.find(&agr, &id) {
            Ok(Some(s)) if s == i => {}
            other => {
                return Err(format!(
                    "amendment {id} (acknowledged: {}) is not found at seq {i}: {other:?}",
                    i < track.acked
                ))
            }
        }
        let e = ledger
            .entry(i)
            .map_err(|e| format!("entry {i}: {e}"))?
            .ok_or_else(|| format!("entry {i} is missing"))?;
        if e.amendment.id != id {
            return Err(format!("seq {i} holds {}, not {id}", e.amendment.id));
        }
    }
    match landed {
        Some(true) => stats.landed += 1,
        Some(false) => stats.not_landed += 1,
        None => stats.none_in_flight += 1,
    }
    Ok(landed)
}

fn none_or_count(begun: Option<(u64, u64)>, stats: &mut Stats) {
    match begun {
        Some(_) => stats.not_landed += 1,
        None => stats.none_in_flight += 1,
    }
}

/// Writes the CLI's batch starting at amendment `a` as JSON Lines.
fn cli_batch_file(track: &Track, a: u64, n: u64) -> Result<PathBuf, String> {
    let dir = track.dir.with_extension("inputs");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("batch-{a}.jsonl"));
    let mut text = String::new();
    for k in a..a + n {
        text.push_str(&numbered_json(CLI_AGREEMENT, k));
        text.push('\n');
    }
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(path)
}

fn append_cmd(track: &Track, file: &Path) -> Command {
    let mut c = pactum(&track.dir);
    c.arg("--wait").arg("30").arg("append").arg(file);
    c
}

fn cli_cycle(
    rng: &mut Rng,
    track: &mut Track,
    stats: &mut Stats,
    avg: &mut Avg,
) -> Result<(), String> {
    let stderr_path = track.dir.with_extension("stderr");
    loop {
        let (a, n) = (track.acked, batch_len(track.acked));
        let file = cli_batch_file(track, a, n)?;
        let stderr = std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut child = append_cmd(track, &file)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("spawn pactum: {e}"))?;
        // Anywhere in the process's life (most end before the delay: about 2 in 5 are killed).
        let delay = uniform(rng, Duration::ZERO, avg.get().mul_f64(2.5));
        let status = match wait_up_to(&mut child, delay)? {
            Some(st) => st,
            None => kill(&mut child)?,
        };
        if status.success() {
            avg.add(started.elapsed());
            track.acked = a + n;
            stats.acknowledged[Mode::Cli as usize] += n;
            continue;
        }
        if !killed(&status) {
            return Err(format!(
                "pactum append of batch {a}+{n} failed ({status}): {}",
                std::fs::read_to_string(&stderr_path)
                    .unwrap_or_default()
                    .trim()
            ));
        }
        // Killed with batch a..a+n in flight.
        let landed = check_after_kill(track, Some((a, n)), Mode::Cli, stats)?.unwrap_or(false);
        // Re-append it through the CLI, twice: recorded exactly once.
        for round in 0..2 {
            let out = run({
                let mut c = append_cmd(track, &file);
                c.arg("--json");
                c
            });
            let err = text(&out.stderr);
            if out.status.code() != Some(0) {
                return Err(format!(
                    "re-append of the in-flight batch {a}+{n} (landed: {landed}, round {round}) exited {:?}: {}",
                    out.status.code(),
                    err.trim()
                ));
            }
            let v: serde_json::Value = serde_json::from_slice(&out.stdout)
                .map_err(|e| format!("append --json output: {e}"))?;
            let want = if landed || round == 1 {
                "existing"
            } else {
                "appended"
            };
            let statuses: Vec<&str> = v["amendments"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x["status"].as_str()).collect())
                .unwrap_or_default();
            if statuses.len() as u64 != n || statuses.iter().any(|s| *s != want) {
                return Err(format!(
                    "re-append of batch {a}+{n} (landed: {landed}, round {round}): statuses {statuses:?}, expected all {want}"
                ));
            }
        }
        let out = run({
            let mut c = pactum(&track.dir);
            c.arg("audit");
            c
        });
        if out.status.code() != Some(0) {
            return Err(format!(
                "pactum audit after the re-append exited {:?}: {}",
                out.status.code(),
                text(&out.stderr).trim()
            ));
        }
        track.acked = a + n;
        return Ok(());
    }
}
