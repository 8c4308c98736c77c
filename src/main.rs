//! The `bote` binary: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

// sled and the dispatcher allocate per record and per request; mimalloc
// keeps that cheaper and the resident set smaller than the system allocator
// (BENCHMARKS.md, dispatcher).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    bote::disable_transparent_huge_pages();
    let cli = bote::cli::Cli::parse();
    // The TUI logs to a file in the store dir; never to the screen it draws on.
    if !bote::cli::is_tui(&cli) && !bote::cli::is_daemon(&cli) {
        bote::cli::init_logging(cli.verbose);
    }
    match bote::cli::run(cli) {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            bote::cli::exit_code_for(&err).into()
        }
    }
}
