//! The latency sections, one client at a time: overhead (gateway vs the
//! same native page called directly), fan-out (four slow upstreams vs the
//! slowest alone and vs a naive client), depth (page 1 vs a deep page).
//! Gateway and direct requests alternate within one loop so both see the
//! same noise.

use std::time::Duration;

use serde_json::Value;

use crate::client::{Conn, Samples};
use crate::procs::GatewayProcess;
use crate::sims::{naive_merge, NativeRequest, Provider, SimSet};
use crate::table::{ms, ratio, Report};
use crate::Options;

/// The native request(s) the gateway sent for `path`, one per provider.
async fn capture(
    sims: &SimSet,
    gateway: &mut Conn,
    path: &str,
    report: &mut Report,
) -> Result<Vec<NativeRequest>, String> {
    sims.forget_seen();
    gateway.get_ok(path, None).await?;
    let mut natives = Vec::new();
    for sim in &sims.sims {
        let seen = sim.faults.seen();
        match seen.first() {
            Some(first) => natives.push(NativeRequest::from_seen(sim, first)),
            None => continue,
        }
        if seen.len() > 1 {
            report.note(format!(
                "{} answered {path} with {} upstream requests; the direct client replays the first",
                sim.provider,
                seen.len()
            ));
        }
    }
    sims.forget_seen();
    Ok(natives)
}

/// 1. One source of the one-source provider, upstream latency 0.
pub async fn overhead(
    sims: &SimSet,
    gateway: &GatewayProcess,
    options: &Options,
    report: &mut Report,
) -> Result<(), String> {
    let path = "/logs?limit=50";
    let mut gw = Conn::connect(gateway.addr).await?;
    let natives = capture(sims, &mut gw, path, report).await?;
    let native = natives.first().ok_or("the gateway sent nothing upstream")?;
    let mut direct = Conn::connect(native.addr).await?;
    let auth = native.authorization.as_deref();
    let (mut through, mut alone) = (Samples::default(), Samples::default());
    for i in 0..options.warmup + options.requests {
        // Alternate which goes first, so neither always follows the other.
        let (g, d) = if i % 2 == 0 {
            let g = gw.get_ok(path, None).await?.0;
            (g, direct.get_ok(&native.path_and_query, auth).await?.0)
        } else {
            let d = direct.get_ok(&native.path_and_query, auth).await?.0;
            (gw.get_ok(path, None).await?.0, d)
        };
        if i >= options.warmup {
            through.push(g);
            alone.push(d);
        }
        if i % 500 == 499 {
            sims.forget_seen();
        }
    }
    let added = through.p50() - alone.p50();
    let section = "1 overhead";
    report.row(
        section,
        format!("p50, 1 client, {} sequential requests", through.len()),
        ms(through.p50()),
        format!("{} direct", ms(alone.p50())),
        ratio(through.p50(), alone.p50()),
        "",
        None,
    );
    report.row(
        section,
        "p99",
        ms(through.p99()),
        format!("{} direct", ms(alone.p99())),
        ratio(through.p99(), alone.p99()),
        "",
        None,
    );
    report.row(
        section,
        "added p50 (loggate − direct)",
        ms(added),
        "",
        "",
        "< 0.25 ms",
        Some(added < 0.25),
    );
    report.note(format!(
        "overhead: direct = `GET {}` (the page the {} adapter asks for, replayed with its bearer header)",
        native.path_and_query,
        crate::one_source()
    ));
    sims.forget_seen();
    Ok(())
}

/// 2. Four sources, each `options.fanout_latency_ms` upstream.
pub async fn fan_out(
    sims: &SimSet,
    gateway: &GatewayProcess,
    options: &Options,
    report: &mut Report,
) -> Result<(), String> {
    sims.set_latency(Duration::from_millis(options.fanout_latency_ms));
    let path = "/logs?limit=50";
    let mut gw = Conn::connect(gateway.addr).await?;
    let natives = capture(sims, &mut gw, path, report).await?;
    let rounds = fan_out_rounds(sims, &mut gw, &natives, path, options.fanout_requests).await?;
    sims.set_latency(Duration::ZERO);
    sims.forget_seen();
    report_fan_out(&natives, &rounds, options, report)
}

/// The latencies of the fan-out rounds (two warm-up rounds left out).
struct FanOutRounds {
    /// Through the gateway.
    through: Samples,
    /// Each upstream's native request alone, in `natives` order.
    alone: Vec<Samples>,
    /// A naive client: every upstream in turn, then a merge.
    naive: Samples,
    /// The gateway's last page.
    last_page: hyper::body::Bytes,
}

