//! deploy/ agrees with the code: the ConfigMap's loggate.toml is a valid
//! configuration once the Deployment's environment (every name a real
//! `LOGGATE_` key, every secret from `loggate-secrets`) is layered on it;
//! the probes, ports and metrics path answer on a gateway built from it;
//! the Dockerfile's binary path, port, command and health check, and the
//! compose file's command, match the CLI; `loggate healthcheck` works.
//!
//! The manifests are read line by line (the checks need a few keys, not a
//! YAML library); `.ci/run` validates them against the Kubernetes schemas.

mod common;

use std::path::Path;
use std::process::Command;

use clap::Parser;
use loggate::cli::{Cli, Command as Sub};
use loggate::config;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Values of `key: value` lines (any indentation, `- ` allowed), unquoted.
fn values(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim().trim_start_matches("- "))
        .filter_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().trim_matches('"').to_string())
        .collect()
}

fn one(text: &str, key: &str) -> String {
    let all = values(text, key);
    assert_eq!(all.len(), 1, "{key}: {all:?}");
    all[0].clone()
}

/// The text of the block under the line `key:` (more indented lines).
fn block(text: &str, key: &str) -> String {
    let mut lines = text.lines().skip_while(|l| l.trim() != format!("{key}:"));
    let head = lines.next().unwrap_or_else(|| panic!("no {key}: block"));
    let indent = head.len() - head.trim_start().len();
    lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
        .collect::<Vec<_>>()
        .join("\n")
}

