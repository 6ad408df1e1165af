//! `loggate-bench`: what the gateway costs, measured side by side (issue #8).
//!
//! `cargo run --release --bin loggate-bench [-- --quick]` starts the four
//! provider simulators (in this process, on a runtime of their own), the
//! gateway (in a child process running what `loggate serve` runs, so its
//! CPU and memory are its own), and a load generator (bare kept-alive
//! HTTP/1 connections), then prints one Markdown table: overhead, fan-out,
//! depth, throughput with CPU use, and memory. Every ratio compares two
//! figures measured in the same run.

mod client;
mod latency;
mod load;
mod procs;
mod sims;
mod table;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use loggate::registry::Registry;
use loggate_core::UpstreamPaging;

use crate::procs::GatewayProcess;
use crate::sims::{DataSize, Provider, SimSet};
use crate::table::Report;

/// What the benchmark runs; `--quick` shrinks everything for a smoke run.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "loggate-bench",
    about = "Measures what the loggate gateway costs"
)]
pub struct Options {
    /// A short smoke run (small data, few requests, 2 s load): numbers are rough.
    #[arg(long)]
    quick: bool,
    /// Records per simulator for overhead, fan-out, throughput and memory.
    #[arg(long, default_value_t = 1_000)]
    records: usize,
    /// Sequential requests each (gateway and direct) for the overhead.
    #[arg(long, default_value_t = 2_000)]
    requests: usize,
    /// Requests each before measuring the overhead.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Upstream latency of every simulator for the fan-out.
    #[arg(long, default_value_t = 50)]
    fanout_latency_ms: u64,
    /// Rounds of the fan-out (each: gateway, each upstream alone, naive client).
    #[arg(long, default_value_t = 40)]
    fanout_requests: usize,
    /// Records per simulator for the depth section.
    #[arg(long, default_value_t = 50_000)]
    depth_records: usize,
    /// The deep page (followed by cursors at limit=100).
    #[arg(long, default_value_t = 500)]
    depth_pages: usize,
    /// Times page 1 and the deep page are each requested.
    #[arg(long, default_value_t = 10)]
    depth_reps: usize,
    /// Concurrent clients for the throughput.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds of each throughput run.
    #[arg(long, default_value_t = 10.0)]
    duration_secs: f64,
    /// Concurrent clients for the memory section.
    #[arg(long, default_value_t = 200)]
    memory_clients: usize,
    /// Requests each memory client sends, one after the other.
    #[arg(long, default_value_t = 3)]
    memory_rounds: usize,
    /// Worker threads of the load generator.
    #[arg(long, default_value_t = 1)]
    load_threads: usize,
    /// Run only these sections (comma list of 1-5; for profiling one).
    #[arg(long, value_delimiter = ',')]
    only: Vec<u8>,
}

impl Options {
    fn runs(&self, section: u8) -> bool {
        self.only.is_empty() || self.only.contains(&section)
    }

    fn apply_quick(&mut self) {
        if self.quick {
            self.records = 500;
            self.requests = 200;
            self.warmup = 20;
            self.fanout_requests = 5;
            self.depth_records = 5_000;
            self.depth_pages = 20;
            self.depth_reps = 3;
            self.duration_secs = 2.0;
            self.memory_rounds = 1;
        }
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    format!(
        "{} cores, {model}, {:.1} GiB memory",
        cores(),
        mem_kib as f64 / (1024.0 * 1024.0)
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("gateway-child") {
        let result = procs::run_gateway_child(args.get(2).map_or("", String::as_str));
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("gateway child: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut options = Options::parse();
    options.apply_quick();
    match run(&options) {
        Ok(report) => {
            print!("{}", report.render());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loggate-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The provider of the one-source runs (overhead, throughput): one
/// upstream request per page — the last registered provider whose
/// upstream pages (the registry's reference provider).
fn one_source() -> Provider {
    paging_kinds(UpstreamPaging::Paged)
        .last()
        .expect("a registered provider whose upstream pages")
}

/// The provider that answers every page with its whole log (no pagination
/// upstream): the costliest per page, and the one without a depth target.
fn whole_log() -> Provider {
    paging_kinds(UpstreamPaging::WholeLog)
        .next()
        .expect("a registered provider that sends its whole log")
}

fn paging_kinds(paging: UpstreamPaging) -> impl DoubleEndedIterator<Item = Provider> {
    let kinds: Vec<Provider> = Registry::builtin()
        .factories()
        .filter(|f| f.upstream_paging() == paging)
        .map(|f| f.kind())
        .collect();
    kinds.into_iter()
}

fn runtime(name: &'static str, threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime {name}: {e}"))
}

fn run(options: &Options) -> Result<Report, String> {
    let started = Instant::now();
    let sim_runtime = runtime("bench-sim", 2)?;
    let load_runtime = runtime("bench-load", options.load_threads)?;
    let mut report = Report::default();
    let day = 86_400_000;
    let progress = |what: &str| eprintln!("[{:>6.1} s] {what}", started.elapsed().as_secs_f64());

    progress("starting simulators and gateways");
    let small = DataSize {
        records: options.records,
        span_ms: 7 * day,
    };
    let sims = SimSet::start(&sim_runtime, &sims::all(), small);
    let one = GatewayProcess::start(&sims.gateway_toml(&[one_source()]))?;
    let four = GatewayProcess::start(&sims.gateway_toml(&sims::all()))?;

    if options.runs(1) {
        progress("1 overhead");
        load_runtime.block_on(latency::overhead(&sims, &one, options, &mut report))?;
    }
    if options.runs(2) {
        progress("2 fan-out");
        load_runtime.block_on(latency::fan_out(&sims, &four, options, &mut report))?;
    }
    if options.runs(4) {
        progress("4 throughput");
        load_runtime.block_on(load::throughput(&sims, &four, &one, options, &mut report))?;
    }
    drop((one, four));
    if options.runs(5) {
        progress("5 memory");
        let fresh = GatewayProcess::start(&sims.gateway_toml(&sims::all()))?;
        load_runtime.block_on(load::memory(&fresh, options, &mut report))?;
    }
    drop(sims);

    if options.runs(3) {
        progress("3 depth: generating data");
        let big = DataSize {
            records: options.depth_records,
            span_ms: 30 * day,
        };
        let sims = SimSet::start(&sim_runtime, &sims::all(), big);
        let gateway = GatewayProcess::start(&sims.gateway_toml(&sims::all()))?;
        progress("3 depth");
        load_runtime.block_on(latency::depth(&sims, &gateway, options, &mut report))?;
    }
    report.rows.sort_by_key(|r| r.section);
    report.note(format!(
        "machine: {}; date {}; {} records per simulator ({} for depth); simulators and load \
         generator in the bench process (CPU split by thread), the gateway in a child process \
         running what `loggate serve` runs; all on this one machine",
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        options.records,
        options.depth_records,
    ));
    progress("done");
    Ok(report)
}
