//! The `pactum` command: glue over the library (see `cli`).

mod cli;
mod serve;

fn main() {
    std::process::exit(cli::main());
}
