//! The load sections: throughput of many kept-alive clients for a fixed
//! time, with each process's CPU use, and the gateway's peak memory under
//! many concurrent large pages.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::Conn;
use crate::procs::{thread_cpu_seconds, GatewayProcess};
use crate::sims::{NativeRequest, Provider, SimSet};
use crate::table::{mib, ratio, Report};
use crate::Options;

/// What `clients` closed-loop clients achieved in `duration`.
struct LoadResult {
    ok: u64,
    failed: u64,
    seconds: f64,
    /// CPU seconds used meanwhile by the gateway, the simulators, the load generator.
    cpu: [f64; 3],
}

/// Where the load goes: the gateway, or a simulator directly.
struct Target<'a> {
    addr: std::net::SocketAddr,
    path: &'a str,
    authorization: Option<&'a str>,
}

async fn closed_loop(
    gateway: &GatewayProcess,
    target: &Target<'_>,
    clients: usize,
    duration: Duration,
    sims: &SimSet,
) -> Result<LoadResult, String> {
    let mut conns = Vec::new();
    for _ in 0..clients {
        conns.push(Conn::connect(target.addr).await?);
    }
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let cpu_before = cpu_now(gateway);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for mut conn in conns {
        let (ok, failed) = (ok.clone(), failed.clone());
        let path = target.path.to_string();
        let authorization = target.authorization.map(str::to_string);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                match conn.get(&path, authorization.as_deref()).await {
                    Ok(answer) if answer.status == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    // The simulators log every request they see; keep that log short.
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        sims.forget_seen();
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_after = cpu_now(gateway);
    sims.forget_seen();
    Ok(LoadResult {
        ok: ok.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        seconds,
        cpu: [0, 1, 2].map(|i| cpu_after[i] - cpu_before[i]),
    })
}

/// CPU seconds so far of the gateway child, the simulator threads, and the
/// rest of this process (the load generator).
fn cpu_now(gateway: &GatewayProcess) -> [f64; 3] {
    let sims = thread_cpu_seconds("bench-sim");
    let whole = thread_cpu_seconds("");
    [gateway.cpu_seconds(), sims, whole - sims]
}

/// The native requests the gateways' adapters send for `path`: the
/// whole-log provider's (through `four`) and the one-source provider's
/// (through `one`).
async fn native_requests(
    sims: &SimSet,
    four: &GatewayProcess,
    one: &GatewayProcess,
    path: &str,
) -> Result<(NativeRequest, NativeRequest), String> {
    // The native page the one-source provider's adapter asks for, to load
    // its simulator directly: what one source costs without the gateway.
    let native = |provider: Provider, via: &GatewayProcess| {
        let sim = sims.get(provider);
        sims.forget_seen();
        let addr = via.addr;
        async move {
            Conn::connect(addr).await?.get_ok(path, None).await?;
            sim.faults
                .seen()
                .first()
                .map(|seen| NativeRequest::from_seen(sim, seen))
                .ok_or_else(|| format!("the gateway sent nothing to {}", provider))
        }
    };
    // The whole-log provider answers every page with its whole log: the
    // costliest of the four, whatever the page.
    let prompts = native(crate::whole_log(), four).await?;
    let native = native(crate::one_source(), one).await?;
    Ok((prompts, native))
}

/// 4. Requests per second at `options.clients` clients, `limit=50`.
pub async fn throughput(
    sims: &SimSet,
    four: &GatewayProcess,
    one: &GatewayProcess,
    options: &Options,
    report: &mut Report,
) -> Result<(), String> {
    let duration = Duration::from_secs_f64(options.duration_secs);
    let warm = Duration::from_secs_f64((options.duration_secs / 5.0).min(1.0));
    let path = "/logs?limit=50";
    let (prompts, native) = native_requests(sims, four, one, path).await?;
    let (whole, single) = (crate::whole_log(), crate::one_source());
    let whole_alone = format!("{whole} simulator alone, no gateway");
    let single_alone = format!("1 source: {single} simulator alone, no gateway");
    let single_through = format!("1 source ({single})");
    let runs = [
        (
            four,
            prompts.addr,
            prompts.path_and_query.as_str(),
            prompts.authorization.as_deref(),
            whole_alone.as_str(),
            None,
        ),
        (four, four.addr, path, None, "4 sources", Some(4_000.0)),
        (
            one,
            native.addr,
            native.path_and_query.as_str(),
            native.authorization.as_deref(),
            single_alone.as_str(),
            None,
        ),
        (
            one,
            one.addr,
            path,
            None,
            single_through.as_str(),
            Some(12_000.0),
        ),
    ];
    let mut alone_rps = f64::NAN;
    for (gateway, addr, path, authorization, label, target) in runs {
        let to = Target {
            addr,
            path,
            authorization,
        };
        closed_loop(gateway, &to, options.clients, warm, sims).await?;
        let r = closed_loop(gateway, &to, options.clients, duration, sims).await?;
        let through_gateway = addr == gateway.addr;
        if !through_gateway {
            alone_rps = r.ok as f64 / r.seconds;
        }
        let versus = match label {
            _ if !through_gateway => String::new(),
            l if l.starts_with("1 source") => {
                format!("{alone_rps:.0} req/s {single} simulator alone")
            }
            l if l.starts_with("4 sources") => {
                format!("{alone_rps:.0} req/s {whole} simulator alone")
            }
            _ => String::new(),
        };
        let row = ThroughputRow {
            label,
            through_gateway,
            versus,
            alone_rps,
            target,
        };
        report_throughput(report, &row, &r, options.clients);
    }
    Ok(())
}

/// What one throughput run is compared with.
struct ThroughputRow<'a> {
    label: &'a str,
    through_gateway: bool,
    /// The run it is compared with, if any.
    versus: String,
    /// Requests/s of the last run without the gateway.
    alone_rps: f64,
    /// The target in requests/s, if any.
    target: Option<f64>,
}

/// Section 4's two rows for one run: requests/s and CPU.
fn report_throughput(report: &mut Report, row: &ThroughputRow<'_>, r: &LoadResult, clients: usize) {
    let rps = r.ok as f64 / r.seconds;
    let label = row.label;
    let failed = if r.failed > 0 {
        format!(" ({} failed)", r.failed)
    } else {
        String::new()
    };
    report.row(
        "4 throughput",
        format!("{label}, {} clients, limit=50, {:.0} s", clients, r.seconds),
        format!("{rps:.0} req/s{failed}"),
        row.versus.clone(),
        if row.versus.is_empty() {
            String::new()
        } else {
            ratio(rps, row.alone_rps)
        },
        row.target
            .map_or(String::new(), |t| format!("≥ {t:.0} req/s")),
        row.target.map(|t| rps >= t && r.failed == 0),
    );
    let [gw, sim, load] = r.cpu.map(|c| c / r.seconds);
    let per_request = |cpu: f64| cpu * 1e6 / r.ok.max(1) as f64;
    report.row(
        "4 throughput",
        format!("{label}: CPU, cores busy (of {})", crate::cores()),
        if row.through_gateway {
            format!("gateway {gw:.2}")
        } else {
            String::new()
        },
        format!("simulators {sim:.2}, load generator {load:.2}"),
        if row.through_gateway {
            format!("{:.0} µs gateway CPU/req", per_request(r.cpu[0]))
        } else {
            format!("{:.0} µs simulator CPU/req", per_request(r.cpu[1]))
        },
        "",
        None,
    );
}

/// Section 5, peak RSS of a fresh gateway under `options.memory_clients`
/// concurrent requests at limit=1000 over four sources.
pub async fn memory(
    gateway: &GatewayProcess,
    options: &Options,
    report: &mut Report,
) -> Result<(), String> {
    let path = "/logs?limit=1000";
    // One request first: the baseline includes a warmed server and pools.
    Conn::connect(gateway.addr)
        .await?
        .get_ok(path, None)
        .await?;
    let (baseline, _) = gateway.memory();
    let mut conns = Vec::new();
    for _ in 0..options.memory_clients {
        conns.push(Conn::connect(gateway.addr).await?);
    }
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let rounds = options.memory_rounds;
    for mut conn in conns {
        let failed = failed.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..rounds {
                if conn.get_ok(path, None).await.is_err() {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())?;
    }
    let (after, peak) = gateway.memory();
    let failed = failed.load(Ordering::Relaxed);
    report.row(
        "5 memory",
        format!(
            "peak RSS, {} concurrent clients × {rounds} requests, limit=1000, 4 sources",
            options.memory_clients
        ),
        mib(peak),
        format!("{} before the load", mib(baseline)),
        format!("+{}", mib(peak.saturating_sub(baseline))),
        "< 64 MB",
        Some(peak < 64_000_000 && failed == 0),
    );
    if failed > 0 {
        report.note(format!("memory: {failed} requests failed"));
    }
    report.note(format!(
        "memory: RSS {} after the load (VmRSS / VmHWM of the gateway process)",
        mib(after)
    ));
    Ok(())
}
