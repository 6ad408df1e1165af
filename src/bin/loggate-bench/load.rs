//! The load sections: throughput of many kept-alive clients for a fixed
//! time, with each process's CPU use, and the gateway's peak memory under
//! many concurrent large pages.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::Conn;
use crate::procs::{thread_cpu_seconds, GatewayProcess};
use crate::sims::SimSet;
use crate::table::{mib, Report};
use crate::Options;

/// What `clients` closed-loop clients achieved in `duration`.
struct LoadResult {
    ok: u64,
    failed: u64,
    seconds: f64,
    /// CPU seconds used meanwhile by the gateway, the simulators, the load generator.
    cpu: [f64; 3],
}

async fn closed_loop(
    gateway: &GatewayProcess,
    path: &str,
    clients: usize,
    duration: Duration,
    sims: &SimSet,
) -> Result<LoadResult, String> {
    let mut conns = Vec::new();
    for _ in 0..clients {
        conns.push(Conn::connect(gateway.addr).await?);
    }
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let cpu_before = cpu_now(gateway);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for mut conn in conns {
        let (ok, failed, path) = (ok.clone(), failed.clone(), path.to_string());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                match conn.get(&path, None).await {
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
    for (gateway, label, target) in [
        (four, "4 sources", 4_000.0),
        (one, "1 source (leveled)", 12_000.0),
    ] {
        let path = "/logs?limit=50";
        closed_loop(gateway, path, options.clients, warm, sims).await?;
        let r = closed_loop(gateway, path, options.clients, duration, sims).await?;
        let rps = r.ok as f64 / r.seconds;
        report.row(
            "4 throughput",
            format!(
                "{label}, {} clients, limit=50, {:.0} s",
                options.clients, r.seconds
            ),
            format!("{rps:.0} req/s"),
            if r.failed > 0 {
                format!("{} failed", r.failed)
            } else {
                String::new()
            },
            "",
            format!("≥ {target:.0} req/s"),
            Some(rps >= target && r.failed == 0),
        );
        let [gw, sim, load] = r.cpu.map(|c| c / r.seconds);
        report.row(
            "4 throughput",
            format!("{label}: CPU, cores busy (of {})", crate::cores()),
            format!("gateway {gw:.2}"),
            format!("simulators {sim:.2}, load generator {load:.2}"),
            format!(
                "{:.0} µs gateway CPU/req",
                r.cpu[0] * 1e6 / r.ok.max(1) as f64
            ),
            "",
            None,
        );
    }
    Ok(())
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
