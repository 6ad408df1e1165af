use std::process::ExitCode;

use clap::Parser;
use loggate::cli::{init_tracing, run, Cli};

/// mimalloc returns freed pages to the OS soon after a burst of connections
/// closes, where glibc's malloc kept them (README "Connections, timeouts
/// and overload").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    run(cli).await
}
