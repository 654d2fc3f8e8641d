//! What the App Platform spec and the image promise, checked against what teller does: the
//! connection budget fits the smallest managed PostgreSQL, secrets are typed as secrets, every
//! variable set is one teller reads, the grace periods outlast teller's own shutdown, and the
//! Dockerfile carries everything the binary embeds. (`scripts/test` validates the spec's shape
//! against App Platform's schema; this checks its meaning.)

use serde_json::Value;

/// Usable connections on `db-s-1vcpu-1gb`: 25 per GiB, 3 reserved.
const SMALLEST_POSTGRES: i64 = 22;
/// Left for an operator's psql at the worst moment.
const OPERATOR_HEADROOM: i64 = 1;
/// Variables whose values are secrets.
const SECRETS: [&str; 6] = [
    "WHATSAPP_VERIFY_TOKEN",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_ACCESS_TOKEN",
    "PAYMENTS_WEBHOOK_SECRET",
    "OTP_KEY",
    "OPENAI_API_KEY",
];

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spec() -> Value {
    let text = std::fs::read_to_string(root().join(".digitalocean/app.yaml")).unwrap();
    marked_yaml::from_yaml(0, &text).unwrap()
}

/// The variables a component runs with: the app's, then its own on top.
fn envs(spec: &Value, component: &Value) -> Vec<(String, Value)> {
    let mut all: Vec<(String, Value)> = Vec::new();
    for env in spec["envs"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(component["envs"].as_array().into_iter().flatten())
    {
        let key = env["key"].as_str().unwrap().to_owned();
        all.retain(|(k, _)| *k != key);
        all.push((key, env.clone()));
    }
    all
}

fn var(spec: &Value, component: &Value, key: &str) -> Option<String> {
    envs(spec, component)
        .into_iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v["value"].as_str().map(str::to_owned))
}

fn number(value: &Value) -> i64 {
    value.as_i64().or_else(|| value.as_str().and_then(|s| s.parse().ok())).unwrap()
}

fn pool(spec: &Value, component: &Value) -> i64 {
    var(spec, component, "DATABASE_MAX_CONNECTIONS").expect("every component sets its pool").parse().unwrap()
}

fn most_instances(component: &Value) -> i64 {
    match component.get("autoscaling") {
        Some(scaling) => number(&scaling["max_instance_count"]),
        None => component.get("instance_count").map_or(1, number),
    }
}

fn component<'a>(spec: &'a Value, kind: &str, name: &str) -> &'a Value {
    spec[kind].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()
}

#[test]
fn the_connection_budget_fits_the_smallest_managed_postgres_through_a_rolling_deploy() {
    let spec = spec();
    let web = component(&spec, "services", "web");
    let worker = component(&spec, "workers", "worker");
    let migrate = component(&spec, "jobs", "migrate");
    // Scheduled jobs can start at any moment; they never run at the same minute as each other.
    let scheduled = spec["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "SCHEDULED")
        .map(|j| pool(&spec, j))
        .max()
        .unwrap_or(0);
    // A rollout at full scale: every old web instance, one new one, old and new workers.
    let rollout = most_instances(web) * pool(&spec, web)
        + pool(&spec, web)
        + 2 * most_instances(worker) * pool(&spec, worker)
        + scheduled;
    // The pre-deploy job runs while only the old version serves.
    let migrating = most_instances(web) * pool(&spec, web)
        + most_instances(worker) * pool(&spec, worker)
        + pool(&spec, migrate)
        + scheduled;
    assert!(
        rollout.max(migrating) + OPERATOR_HEADROOM <= SMALLEST_POSTGRES,
        "rollout {rollout}, migrating {migrating}: over the {SMALLEST_POSTGRES} connections of db-s-1vcpu-1gb"
    );
}

#[test]
fn every_secret_is_typed_secret_and_carries_no_value() {
    let spec = spec();
    for kind in ["services", "workers", "jobs"] {
        for component in spec[kind].as_array().unwrap() {
            for (key, env) in envs(&spec, component) {
                if SECRETS.contains(&key.as_str()) || key.contains("SECRET") || key.ends_with("_KEY") {
                    assert_eq!(env["type"], "SECRET", "{key} must be typed SECRET");
                    assert!(env.get("value").is_none(), "{key}: a secret's value is never committed");
                }
            }
        }
    }
    let declared: Vec<String> = envs(&spec, &Value::Null).into_iter().map(|(k, _)| k).collect();
    for secret in SECRETS {
        assert!(declared.iter().any(|k| k == secret), "{secret} is declared for every component");
    }
}

#[test]
fn every_variable_the_spec_sets_is_one_teller_documents() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let spec = spec();
    for kind in ["services", "workers", "jobs"] {
        for component in spec[kind].as_array().unwrap() {
            for (key, _) in envs(&spec, component) {
                assert!(
                    readme.contains(&format!("`{key}`")),
                    "{key} is not a variable teller reads (a typo?)"
                );
            }
        }
    }
}

