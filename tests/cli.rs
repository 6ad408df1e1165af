//! The binary: `check-config` reports every problem with its key path and
//! exits 1, never printing a secret; `key` prints a key and its digest.

mod common;

use std::process::Command;

use sha2::{Digest, Sha256};

fn loggate(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loggate"));
    command.args(args).env_remove("RUST_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_config(text: &str) -> tempfile_path::TempPath {
    tempfile_path::TempPath::with(text)
}

/// A tiny temporary-file helper (no dependency needed for one file).
mod tempfile_path {
    use std::path::PathBuf;

    pub struct TempPath(pub PathBuf);

    impl TempPath {
        pub fn with(text: &str) -> Self {
            let name = format!("loggate-test-{}-{}.toml", std::process::id(), rand_suffix());
            let path = std::env::temp_dir().join(name);
            std::fs::write(&path, text).expect("temp file");
            TempPath(path)
        }

        pub fn as_str(&self) -> &str {
            self.0.to_str().expect("utf-8 temp path")
        }
    }

    fn rand_suffix() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[test]
fn check_config_accepts_the_example() {
    let (code, stdout, stderr) = loggate(
        &["check-config", "--config", "config/loggate.example.toml"],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("ok: 4 source(s)"), "{stdout}");
    assert!(
        stdout.contains("cache: on, max_bytes 33554432, freshness_horizon 10m, settled_grid 5m (partial-range reuse)"),
        "{stdout}"
    );
}

#[test]
fn check_config_lists_every_problem_without_secrets() {
    let secret = "TOP-SECRET-TOKEN-VALUE";
    let kind = common::stand_in_kind();
    let file = write_config(&format!(
        "[server]\nrequest_timeout = \"later\"\n\n[sources.app]\nkind = \"{kind}\"\nbase_url = \"ftp://x\"\ntoken = \"{secret}\"\nextra = 1\n\n\
         [sources.Bad-Name]\nkind = \"nope\"\nbase_url = \"http://h\"\ntoken = \"t\"\n\n[sources.b]\nbase_url = \"http://h\"\n"
    ));
    let (code, stdout, stderr) = loggate(
        &["check-config", "--config", file.as_str()],
        &[("LOGGATE_SOURCES__B__TOKEN", secret)],
    );
    assert_eq!(code, 1);
    for expected in [
        "server.request_timeout:",
        "sources.app.base_url:",
        "sources.app.extra: unknown key",
        "sources.Bad-Name: source names",
        "sources.Bad-Name.kind: unknown kind",
        "sources.b.kind: required",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected} missing from:\n{stderr}"
        );
    }
    assert!(!stderr.contains(secret) && !stdout.contains(secret));
}

#[test]
fn serve_refuses_an_invalid_configuration_naming_the_key() {
    let file = write_config(&format!(
        "[sources.app]\nkind = \"{}\"\nbase_url = \"http://h\"\ntoken = \"t\"\ntimeout = \"-1s\"\n",
        common::stand_in_kind()
    ));
    let (code, _, stderr) = loggate(&["serve", "--config", file.as_str()], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("sources.app.timeout:"), "{stderr}");
}

#[test]
fn key_prints_a_key_and_its_sha256_line() {
    let (code, stdout, _) = loggate(&["key"], &[]);
    assert_eq!(code, 0);
    let key = stdout
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .expect("key line");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("sha256 = "))
        .expect("sha256 line");
    let hex: String = Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(line, format!("sha256 = \"{hex}\""));
    let (_, again, _) = loggate(&["key"], &[]);
    assert_ne!(stdout, again, "keys are random");
}

/// `healthcheck` names a bad `--url` and says why a probe failed (the
/// cause of a refused connection, not only "error sending request").
#[test]
fn healthcheck_names_a_bad_url_and_the_cause_of_a_failure() {
    for url in ["notaurl", "ftp://127.0.0.1/healthz", "http://"] {
        let (code, _, err) = loggate(&["healthcheck", "--url", url], &[]);
        assert_eq!(code, 1, "{url}");
        assert!(
            err.contains("--url: expected an http or https URL"),
            "{url}: {err}"
        );
    }
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let (code, _, err) = loggate(&["healthcheck", "--url", &url], &[]);
    assert_eq!(code, 1);
    assert!(err.to_lowercase().contains("connect"), "{err}");
    assert!(err.contains(": "), "{err}");
}

