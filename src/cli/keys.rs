//! `key generate`, `sign`, `cosign`, and reading keys given on the command line.

use std::io::Write;
use std::path::{Path, PathBuf};

use pactum::limits::{KEY_FILE_BYTES_MAX, NOTE_BYTES_MAX};
use pactum::note::{self, SignerKey, VerifierKey};
use pactum::proof::Proof;

use super::{now, usage, Fail, Out};

/// Arguments of `key`.
#[derive(clap::Args, Debug)]
pub struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(clap::Subcommand, Debug)]
enum KeyCommand {
    /// Make a new Ed25519 key: write the signer (private) key to a new file,
    /// readable by you only, and print its verifier (public) key.
    Generate(GenerateArgs),
}

/// Arguments of `key generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// The key's name: no spaces, no `+` (e.g. `legal.example.com`; to sign
    /// checkpoints, the ledger's origin line as `pactum checkpoint` prints it).
    name: String,
    /// The signer key file to create (never overwritten); default: NAME.key
    /// in this folder, with `/` and other unusual characters as `_`.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Arguments of `cosign`.
#[derive(clap::Args, Debug)]
pub struct CosignArgs {
    /// The checkpoint to cosign: a signed note as `pactum checkpoint --sign` prints it.
    checkpoint: PathBuf,
    /// Your signer key file (the witness's key).
    #[arg(long, value_name = "KEYFILE")]
    key: PathBuf,
    /// The log operator's verifier key, or a file holding it.
    #[arg(long, value_name = "VKEY")]
    log_key: String,
    /// Your state file: the last checkpoint you cosigned (created on first use;
    /// unchanged when the checkpoint is refused).
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// A consistency proof from the checkpoint in the state file to this one
    /// (`pactum prove --consistency OLD_N --size N`).
    #[arg(long, value_name = "PROOF")]
    proof: Option<PathBuf>,
}

/// Arguments of `sign`.
#[derive(clap::Args, Debug)]
pub struct SignArgs {
    /// Amendment files (TOML, JSON, JSON Lines): every amendment in them gets
    /// your signature line, in place; nothing else in the files changes.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Your signer key file.
    #[arg(long, value_name = "KEYFILE", required_unless_present = "note")]
    key: Option<PathBuf>,
    /// Print the note text each amendment's signers sign (for any other
    /// signing tool) instead of signing; notes are separated by a blank line.
    #[arg(long, conflicts_with = "key")]
    note: bool,
}

/// Reads a small text file whole, refusing one over `max` bytes.
pub fn read_small(path: &Path, max: usize, what: &str) -> Result<String, Fail> {
    let meta = std::fs::metadata(path)
        .map_err(|e| usage(format!("{}: cannot read: {e}", path.display())))?;
    if meta.len() > max as u64 {
        return Err(usage(format!(
            "{}: {} bytes, too large for {what} (at most {max})",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read_to_string(path)
        .map_err(|e| usage(format!("{}: cannot read: {e}", path.display())))
}

/// A signer key file.
pub fn read_signer(path: &Path) -> Result<SignerKey, Fail> {
    let text = read_small(path, KEY_FILE_BYTES_MAX, "a key file")?;
    text.trim()
        .parse()
        .map_err(|e| usage(format!("{}: {e}", path.display())))
}

/// A verifier key given on the command line, or the file holding one.
pub fn read_verifier(arg: &str) -> Result<VerifierKey, Fail> {
    let path = Path::new(arg);
    if arg.contains('+') && !path.exists() {
        return arg
            .parse()
            .map_err(|e| usage(format!("--key `{arg}`: {e}")));
    }
    let text = read_small(path, KEY_FILE_BYTES_MAX, "a key file").map_err(|_| {
        usage(format!(
            "--key `{arg}` is neither a verifier key nor a readable key file"
        ))
    })?;
    text.trim()
        .parse()
        .map_err(|e| usage(format!("{arg}: {e}")))
}

/// Every `--key`.
pub fn read_verifiers(args: &[String]) -> Result<Vec<VerifierKey>, Fail> {
    args.iter().map(|a| read_verifier(a)).collect()
}

fn default_key_file(name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!("{}.key", safe.trim_start_matches('.')))
}

/// Writes `text` to a new file (refusing an existing one) readable by its owner only.
fn write_new_private(path: &Path, text: &str) -> Result<(), Fail> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            usage(format!(
                "{} already exists: a key file is never overwritten (give -o NEW_FILE)",
                path.display()
            ))
        } else {
            usage(format!("{}: cannot create: {e}", path.display()))
        }
    })?;
    let written = f.write_all(text.as_bytes()).and_then(|()| f.sync_all());
    if let Err(e) = written {
        drop(f);
        let _ = std::fs::remove_file(path);
        return Err(usage(format!("{}: cannot write: {e}", path.display())));
    }
    Ok(())
}

/// `key`.
pub fn key(a: &KeyArgs) -> Result<(), Fail> {
    match &a.command {
        KeyCommand::Generate(g) => generate(g),
    }
}

