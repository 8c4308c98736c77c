//! The `bote` binary: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = bote::cli::Cli::parse();
    bote::cli::init_logging(cli.verbose);
    match bote::cli::run(cli) {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            bote::cli::exit_code_for(&err).into()
        }
    }
}