async fn fan_out_rounds(
    sims: &SimSet,
    gw: &mut Conn,
    natives: &[NativeRequest],
    path: &str,
    requests: usize,
) -> Result<FanOutRounds, String> {
    let mut conns = Vec::new();
    for native in natives {
        conns.push(Conn::connect(native.addr).await?);
    }
    let mut through = Samples::default();
    let mut alone = vec![Samples::default(); natives.len()];
    let mut naive = Samples::default();
    let mut last_page = hyper::body::Bytes::new();
    for i in 0..requests + 2 {
        let warm = i < 2;
        let (took, body) = gw.get_ok(path, None).await?;
        last_page = body;
        if !warm {
            through.push(took);
        }
        for (k, native) in natives.iter().enumerate() {
            let auth = native.authorization.as_deref();
            let took = conns[k].get_ok(&native.path_and_query, auth).await?.0;
            if !warm {
                alone[k].push(took);
            }
        }
        let started = std::time::Instant::now();
        let mut answers = Vec::new();
        for (k, native) in natives.iter().enumerate() {
            let auth = native.authorization.as_deref();
            let body = conns[k].get_ok(&native.path_and_query, auth).await?.1;
            answers.push((native.provider, body));
        }
        naive_merge(sims, &answers, 50);
        if !warm {
            naive.push(started.elapsed());
        }
    }
    Ok(FanOutRounds {
        through,
        alone,
        naive,
        last_page,
    })
}

