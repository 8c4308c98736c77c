//! The `bote` binary: parse, run, map the outcome to an exit code.

use std::io::Write;
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
        // `bote … | head`: the reader had what it wanted; not an error.
        Err(err) if bote::cli::output::is_stdout_closed(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // Not eprintln!: it panics when stderr is a closed pipe too.
            let _ = writeln!(
                std::io::stderr(),
                "error: {}",
                bote::cli::output::describe_anyhow(&err)
            );
            bote::cli::exit_code_for(&err).into()
        }
    }
}
