//! The `pactum` command: glue over the library (see `cli`).

mod cli;
mod serve;

/// The `serve` fuzz target's check, which replays its seeds and regressions
/// here (`cargo test --bin pactum`): it needs the server's routes, which
/// live in this binary, not in the library.
#[cfg(test)]
#[path = "../fuzz/check_serve.rs"]
mod check_serve;

fn main() {
    std::process::exit(cli::main());
}
