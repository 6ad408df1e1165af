//! The gateway under test runs in a child process (this binary started
//! again with the hidden `gateway-child` role, which runs exactly what
//! `loggate serve` runs: `config::load`, `Application::build`, `run_until`),
//! so its CPU time and peak memory are its own. CPU and memory are read from
//! `/proc`.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

/// Clock ticks per second of `/proc/*/stat` times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// A running gateway child; stopped when dropped.
pub struct GatewayProcess {
    pub addr: SocketAddr,
    child: Child,
    /// Closing it tells the child to shut down.
    stdin: Option<ChildStdin>,
    config_path: PathBuf,
}

impl GatewayProcess {
    /// Writes `config_toml` to a temporary file and starts a gateway on it;
    /// returns once it listens.
    pub fn start(config_toml: &str) -> Result<GatewayProcess, String> {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let config_path =
            std::env::temp_dir().join(format!("loggate-bench-{}-{n}.toml", std::process::id()));
        std::fs::write(&config_path, config_toml)
            .map_err(|e| format!("write {}: {e}", config_path.display()))?;
        let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
        let mut child = Command::new(exe)
            .arg("gateway-child")
            .arg(&config_path)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("start gateway child: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("gateway child has no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("read gateway child: {e}"))?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("gateway child did not start (said {line:?})"))?;
        Ok(GatewayProcess {
            addr,
            child,
            stdin,
            config_path,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU seconds the gateway has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(&format!("/proc/{}/stat", self.pid())).unwrap_or(f64::NAN)
    }

    /// (current RSS, peak RSS) in bytes.
    pub fn memory(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        (
            status_kib(&status, "VmRSS:") * 1024,
            status_kib(&status, "VmHWM:") * 1024,
        )
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        // The child exits on stdin EOF; wait briefly, then make sure.
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_file(&self.config_path);
    }
}

/// The child's side: serve `config_path` until stdin closes.
pub fn run_gateway_child(config_path: &str) -> Result<(), String> {
    let _log = loggate::logging::init_tracing(loggate::cli::LogFormat::Text);
    let config = loggate::config::load(std::path::Path::new(config_path), std::env::vars())
        .map_err(|problems| format!("invalid configuration:\n{problems}"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let app = loggate::app::Application::build(&config)
            .await
            .map_err(|e| format!("listen: {e}"))?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening {}", app.local_addr()).map_err(|e| e.to_string())?;
        stdout.flush().map_err(|e| e.to_string())?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            let _ = stop.send(());
        });
        app.run_until(async move {
            let _ = stopped.await;
        })
        .await
        .map_err(|e| e.to_string())
    })
}

/// CPU seconds (user + system) of the threads of this process whose name
/// starts with `prefix`: the simulators and the load generator run on
/// runtimes with named threads, so their shares can be told apart.
pub fn thread_cpu_seconds(prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim_end().starts_with(prefix))
        })
        .filter_map(|task| cpu_seconds_of(&task.path().join("stat").to_string_lossy()))
        .sum()
}

fn cpu_seconds_of(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

fn status_kib(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