fn report_fan_out(
    natives: &[NativeRequest],
    rounds: &FanOutRounds,
    options: &Options,
    report: &mut Report,
) -> Result<(), String> {
    let FanOutRounds {
        through,
        alone,
        naive,
        last_page,
    } = rounds;
    let (slowest, slowest_p50) = natives
        .iter()
        .zip(alone)
        .map(|(n, s)| (n.provider, s.p50()))
        .fold(("", f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
    let section = "2 fan-out";
    let r = through.p50() / slowest_p50;
    report.row(
        section,
        format!(
            "p50, 4 sources at {} ms, vs slowest upstream alone",
            options.fanout_latency_ms
        ),
        ms(through.p50()),
        format!("{} {slowest}", ms(slowest_p50)),
        ratio(through.p50(), slowest_p50),
        "≤ 1.05×",
        Some(r <= 1.05),
    );
    report.row(
        section,
        "p50 vs naive client (4 APIs in turn, merge)",
        ms(through.p50()),
        format!("{} naive", ms(naive.p50())),
        format!("naive {}", ratio(naive.p50(), slowest_p50)),
        "naive ≈ 4× slowest",
        None,
    );
    let each: Vec<String> = natives
        .iter()
        .zip(alone)
        .map(|(n, s)| format!("{} {}", n.provider, ms(s.p50())))
        .collect();
    let page: Value = serde_json::from_slice(last_page).map_err(|e| e.to_string())?;
    let inside: Vec<String> = page["sources"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| {
            format!(
                "{name} {} ms in {} request(s)",
                s["latency_ms"], s["upstream_requests"]
            )
        })
        .collect();
    report.note(format!(
        "fan-out: {} rounds; each upstream alone, p50: {}; the gateway's last page reported {}",
        through.len(),
        each.join(", "),
        inside.join(", ")
    ));
    Ok(())
}

/// What one gateway page reported about one source.
struct PageCost {
    took: Duration,
    scanned: u64,
    upstream_requests: u64,
}

async fn page(gw: &mut Conn, path: &str, source: &str) -> Result<(PageCost, Value), String> {
    let (took, body) = gw.get_ok(path, None).await?;
    let body: Value = serde_json::from_slice(&body).map_err(|e| format!("{path}: {e}"))?;
    let report = &body["sources"][source];
    let cost = PageCost {
        took,
        scanned: report["scanned"].as_u64().unwrap_or(0),
        upstream_requests: report["upstream_requests"].as_u64().unwrap_or(0),
    };
    Ok((cost, body))
}

/// 3. Page 1 vs page `options.depth_pages` of each provider, limit 100.
pub async fn depth(
    sims: &SimSet,
    gateway: &GatewayProcess,
    options: &Options,
    report: &mut Report,
) -> Result<(), String> {
    let mut gw = Conn::connect(gateway.addr).await?;
    for provider in crate::sims::all() {
        depth_of(sims, &mut gw, provider, options, report).await?;
    }
    Ok(())
}

/// Where a walk through a source's pages ended.
struct Walk {
    /// Page number reached (1 = the first).
    reached: usize,
    /// The path of that page and of the one before it.
    path: String,
    before: String,
    took: Duration,
}

/// Follows `next_cursor` from `first` to page `deep` or the last page.
async fn walk(
    sims: &SimSet,
    gw: &mut Conn,
    first: &str,
    deep: usize,
    source: &str,
) -> Result<Walk, String> {
    let mut path = first.to_string();
    let mut before = first.to_string();
    let started = std::time::Instant::now();
    let mut reached = 1;
    while reached < deep {
        let (_, body) = page(gw, &path, source).await?;
        let Some(cursor) = body["next_cursor"].as_str() else {
            break;
        };
        before = std::mem::replace(&mut path, format!("/logs?cursor={cursor}&limit=100"));
        reached += 1;
        if reached % 100 == 0 {
            sims.forget_seen();
        }
    }
    Ok(Walk {
        reached,
        path,
        before,
        took: started.elapsed(),
    })
}

/// Section 3 for one provider.
async fn depth_of(
    sims: &SimSet,
    gw: &mut Conn,
    provider: Provider,
    options: &Options,
    report: &mut Report,
) -> Result<(), String> {
    let source = provider;
    let first = format!("/logs?source={source}&limit=100");
    let Walk {
        reached,
        path,
        before,
        took: walked,
    } = walk(sims, gw, &first, options.depth_pages, source).await?;
    // The deepest page may be the last and read only what remains (500
    // pages of 100 are all of 50,000 records): the page before it, a
    // full page with a successor, is measured too.
    let (_, probe) = page(gw, &path, source).await?;
    let last = probe["next_cursor"].is_null();
    let mut deep_pages = vec![(reached, path)];
    if reached > 2 {
        deep_pages.insert(0, (reached - 1, before));
    }
    let mut shallow_t = Samples::default();
    let mut deep_t = vec![Samples::default(); deep_pages.len()];
    let mut shallow = None;
    let mut deep_cost: Vec<Option<PageCost>> = deep_pages.iter().map(|_| None).collect();
    for _ in 0..options.depth_reps {
        let (cost, _) = page(gw, &first, source).await?;
        shallow_t.push(cost.took);
        shallow = Some(cost);
        for (k, (_, deep_path)) in deep_pages.iter().enumerate() {
            let (cost, _) = page(gw, deep_path, source).await?;
            deep_t[k].push(cost.took);
            deep_cost[k] = Some(cost);
        }
    }
    sims.forget_seen();
    let Some(shallow) = shallow else {
        return Err("depth needs at least one repetition".into());
    };
    for (k, (number, _)) in deep_pages.iter().enumerate() {
        if let Some(cost) = &deep_cost[k] {
            let page = DeepPage {
                number: *number,
                is_last: last && *number == reached,
                times: &deep_t[k],
                cost,
            };
            report_depth(report, provider, &page, &shallow_t, &shallow);
        }
    }
    report.note(format!(
        "depth {}: walking to page {reached} took {:.1} s ({} per page){}",
        provider,
        walked.as_secs_f64(),
        ms(walked.as_secs_f64() * 1000.0 / reached.max(1) as f64),
        if last {
            "; it is the last page (no next_cursor), so it reads only what remains"
        } else {
            ""
        }
    ));
    Ok(())
}

/// One deep page's measurements.
struct DeepPage<'a> {
    number: usize,
    is_last: bool,
    times: &'a Samples,
    cost: &'a PageCost,
}

/// Section 3's two rows for one deep page against page 1.
fn report_depth(
    report: &mut Report,
    provider: Provider,
    deep: &DeepPage<'_>,
    shallow_t: &Samples,
    shallow: &PageCost,
) {
    let section = "3 depth";
    let number = deep.number;
    let r = deep.times.p50() / shallow_t.p50();
    let (target, met) = if provider == crate::whole_log() {
        ("none: no pagination upstream", None)
    } else {
        ("≤ 1.2×", Some(r <= 1.2))
    };
    report.row(
        section,
        format!(
            "{} p50, page {number}{} vs page 1",
            provider,
            if deep.is_last { " (last)" } else { "" }
        ),
        ms(deep.times.p50()),
        ms(shallow_t.p50()),
        ratio(deep.times.p50(), shallow_t.p50()),
        target,
        met,
    );
    report.row(
        section,
        format!(
            "{} upstream records scanned (requests), page {number}",
            provider
        ),
        format!("{} ({})", deep.cost.scanned, deep.cost.upstream_requests),
        format!("{} ({})", shallow.scanned, shallow.upstream_requests),
        ratio(deep.cost.scanned as f64, shallow.scanned.max(1) as f64),
        "",
        None,
    );
}
