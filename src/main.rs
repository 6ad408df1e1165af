use std::process::ExitCode;

use clap::Parser;
use loggate::cli::{run, Cli};
use loggate::logging::init_tracing;

/// With the `mimalloc` feature, mimalloc; else the system allocator, the
/// default: it keeps peak RSS under many concurrent large pages at about
/// half of mimalloc's for ~7 % more CPU per request (README "Benchmarks").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Dropped after `run`: every queued log line is written before exit.
    let _log = init_tracing(cli.log_format);
    run(cli).await
}
