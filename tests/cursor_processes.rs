//! Cursors outlive the process (spec §3): a cursor from one `loggate serve`
//! process continues in a second process started with the same
//! `server.cursor_secret` — as replicas behind a load balancer serve one
//! client — and the traversal completes exactly once; a process with a
//! different secret answers `400 invalid_cursor`.

mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::fleet::{start_sims, Kind, Spec};
use common::{assert_same_ids, reference};
use loggate_core::{Filters, Order};
use serde_json::Value;

/// A `loggate serve` child process; killed when dropped.
struct Process {
    child: Child,
    base: String,
    _config: tempfile_path::TempPath,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A file removed when dropped (no tempfile dependency for one file).
mod tempfile_path {
    pub struct TempPath(pub std::path::PathBuf);
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// A port free a moment ago (the OS picks it; the child binds it).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind :0");
    listener.local_addr().expect("addr").port()
}

/// Starts `loggate serve` with `sources` (TOML) and `secret`; waits for
/// `/readyz`. Retries with another port on the rare collision.
async fn spawn(sources: &str, secret: &str, tag: &str) -> Process {
    let client = reqwest::Client::new();
    for attempt in 0..5 {
        let port = free_port();
        let path = std::env::temp_dir().join(format!(
            "loggate-cursor-{}-{tag}-{attempt}.toml",
            std::process::id()
        ));
        let toml = sources.replacen(
            "[server]\n",
            &format!("[server]\nlisten = \"127.0.0.1:{port}\"\ncursor_secret = \"{secret}\"\n"),
            1,
        );
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(toml.as_bytes()))
            .expect("config written");
        let config = tempfile_path::TempPath(path.clone());
        let child = Command::new(env!("CARGO_BIN_EXE_loggate"))
            .args(["serve", "--config"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("loggate starts");
        let mut process = Process {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _config: config,
        };
        // Bounded wait for readiness; a child that exits lost the port.
        for _ in 0..200 {
            if let Ok(Some(_)) = process.child.try_wait() {
                break;
            }
            if let Ok(r) = client.get(format!("{}/readyz", process.base)).send().await {
                if r.status().is_success() {
                    return process;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = process.child.kill();
    }
    panic!("loggate serve did not become ready");
}

async fn get(base: &str, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{base}{path}"))
        .await
        .expect("answers");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&bytes).expect("JSON body"))
}

fn ids(body: &Value) -> Vec<String> {
    body["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| l["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn a_cursor_continues_in_another_process_with_the_same_secret() {
    let now = loggate_core::time::now_ms();
    let specs: Vec<Spec> = Kind::each_provider()
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Spec::new(kind, 1 + i as u64, 60, 15))
        .collect();
    let names: Vec<String> = (0..specs.len()).map(|i| format!("s{i}")).collect();
    let (sims, _served, toml) = start_sims(&specs, &names, now, "", "").await;
    let data: Vec<_> = sims
        .iter()
        .map(|(name, _, sim)| (name.as_str(), sim.snapshot()))
        .collect();
    let expected = reference(&data, &Filters::default(), Order::Desc);

    let secret = "one-secret-shared-by-every-replica-0123456789";
    let a = spawn(&toml, secret, "a").await;
    let (status, first) = get(&a.base, "/logs?limit=9").await;
    assert_eq!(status, 200, "{first}");
    let mut got = ids(&first);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("more pages")
        .to_string();
    drop(a); // process A is gone

    let c = spawn(&toml, "another-secret-entirely-9876543210abcdef", "c").await;
    let (status, body) = get(&c.base, &format!("/logs?cursor={cursor}&limit=9")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_cursor", "{body}");
    drop(c);

    let b = spawn(&toml, secret, "b").await;
    let mut path = format!("/logs?cursor={cursor}&limit=9");
    for page in 0..100 {
        let (status, body) = get(&b.base, &path).await;
        assert_eq!(status, 200, "page {page} in process B: {body}");
        got.extend(ids(&body));
        match body["next_cursor"].as_str() {
            Some(next) => path = format!("/logs?cursor={next}&limit=9"),
            None => break,
        }
    }
    assert_same_ids(&got, &expected, "page 1 in process A, the rest in B");
}
