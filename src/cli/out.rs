//! Output: a buffered standard output whose errors (a closed pipe) end the
//! command quietly, and small text helpers for 80-column terminals.

use std::cell::RefCell;
use std::io::{self, BufWriter, Write};

use super::Fail;

thread_local! {
    /// Where standard output goes while the server runs a command for a
    /// client (`--ledger http://…`): a buffer, not the server's stdout.
    static CAPTURE: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's standard output captured; returns its result and the bytes.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<u8>) {
    CAPTURE.with(|c| *c.borrow_mut() = Some(Vec::new()));
    let r = f();
    let bytes = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (r, bytes)
}

/// Whether this thread's output is captured.
pub fn capturing() -> bool {
    CAPTURE.with(|c| c.borrow().is_some())
}

/// Standard output, or the capture buffer.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let captured = CAPTURE.with(|c| match c.borrow_mut().as_mut() {
            Some(v) => {
                v.extend_from_slice(buf);
                true
            }
            None => false,
        });
        if captured {
            Ok(buf.len())
        } else {
            io::stdout().write(buf)
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        if capturing() {
            Ok(())
        } else {
            io::stdout().flush()
        }
    }
}

/// Buffered standard output.
pub struct Out(BufWriter<Stdout>);

impl Out {
    /// Standard output.
    pub fn new() -> Out {
        Out(BufWriter::new(Stdout))
    }

    /// Writes a line.
    pub fn line(&mut self, s: impl AsRef<str>) -> Result<(), Fail> {
        self.0.write_all(s.as_ref().as_bytes())?;
        self.0.write_all(b"\n")?;
        Ok(())
    }

    /// Writes text as it is.
    pub fn raw(&mut self, s: &str) -> Result<(), Fail> {
        self.0.write_all(s.as_bytes())?;
        Ok(())
    }

    /// Writes a pretty JSON document.
    pub fn json_pretty<T: serde::Serialize>(&mut self, v: &T) -> Result<(), Fail> {
        serde_json::to_writer_pretty(&mut self.0, v).map_err(io::Error::from)?;
        self.0.write_all(b"\n")?;
        Ok(())
    }

    /// Flushes.
    pub fn done(mut self) -> Result<(), Fail> {
        self.0.flush()?;
        Ok(())
    }
}

/// Wraps `text` to `width` columns, each line prefixed with `indent`.
pub fn wrap(text: &str, indent: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::from(indent);
        let mut empty = true;
        for word in para.split_whitespace() {
            let w = word.chars().count();
            if !empty && line.chars().count() + 1 + w > width {
                lines.push(std::mem::replace(&mut line, String::from(indent)));
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            line.push_str(word);
            empty = false;
        }
        lines.push(line);
    }
    lines
}

/// A hash shortened to 12 hex digits.
pub fn short_hash(h: &[u8; 32]) -> String {
    pactum::chain::hex(&h[..6])
}

/// What `log` and `history` print in place of the date of an amendment
/// without one: `(erratum)` for a retraction, `(rekey)` for a rekey.
pub(crate) fn undated(a: &pactum::model::Amendment) -> &'static str {
    if a.is_rekey() {
        "(rekey)"
    } else {
        "(erratum)"
    }
}