fn configmap_toml() -> String {
    let text = read("deploy/k8s/configmap.yaml");
    let mut lines = text.lines().skip_while(|l| l.trim() != "loggate.toml: |");
    lines.next().expect("loggate.toml in the ConfigMap");
    lines
        .map(|l| l.strip_prefix("    ").unwrap_or(l.trim()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The Deployment's env: `(name, Some(secret key) | None for a literal)`.
fn deployment_env() -> Vec<(String, Option<String>)> {
    let text = read("deploy/k8s/deployment.yaml");
    let env = block(&text, "env");
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let mut lines = env.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("- name: ") {
            out.push((name.to_string(), None));
        } else if line == "secretKeyRef:" {
            let secret = lines.next().unwrap().trim().to_string();
            assert_eq!(secret, "name: loggate-secrets", "one Secret for everything");
            let key = lines.next().unwrap().trim().strip_prefix("key: ").unwrap();
            out.last_mut().unwrap().1 = Some(key.to_string());
        }
    }
    out
}

fn dummy_env() -> Vec<(String, String)> {
    deployment_env()
        .into_iter()
        .filter(|(_, secret)| secret.is_some())
        .map(|(name, _)| (name, "dummy-secret-value-0123456789".to_string()))
        .collect()
}

#[test]
fn the_configmap_and_the_deployment_env_make_a_valid_configuration() {
    let env = deployment_env();
    for (name, _) in &env {
        assert!(
            name.starts_with("LOGGATE_") || name == "RUST_LOG",
            "{name}: not a loggate variable"
        );
    }
    let toml = configmap_toml();
    // Without the Secret the file alone lacks exactly the tokens.
    let problems = config::load_str(&toml, Vec::new()).expect_err("tokens are missing");
    for problem in problems.to_string().lines() {
        let key = problem.split(':').next().unwrap();
        let var = format!("LOGGATE_{}", key.to_ascii_uppercase().replace('.', "__"));
        assert!(key.ends_with(".token"), "{problem}");
        assert!(env.iter().any(|(n, s)| *n == var && s.is_some()), "{var}");
    }
    // Without the cursor secret, replicas would not share cursors.
    let no_cursor_secret: Vec<_> = dummy_env()
        .into_iter()
        .filter(|(n, _)| n != "LOGGATE_SERVER__CURSOR_SECRET")
        .collect();
    let bare = config::load_str(&toml, no_cursor_secret).unwrap();
    assert!(bare.server.cursor_secret.is_none());
    let config = config::load_str(&toml, dummy_env())
        .unwrap_or_else(|e| panic!("ConfigMap + Deployment env invalid:\n{e}"));
    assert!(config.server.cursor_secret.is_some());
    // Every secret variable lands on a real key: each source gets its token.
    for (name, source) in &config.sources {
        let var = format!("LOGGATE_SOURCES__{}__TOKEN", name.to_ascii_uppercase());
        assert!(
            env.iter().any(|(n, _)| *n == var),
            "no {var} in the Deployment"
        );
        let secrets = source.provider.secrets();
        assert!(
            secrets
                .iter()
                .any(|s| secrecy::ExposeSecret::expose_secret(s) == "dummy-secret-value-0123456789"),
            "{name}: token not set by {var}"
        );
    }
    let secret_vars = env.iter().filter(|(_, s)| s.is_some()).count();
    assert_eq!(secret_vars, config.sources.len() + 1, "{env:?}");
    // The log format variable is the CLI's.
    let format = env.iter().any(|(n, _)| n == "LOGGATE_LOG_FORMAT");
    assert!(format && Cli::try_parse_from(["loggate", "key"]).is_ok());
    // The port: the listen address, the container port, the Service.
    let deployment = read("deploy/k8s/deployment.yaml");
    let port = config.server.listen.port();
    assert_eq!(one(&deployment, "containerPort"), port.to_string());
    assert_eq!(config.server.listen.ip().to_string(), "0.0.0.0");
    assert_eq!(
        values(&deployment, "prometheus.io/port"),
        [port.to_string()]
    );
    let service = read("deploy/k8s/service.yaml");
    assert_eq!(one(&service, "port"), port.to_string());
    assert_eq!(one(&service, "targetPort"), "http");
    assert!(values(&deployment, "name").contains(&"http".to_string()));
    // The Secret keys are the ones the create command documents.
    for (_, key) in env.iter().filter_map(|(n, k)| k.as_ref().map(|k| (n, k))) {
        assert!(
            deployment.contains(&format!("--from-literal={key}=")),
            "{key}: not in the documented kubectl create secret command"
        );
    }
}

#[test]
fn the_manifests_name_each_other_consistently() {
    let deployment = read("deploy/k8s/deployment.yaml");
    let label = "app.kubernetes.io/name";
    for file in ["deployment", "service", "hpa", "pdb", "configmap"] {
        let text = read(&format!("deploy/k8s/{file}.yaml"));
        assert!(
            values(&text, label).iter().all(|v| v == "loggate"),
            "{file}"
        );
        assert!(!values(&text, label).is_empty(), "{file}: no {label}");
    }
    let hpa = read("deploy/k8s/hpa.yaml");
    assert_eq!(values(&hpa, "kind")[1], "Deployment"); // scaleTargetRef
    assert_eq!(values(&hpa, "name")[1], "loggate");
    assert!(values(&deployment, "name").contains(&"loggate-config".to_string()));
    assert_eq!(
        values(&read("deploy/k8s/configmap.yaml"), "name"),
        ["loggate-config"]
    );
    assert_eq!(values(&deployment, "mountPath"), ["/etc/loggate"]);
    let args = one(&deployment, "args");
    assert_eq!(
        args,
        r#"["serve", "--config", "/etc/loggate/loggate.toml"]"#
    );
    let resources = block(&deployment, "resources");
    assert!(resources.contains("requests:") && resources.contains("limits:"));
}

#[tokio::test]
async fn probes_and_metrics_answer_on_a_gateway_built_from_the_manifests() {
    let deployment = read("deploy/k8s/deployment.yaml");
    let readiness = block(&deployment, "readinessProbe");
    let liveness = block(&deployment, "livenessProbe");
    assert_eq!(one(&readiness, "path"), "/readyz");
    assert_eq!(one(&liveness, "path"), "/healthz");
    assert_eq!(one(&readiness, "port"), "http");
    let gateway = common::Gateway::start_with_env(&configmap_toml(), dummy_env()).await;
    for path in [
        one(&readiness, "path"),
        one(&liveness, "path"),
        one(&deployment, "prometheus.io/path"),
    ] {
        let response = gateway.client.get(gateway.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

/// Dockerfile instructions with continuation lines joined.
fn instructions() -> Vec<(String, String)> {
    let text = read("deploy/Dockerfile");
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() && current.is_empty() {
            continue;
        }
        current.push_str(line.trim_end_matches('\\'));
        current.push(' ');
        if !line.ends_with('\\') {
            let (op, rest) = current.trim().split_once(' ').unwrap();
            out.push((op.to_string(), rest.trim().to_string()));
            current.clear();
        }
    }
    out
}

fn exec_form(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not an exec form ({e}): {text}"))
}

#[test]
fn the_dockerfile_agrees_with_the_code() {
    let ins = instructions();
    let all = |op: &str| -> Vec<String> {
        ins.iter()
            .filter(|(o, _)| o == op)
            .map(|(_, r)| r.clone())
            .collect()
    };
    assert_eq!(all("FROM").len(), 2, "multi-stage");
    let binary = "/usr/local/bin/loggate";
    assert!(all("COPY")
        .iter()
        .any(|c| c.starts_with("--from=builder") && c.ends_with(binary)));
    assert_eq!(exec_form(&all("ENTRYPOINT")[0]), [binary]);
    let user = &all("USER")[0];
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("numeric user");
    assert!(uid != 0, "runs as root");
    // The port: EXPOSE, the listen override, the health check URL, and the
    // default port of `demo` and of the configuration all agree.
    let default_port = config::ServerConfig::default().listen.port();
    assert_eq!(all("EXPOSE"), [default_port.to_string()]);
    assert_eq!(
        all("ENV"),
        [format!("LOGGATE_SERVER__LISTEN=0.0.0.0:{default_port}")]
    );
    let check = &all("HEALTHCHECK")[0];
    let (_, command) = check.split_once("CMD ").unwrap();
    let command = exec_form(command);
    assert_eq!(command[0], binary);
    let cli = Cli::try_parse_from(command.iter().map(|s| s.as_str()).map(|s| {
        if s == binary {
            "loggate"
        } else {
            s
        }
    }))
    .expect("the health check is a loggate command");
    match cli.command {
        Sub::Healthcheck { url } => {
            assert_eq!(url, format!("http://127.0.0.1:{default_port}/healthz"));
            assert_eq!(url, loggate::cli::DEFAULT_HEALTHCHECK_URL);
        }
        other => panic!("{other:?}"),
    }
    // CMD serves the configuration the image copies in.
    let cmd = exec_form(&all("CMD")[0]);
    let cli = Cli::try_parse_from(std::iter::once("loggate".to_string()).chain(cmd)).unwrap();
    let Sub::Serve { config: path } = cli.command else {
        panic!("CMD is not serve")
    };
    assert!(all("COPY")
        .iter()
        .any(|c| c.ends_with(path.to_str().unwrap())));
    let copied = all("COPY")
        .into_iter()
        .find(|c| c.ends_with(path.to_str().unwrap()))
        .unwrap();
    let source = copied.split_whitespace().next().unwrap();
    config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(source),
        Vec::new(),
    )
    .expect("the image's default configuration is valid");
}

#[test]
fn the_compose_file_runs_the_demo_like_the_image() {
    let compose = read("deploy/compose.yaml");
    let command = exec_form(&one(&compose, "command"));
    let cli = Cli::try_parse_from(std::iter::once("loggate".to_string()).chain(command)).unwrap();
    let Sub::Demo { listen, fixed } = cli.command else {
        panic!("compose does not run the demo")
    };
    assert!(!fixed, "compose runs the live demo, not --static");
    assert_eq!(listen.ip().to_string(), "0.0.0.0");
    let port = listen.port();
    let ports: Vec<String> = block(&compose, "ports")
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches("- ")
                .trim_matches('"')
                .to_string()
        })
        .collect();
    assert_eq!(ports, [format!("{port}:{port}")]);
    assert_eq!(one(&compose, "dockerfile"), "deploy/Dockerfile");
    assert!(one(&compose, "test").contains(&format!("http://127.0.0.1:{port}/healthz")));
}

fn loggate(args: &[&str]) -> i32 {
    Command::new(env!("CARGO_BIN_EXE_loggate"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("binary runs")
        .status
        .code()
        .unwrap_or(-1)
}

#[tokio::test]
async fn healthcheck_exits_zero_only_when_the_gateway_answers() {
    let gateway = common::Gateway::start_with_env(&configmap_toml(), dummy_env()).await;
    let url = gateway.url("/healthz");
    let ok = tokio::task::spawn_blocking(move || loggate(&["healthcheck", "--url", &url]));
    assert_eq!(ok.await.unwrap(), 0);
    let missing = gateway.url("/nope");
    let not_found =
        tokio::task::spawn_blocking(move || loggate(&["healthcheck", "--url", &missing]));
    assert_eq!(not_found.await.unwrap(), 1);
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/healthz", l.local_addr().unwrap())
    };
    let refused = tokio::task::spawn_blocking(move || loggate(&["healthcheck", "--url", &dead]));
    assert_eq!(refused.await.unwrap(), 1);
}
