//! The `kms` binary: serves the key manager and talks to it.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