#[test]
fn the_platform_waits_longer_than_teller_takes_to_stop_and_probes_the_right_ports() {
    let spec = spec();
    let teller_grace = 25; // SHUTDOWN_GRACE_SECS's default
    let web = component(&spec, "services", "web");
    let worker = component(&spec, "workers", "worker");
    for component in [web, worker] {
        let grace = number(&component["termination"]["grace_period_seconds"]);
        assert!(
            grace >= teller_grace + 5,
            "{}: SIGKILL after {grace} s cuts teller's {teller_grace} s short",
            component["name"]
        );
        assert_eq!(
            var(&spec, component, "SHUTDOWN_GRACE_SECS"),
            None,
            "the default is what the grace period fits"
        );
    }
    assert_eq!(number(&web["http_port"]), 8080, "the image's PORT");
    for check in ["health_check", "liveness_health_check"] {
        assert_eq!(web[check]["http_path"], "/health");
    }
    let port = var(&spec, worker, "WORKER_PORT").unwrap();
    assert_eq!(
        number(&worker["liveness_health_check"]["port"]).to_string(),
        port,
        "the worker is probed where it listens"
    );
    assert_eq!(var(&spec, web, "TELLER_ROLE").as_deref(), Some("serve"));
    assert_eq!(var(&spec, worker, "TELLER_ROLE").as_deref(), Some("worker"));
    let migrate = component(&spec, "jobs", "migrate");
    assert_eq!(var(&spec, migrate, "TELLER_ROLE").as_deref(), Some("migrate"));
    assert_eq!(migrate["kind"], "PRE_DEPLOY");
    // A late ticket fails the scheduled check, and that failure alerts.
    let check = component(&spec, "jobs", "care-check");
    assert_eq!(var(&spec, check, "TELLER_ROLE").as_deref(), Some("care-check"));
    assert_eq!(check["kind"], "SCHEDULED");
    assert_eq!(check["alerts"][0]["rule"], "JOB_INVOCATION_FAILED");
    let summary = component(&spec, "jobs", "care-summary");
    assert_eq!(var(&spec, summary, "TELLER_ROLE").as_deref(), Some("care-summary"));
    assert_eq!(
        var(&spec, web, "REDIS_URL").as_deref(),
        Some("${cache.DATABASE_URL}"),
        "Valkey has no REDIS_URL bindable"
    );
    assert!(web.get("instance_count").is_none(), "instance_count and autoscaling exclude each other");
    let alerts: Vec<&str> =
        web["alerts"].as_array().unwrap().iter().map(|a| a["rule"].as_str().unwrap()).collect();
    for rule in ["CPU_UTILIZATION", "MEM_UTILIZATION", "RESTART_COUNT"] {
        assert!(alerts.contains(&rule), "web alerts on {rule}");
    }
}

#[test]
fn the_dockerfile_copies_everything_the_binary_embeds_and_probes_health() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let copied = |dir: &str| dockerfile.lines().any(|l| l.starts_with(&format!("COPY {dir} ")));
    // What `include_str!` and rust-embed read at compile time, found in the sources themselves.
    let embed = regex::Regex::new(r#"(?:#\[folder = "|include_str!\("(?:\.\./)*)([a-z_]+)/"#).unwrap();
    let mut found = 0;
    for entry in walk(&root().join("src")) {
        let text = std::fs::read_to_string(&entry).unwrap();
        for capture in embed.captures_iter(&text) {
            found += 1;
            assert!(
                copied(&capture[1]),
                "{} embeds {}/, which the Dockerfile never copies",
                entry.display(),
                &capture[1]
            );
        }
    }
    assert!(found >= 4, "the embed patterns still find the embedded folders");
    // The files `teller whatsapp … push` reads by default, beside the binary's working directory.
    assert!(
        copied("whatsapp") && dockerfile.contains("cp -r whatsapp /out/app/whatsapp"),
        "no whatsapp/ in the image"
    );
    assert!(dockerfile.contains("WORKDIR /app"), "the default paths are relative to /app");
    assert!(dockerfile.contains("HEALTHCHECK") && dockerfile.contains(r#"teller", "health"]"#));
    assert!(dockerfile.contains(r#"ENTRYPOINT ["/usr/local/bin/teller"]"#), "exec form: teller is PID 1");
    assert!(!dockerfile.lines().any(|l| l.trim() == "USER root"), "runs as a non-root user");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}
