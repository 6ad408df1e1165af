use std::process::ExitCode;

use clap::Parser;
use loggate::cli::{init_tracing, run, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    run(cli).await
}
