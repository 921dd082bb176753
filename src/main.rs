//! The `pactum` command: glue over the library (see `cli`).

mod cli;

fn main() {
    std::process::exit(cli::main());
}
