//! Output: a buffered standard output whose errors (a closed pipe) end the
//! command quietly, and small text helpers for 80-column terminals.

use std::io::{self, BufWriter, Stdout, Write};

use super::Fail;

/// Buffered standard output.
pub struct Out(BufWriter<Stdout>);

impl Out {
    /// Standard output.
    pub fn new() -> Out {
        Out(BufWriter::new(io::stdout()))
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
