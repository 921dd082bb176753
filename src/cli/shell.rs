//! `completions` and `man`: the command line described for shells and `man`,
//! generated from the same clap types as `--help`.

use clap::CommandFactory;

use super::{usage, Cli, Fail};

/// Arguments of `completions`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  pactum completions bash > ~/.local/share/bash-completion/completions/pactum\n  pactum completions zsh > ~/.zfunc/_pactum"
)]
pub struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

/// Arguments of `man`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  pactum man > pactum.1 && man ./pactum.1\n  pactum man append > pactum-append.1"
)]
pub struct ManArgs {
    /// A subcommand's own page (default: the page of `pactum`, which lists them all).
    command: Option<String>,
}

/// `completions`.
pub fn completions(a: &CompletionsArgs) -> Result<(), Fail> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "pactum", &mut buf);
    write_all(&buf)
}

/// `man`.
pub fn man(a: &ManArgs) -> Result<(), Fail> {
    let cmd = Cli::command();
    let page = match &a.command {
        None => cmd,
        Some(name) => {
            let sub = cmd.find_subcommand(name).ok_or_else(|| {
                usage(format!(
                    "`{name}` is not a pactum command (see `pactum --help`)"
                ))
            })?;
            sub.clone()
                .display_name(format!("pactum-{name}"))
                .bin_name(format!("pactum {name}"))
        }
    };
    let mut buf = Vec::new();
    clap_mangen::Man::new(page).render(&mut buf)?;
    write_all(&buf)
}

fn write_all(buf: &[u8]) -> Result<(), Fail> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(buf)?;
    out.flush()?;
    Ok(())
}
