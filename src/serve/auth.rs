//! Write tokens: `pactum token new NAME --tokens FILE` and the server's check.
//!
//! The tokens file holds one line per token, `NAME SHA256-HEX-OF-TOKEN`
//! (blank lines and lines starting with `#` are skipped); the token itself is
//! printed once and never stored. A presented token is hashed and compared
//! with every line in constant time (`subtle`), so neither the time taken
//! nor an early exit tells how close a guess was.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::cli::{usage, Fail};

/// Longest token name, bytes.
pub const TOKEN_NAME_BYTES_MAX: usize = 64;
/// Most tokens in one file.
pub const TOKENS_MAX: usize = 10_000;
/// Largest tokens file, bytes.
pub const TOKENS_FILE_BYTES_MAX: u64 = 2 * 1024 * 1024;
/// Prefix of every token (so a leaked one is recognisable).
pub const TOKEN_PREFIX: &str = "pactum_";

/// `pactum token`.
#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Make a new write token: append `NAME SHA256` to the tokens file
    /// (created with mode 0600) and print the token once.
    New(NewArgs),
}

/// Arguments of `token new`.
#[derive(clap::Args, Debug)]
pub struct NewArgs {
    /// Who holds the token (letters, digits, `.`, `_`, `-`, `@`; at most 64 bytes).
    name: String,
    /// The tokens file that `pactum serve --tokens` reads.
    #[arg(long, value_name = "FILE")]
    tokens: PathBuf,
}

/// One accepted token: its holder and the SHA-256 of the token.
#[derive(Clone, Debug)]
pub struct Token {
    /// The holder's name.
    pub name: String,
    hash: [u8; 32],
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= TOKEN_NAME_BYTES_MAX
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Reads a tokens file; a bad line is refused naming the file and line.
pub fn load(path: &Path) -> Result<Vec<Token>, Fail> {
    let meta = std::fs::metadata(path).map_err(|e| {
        usage(format!(
            "{}: cannot read the tokens file: {e}",
            path.display()
        ))
    })?;
    if meta.len() > TOKENS_FILE_BYTES_MAX {
        return Err(usage(format!(
            "{}: the tokens file is over TOKENS_FILE_BYTES_MAX ({TOKENS_FILE_BYTES_MAX} bytes)",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        usage(format!(
            "{}: cannot read the tokens file: {e}",
            path.display()
        ))
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| usage(format!("{}:{}: {why}", path.display(), i + 1));
        let mut parts = line.split_whitespace();
        let (Some(name), Some(hex), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected `NAME SHA256-HEX`"));
        };
        if !valid_name(name) {
            return Err(bad(&format!("`{name}` is not a token name")));
        }
        let Some(hash) = unhex(&hex.to_ascii_lowercase()) else {
            return Err(bad("the hash is not 64 hex digits"));
        };
        if out.len() >= TOKENS_MAX {
            return Err(bad(&format!("more than TOKENS_MAX ({TOKENS_MAX}) tokens")));
        }
        out.push(Token {
            name: name.to_string(),
            hash,
        });
    }
    Ok(out)
}

/// The holder of `presented`, if it is one of `tokens`. Every line is
/// compared, in constant time each.
pub fn check<'a>(tokens: &'a [Token], presented: &str) -> Option<&'a str> {
    let h = sha256(presented.as_bytes());
    let mut found = None;
    for t in tokens {
        if bool::from(t.hash.ct_eq(&h)) {
            found = Some(t.name.as_str());
        }
    }
    found
}

fn random_bytes() -> Result<[u8; 32], Fail> {
    use std::io::Read;
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| usage(format!("cannot read /dev/urandom for a token: {e}")))?;
    Ok(b)
}

/// Runs `token new`.
pub fn run(cmd: &TokenCommand) -> Result<(), Fail> {
    let TokenCommand::New(a) = cmd;
    if !valid_name(&a.name) {
        return Err(usage(format!(
            "`{}` is not a token name: use letters, digits, `.`, `_`, `-`, `@` (at most {TOKEN_NAME_BYTES_MAX} bytes)",
            a.name
        )));
    }
    if a.tokens.exists() {
        let existing = load(&a.tokens)?;
        if existing.iter().any(|t| t.name == a.name) {
            return Err(usage(format!(
                "{}: a token named `{}` exists already; pick another name",
                a.tokens.display(),
                a.name
            )));
        }
    }
    let token = format!("{TOKEN_PREFIX}{}", pactum::chain::hex(&random_bytes()?));
    let line = format!(
        "{} {}\n",
        a.name,
        pactum::chain::hex(&sha256(token.as_bytes()))
    );
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&a.tokens)
        .map_err(|e| usage(format!("{}: cannot open: {e}", a.tokens.display())))?;
    f.write_all(line.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| usage(format!("{}: cannot write: {e}", a.tokens.display())))?;
    let mut out = crate::cli::Out::new();
    out.line(token)?;
    out.done()?;
    eprintln!(
        "pactum: token `{}` added to {}; it is shown only this once (send it as `Authorization: Bearer …`, or set PACTUM_TOKEN)",
        a.name,
        a.tokens.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_finds_the_holder_only_for_the_exact_token() {
        let tokens = vec![
            Token {
                name: "a".into(),
                hash: sha256(b"pactum_one"),
            },
            Token {
                name: "b".into(),
                hash: sha256(b"pactum_two"),
            },
        ];
        assert_eq!(check(&tokens, "pactum_two"), Some("b"));
        assert_eq!(check(&tokens, "pactum_one"), Some("a"));
        assert_eq!(check(&tokens, "pactum_tw"), None);
        assert_eq!(check(&tokens, ""), None);
        assert_eq!(check(&[], "pactum_one"), None);
    }

    #[test]
    fn names_and_hex() {
        assert!(valid_name("alice@example.com"));
        assert!(!valid_name("a b"));
        assert!(!valid_name(""));
        assert!(unhex(&"ab".repeat(32)).is_some());
        assert!(unhex(&"zz".repeat(32)).is_none());
        assert!(unhex("ab").is_none());
    }
}