/// Every `[follow]` key (a field of `FollowConfig`, read from its `Debug`
/// form so that a new key is caught too) is documented in the example
/// configuration, which "documents every key", and in the README's table.
#[test]
fn the_example_and_the_readme_document_every_follow_key() {
    let debug = format!("{:?}", loggate::config::FollowConfig::default());
    let fields = debug
        .trim_start_matches("FollowConfig {")
        .trim_end_matches('}');
    let keys: Vec<&str> = fields
        .split(", ")
        .filter_map(|field| field.split_once(':').map(|(name, _)| name.trim()))
        .collect();
    assert!(keys.contains(&"max_groups"), "{debug}");
    let example = std::fs::read_to_string("config/loggate.example.toml").unwrap();
    let readme = std::fs::read_to_string("README.md").unwrap();
    for key in keys {
        assert!(
            example.contains(&format!("# {key} = ")),
            "config/loggate.example.toml does not document follow.{key}"
        );
        assert!(
            readme.contains(&format!("`follow.{key}`")),
            "README.md's configuration table does not list follow.{key}"
        );
    }
}

/// The environment of a running process (Linux `/proc`), as `NAME=value`.
fn environment_of(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|bytes| {
            bytes
                .split(|&b| b == 0)
                .map(|entry| String::from_utf8_lossy(entry).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The binary runs under mimalloc with the options that keep issue 13's
/// memory target (src/main.rs `allocator`): it re-executes itself with
/// them, and an option the user set keeps the user's value.
#[cfg(feature = "mimalloc")]
#[test]
fn serve_runs_with_mimallocs_options_and_keeps_the_users() {
    let file = write_config(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[sources.app]\nkind = \"{}\"\nbase_url = \"http://127.0.0.1:9\"\ntoken = \"t\"\n",
        common::stand_in_kind()
    ));
    for (user, expected) in [
        (
            None,
            ["MIMALLOC_ARENA_EAGER_COMMIT=0", "MIMALLOC_PURGE_DELAY=0"],
        ),
        (
            Some(("MIMALLOC_PURGE_DELAY", "250")),
            ["MIMALLOC_ARENA_EAGER_COMMIT=0", "MIMALLOC_PURGE_DELAY=250"],
        ),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_loggate"));
        command
            .args(["serve", "--config", file.as_str()])
            .env_remove("MIMALLOC_ARENA_EAGER_COMMIT")
            .env_remove("MIMALLOC_PURGE_DELAY")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some((name, value)) = user {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("loggate starts");
        // The re-execution replaces the process image under the same id;
        // wait (bounded) until the new image's environment is visible.
        let mut seen = Vec::new();
        for _ in 0..400 {
            seen = environment_of(child.id());
            if seen
                .iter()
                .any(|e| e.starts_with("MIMALLOC_ARENA_EAGER_COMMIT="))
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        for entry in expected {
            assert!(seen.iter().any(|e| e == entry), "{entry} not in {seen:?}");
        }
    }
}

/// `loggate demo | head -1`: the reader of stdout goes away before the
/// banner is written; the demo keeps serving (it used to panic on the
/// `EPIPE` of `println!` and exit 101 before answering anything).
#[test]
fn demo_keeps_serving_when_nobody_reads_its_stdout() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_loggate"))
        .args(["demo", "--static", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("loggate starts");
    drop(child.stdout.take()); // the reader is gone before the banner
    let healthz = || -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        Some(answer)
    };
    // Bounded: the demo starts its simulators, then answers (the banner
    // is written before the first connection is served).
    let mut outcome = None;
    for _ in 0..600 {
        if let Some(status) = child.try_wait().expect("waitable") {
            outcome = Some(Err(status));
            break;
        }
        if let Some(answer) = healthz() {
            outcome = Some(Ok(answer));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    match outcome {
        Some(Ok(answer)) => assert!(answer.starts_with("HTTP/1.1 200"), "{answer}"),
        Some(Err(status)) => panic!("the demo exited ({status}) instead of serving"),
        None => panic!("the demo neither answered nor exited within 30 s"),
    }
}
