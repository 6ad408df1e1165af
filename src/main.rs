use std::process::ExitCode;

use clap::Parser;
use loggate::cli::{run, Cli};
use loggate::logging::init_tracing;

/// mimalloc (the default feature), with the options of [`allocator`]; with
/// `--no-default-features`, the system allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    #[cfg(feature = "mimalloc")]
    allocator::configure();
    serve()
}

#[tokio::main]
async fn serve() -> ExitCode {
    let cli = Cli::parse();
    // Dropped after `run`: every queued log line is written before exit.
    let _log = init_tracing(cli.log_format);
    run(cli).await
}

/// mimalloc's options for loggate: freed memory goes back to the OS at
/// once, so issue 13's memory target (peak RSS under 200 concurrent
/// `limit=1000` pages over four sources < 64 MB) holds with mimalloc's CPU
/// advantage (README "Benchmarks", "Memory").
///
/// mimalloc's defaults keep freed pages for 1 s (`purge_delay`, ms) and
/// commit its arenas up front on Linux (`arena_eager_commit` 2): 76–81 MB
/// peak in that run, against 29 MB for glibc's malloc; with both 0, 29 MB.
///
/// mimalloc reads its options from the environment when the process is
/// loaded, before `main`, and reserves its first arena then, so they are
/// set the only way that reaches that arena: when either variable is
/// missing, the binary re-executes itself (same path, arguments and
/// process id) with it added. A variable already set (to any value) is
/// left as it is, so `MIMALLOC_PURGE_DELAY=1000 loggate …` keeps
/// mimalloc's default. (Setting them with `mi_option_set` from `main`
/// would need `unsafe` and missed the first arena: 54–57 MB.)
#[cfg(feature = "mimalloc")]
mod allocator {
    use std::ffi::OsString;

    /// (mimalloc's environment variable, loggate's value).
    pub const SETTINGS: [(&str, &str); 2] = [
        ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
        ("MIMALLOC_PURGE_DELAY", "0"),
    ];

    /// The settings the environment `get` lacks.
    pub fn missing(get: impl Fn(&str) -> Option<OsString>) -> Vec<(&'static str, &'static str)> {
        SETTINGS
            .into_iter()
            .filter(|(name, _)| get(name).is_none())
            .collect()
    }

    /// Re-executes the binary with the missing settings; returns only when
    /// none is missing or the re-execution failed (then mimalloc runs with
    /// its defaults: more memory held, nothing else changes).
    pub fn configure() {
        use std::os::unix::process::CommandExt;
        let missing = missing(|name| std::env::var_os(name));
        if missing.is_empty() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            command.arg0(arg0);
        }
        let error = command.args(args).envs(missing).exec();
        eprintln!("loggate: could not re-execute with mimalloc's options ({error}); running with its defaults");
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn only_the_settings_the_environment_lacks_are_added() {
            assert_eq!(missing(|_| None), SETTINGS.to_vec());
            assert_eq!(missing(|_| Some("1000".into())), vec![]);
            assert_eq!(
                missing(|name| (name == "MIMALLOC_PURGE_DELAY").then(|| "1000".into())),
                vec![("MIMALLOC_ARENA_EAGER_COMMIT", "0")]
            );
        }
    }
}