fn generate(a: &GenerateArgs) -> Result<(), Fail> {
    let key = SignerKey::generate(&a.name).map_err(|e| usage(format!("NAME: {e}")))?;
    let path = a
        .output
        .clone()
        .unwrap_or_else(|| default_key_file(&a.name));
    write_new_private(&path, &format!("{key}\n"))?;
    eprintln!(
        "signer key written to {} (keep it secret); its verifier key:",
        path.display()
    );
    let mut out = Out::new();
    out.line(key.verifier().to_string())?;
    out.done()
}

fn read_amendment_file(path: &Path) -> Result<String, Fail> {
    let max = if path.extension().is_some_and(|e| e == "jsonl") {
        usize::try_from(pactum::limits::INPUT_FILE_BYTES_MAX).unwrap_or(usize::MAX)
    } else {
        pactum::limits::AMENDMENT_BYTES_MAX
    };
    read_small(path, max, "an amendment file")
}

/// `sign`.
pub fn sign(a: &SignArgs) -> Result<(), Fail> {
    if a.note {
        let mut out = Out::new();
        let mut first = true;
        for path in &a.files {
            let text = read_amendment_file(path)?;
            for note in pactum::signfile::notes(&path.display().to_string(), &text)? {
                if !first {
                    out.line("")?;
                }
                first = false;
                out.line(note.trim_end_matches('\n'))?;
            }
        }
        return out.done();
    }
    let Some(keyfile) = &a.key else {
        return Err(usage("give --key KEYFILE, or --note"));
    };
    let key = read_signer(keyfile)?;
    // Every file is signed in memory first: a refusal writes nothing.
    let mut signed = Vec::with_capacity(a.files.len());
    for path in &a.files {
        let text = read_amendment_file(path)?;
        let new = pactum::signfile::sign_text(&path.display().to_string(), &text, &key)?;
        signed.push((path, text, new));
    }
    for (path, old, new) in &signed {
        if old != new {
            write_atomically(path, new)?;
        }
        eprintln!(
            "{}: signed as {}+{:08x}{}",
            path.display(),
            key.name(),
            key.id(),
            if old == new { " (already signed)" } else { "" }
        );
    }
    Ok(())
}

/// `cosign`.
pub fn cosign(a: &CosignArgs) -> Result<(), Fail> {
    let checkpoint = read_small(&a.checkpoint, NOTE_BYTES_MAX, "a checkpoint")?;
    let witness = read_signer(&a.key)?;
    let log_key = read_verifier(&a.log_key)?;
    // One cosign at a time per state file: two at once could each accept
    // one side of a fork against the same old state.
    let _lock = StateLock::take(&a.state)?;
    let state = match std::fs::metadata(&a.state) {
        Ok(_) => Some(read_small(&a.state, NOTE_BYTES_MAX, "a state file")?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(usage(format!("{}: cannot read: {e}", a.state.display()))),
    };
    let proof = match &a.proof {
        None => None,
        Some(p) => {
            let text = read_small(p, NOTE_BYTES_MAX * 16, "a proof")?;
            match Proof::parse(&text).map_err(|e| usage(format!("{}: {e}", p.display())))? {
                Proof::Consistency(c) => Some(c),
                Proof::Inclusion(_) => {
                    return Err(usage(format!(
                        "{}: an inclusion proof; cosign needs a consistency proof",
                        p.display()
                    )))
                }
            }
        }
    };
    let time = u64::try_from(now()?.as_second())
        .map_err(|_| usage("the clock is before 1970: cannot date a cosignature"))?;
    let note = note::cosign(&note::CosignRequest {
        checkpoint: &checkpoint,
        log_key: &log_key,
        witness: &witness,
        state: state.as_deref(),
        proof: proof.as_ref(),
        time,
    })
    .map_err(|e| usage(format!("{}: {e}", a.checkpoint.display())))?;
    let text = note.to_string();
    write_atomically(&a.state, &text)?;
    let mut out = Out::new();
    out.line(text.trim_end_matches('\n'))?;
    out.done()?;
    eprintln!(
        "cosigned; the state file {} now holds this checkpoint; \
         others check the cosignature with --key {}",
        a.state.display(),
        witness.verifier().cosigner()
    );
    Ok(())
}

/// `STATE.lock`, created exclusively and removed when dropped.
struct StateLock(PathBuf);

impl StateLock {
    fn take(state: &Path) -> Result<StateLock, Fail> {
        let mut name = state.as_os_str().to_os_string();
        name.push(".lock");
        let path = PathBuf::from(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                let _ = writeln!(f, "{}", std::process::id());
                Ok(StateLock(path))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(usage(format!(
                "{} exists: another cosign is using this state file (remove it if none is running)",
                path.display()
            ))),
            Err(e) => Err(usage(format!("{}: cannot create: {e}", path.display()))),
        }
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Replaces `path` with `text` through a temporary file and a rename.
fn write_atomically(path: &Path, text: &str) -> Result<(), Fail> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        usage(format!("{}: cannot write: {e}", path.display()))
    })
}
