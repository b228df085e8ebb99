//! The Docker deployment, checked statically, Apache Kafka's part included, which no Docker engine
//! here can run (no Kafka image can be had; `tests/compose` runs the rest for real, tansu in
//! Kafka's place). The compose file has the services, ports, volumes, health checks and start order
//! a server deployment needs; every variable it sets is one the binary it configures accepts (read
//! from that binary's `--help`) and one of the pinned names; every image it builds is a stage of
//! the Dockerfile that ships a binary this workspace builds, and installs the shared libraries
//! those binaries link (read with `ldd`), the build stage their development packages; the
//! topic-init service makes the topics of the design.

mod workspace;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::workspace::root;
use serde_json::Value;
use wordfreq_bus::TopicSpec;
use wordfreq_domain::names::{
    DEAD_LETTER_TOPIC, ENVIRONMENT, INPUT_PARTITIONS, INPUT_TOPIC, RESULTS_TOPIC,
};

/// The compose file as JSON, YAML merge keys (`<<: *restart`) applied.
fn compose() -> Value {
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    let mut yaml: serde_norway::Value =
        serde_norway::from_str(&text).expect("the compose file parses");
    yaml.apply_merge().unwrap();
    serde_json::to_value(yaml).unwrap()
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose["services"]
        .get(name)
        .unwrap_or_else(|| panic!("no service {name}"))
}

/// The services built from this repository, by the Dockerfile stage they use.
fn built_services(compose: &Value) -> BTreeMap<String, String> {
    compose["services"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(name, service)| {
            let target = service["build"]["target"].as_str()?;
            Some((name.clone(), target.to_owned()))
        })
        .collect()
}

fn environment(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_object()
        .map(|env| {
            env.iter()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_compose_file_has_kraft_kafka_persistent_redis_the_topics_and_the_three_services() {
    let compose = compose();
    let names: BTreeSet<&str> = compose["services"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "kafka",
            "redis",
            "kafka-init",
            "producer-api",
            "stream-job",
            "dashboard"
        ])
    );

    let kafka = service(&compose, "kafka");
    assert!(
        kafka["image"]
            .as_str()
            .unwrap()
            .starts_with("apache/kafka:")
    );
    let kafka_env = environment(kafka);
    assert_eq!(
        kafka_env["KAFKA_PROCESS_ROLES"], "broker,controller",
        "KRaft, no ZooKeeper"
    );
    assert!(kafka_env["KAFKA_ADVERTISED_LISTENERS"].contains("INTERNAL://kafka:29092"));
    assert!(kafka_env["KAFKA_ADVERTISED_LISTENERS"].contains("HOST://localhost:9092"));
    assert_eq!(kafka["ports"], serde_json::json!(["9092:9092"]));
    assert_eq!(
        kafka["volumes"],
        serde_json::json!(["kafka-data:/var/lib/kafka/data"])
    );

    let redis = service(&compose, "redis");
    assert!(redis["image"].as_str().unwrap().starts_with("redis:7"));
    let command: Vec<&str> = redis["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap())
        .collect();
    assert!(
        command
            .windows(2)
            .any(|pair| pair == ["--appendonly", "yes"]),
        "AOF: {command:?}"
    );
    assert_eq!(redis["volumes"], serde_json::json!(["redis-data:/data"]));
    for volume in ["kafka-data", "redis-data"] {
        assert!(
            compose["volumes"].get(volume).is_some(),
            "named volume {volume}"
        );
    }

    assert_eq!(
        service(&compose, "producer-api")["ports"],
        serde_json::json!(["8000:8000"])
    );
    assert_eq!(
        service(&compose, "dashboard")["ports"],
        serde_json::json!(["8501:8501"])
    );
}

#[test]
fn every_service_has_a_health_check_a_restart_policy_and_starts_after_what_it_needs() {
    let compose = compose();
    for (name, service) in compose["services"].as_object().unwrap() {
        if name == "kafka-init" {
            // A one-shot job: the others wait for it to complete.
            assert_eq!(service["restart"], "no");
            continue;
        }
        assert!(
            service["healthcheck"]["test"].is_array(),
            "{name} has no health check"
        );
        assert_eq!(service["restart"], "unless-stopped", "{name}");
    }
    let condition = |service_name: &str, on: &str| {
        service(&compose, service_name)["depends_on"][on]["condition"]
            .as_str()
            .unwrap_or_else(|| panic!("{service_name} does not wait for {on}"))
            .to_owned()
    };
    assert_eq!(condition("kafka-init", "kafka"), "service_healthy");
    assert_eq!(
        condition("producer-api", "kafka-init"),
        "service_completed_successfully"
    );
    assert_eq!(
        condition("stream-job", "kafka-init"),
        "service_completed_successfully"
    );
    assert_eq!(condition("stream-job", "redis"), "service_healthy");
    assert_eq!(condition("dashboard", "redis"), "service_healthy");
    assert_eq!(condition("dashboard", "producer-api"), "service_healthy");
}

#[test]
fn the_stream_job_can_be_scaled_no_fixed_name_and_no_host_port() {
    let compose = compose();
    for (name, service) in compose["services"].as_object().unwrap() {
        assert!(
            service.get("container_name").is_none(),
            "{name} has a fixed container name"
        );
    }
    let job = service(&compose, "stream-job");
    assert!(
        job.get("ports").is_none(),
        "a published port would collide when scaled"
    );
    assert_eq!(environment(job)["METRICS_ADDR"], "0.0.0.0:9100");
}

/// The variables a binary of this workspace reads, from its `--help`.
fn accepted_variables(binary: &str, args: &[&str]) -> BTreeSet<String> {
    let output = Command::new(workspace::binary(binary))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .split("[env: ")
        .skip(1)
        .map(|rest| rest[..rest.find(['=', ']']).unwrap()].to_owned())
        .collect()
}

#[test]
fn every_variable_the_compose_file_sets_is_pinned_and_accepted_by_the_binary_it_configures() {
    let compose = compose();
    let pinned: BTreeSet<&str> = ENVIRONMENT.iter().map(|(name, _)| *name).collect();
    for (name, _target) in built_services(&compose) {
        let (binary, args): (&str, &[&str]) = match name.as_str() {
            "kafka-init" => ("wordfreq", &["init-topics"]),
            other => (other, &[]),
        };
        let accepted = accepted_variables(binary, args);
        for variable in environment(service(&compose, &name)).keys() {
            assert!(
                pinned.contains(variable.as_str()),
                "{name}: {variable} is not a pinned name"
            );
            assert!(
                accepted.contains(variable),
                "{name}: `{binary}` does not read {variable}"
            );
        }
    }
}

#[test]
fn every_variable_a_binary_reads_is_in_the_pinned_list() {
    let pinned: BTreeSet<&str> = ENVIRONMENT.iter().map(|(name, _)| *name).collect();
    for (binary, args) in [
        ("producer-api", &[][..]),
        ("stream-job", &[]),
        ("dashboard", &[]),
        ("wordfreq", &[]),
        ("wordfreq", &["init-topics"]),
        ("simulate_users", &["simulate"]),
        ("simulate_users", &["load"]),
    ] {
        for variable in accepted_variables(binary, args) {
            assert!(
                pinned.contains(variable.as_str()),
                "{binary} reads {variable}, not pinned"
            );
        }
    }
}

#[test]
fn the_services_address_each_other_where_they_listen() {
    let compose = compose();
    for name in ["kafka-init", "producer-api", "stream-job"] {
        assert_eq!(
            environment(service(&compose, name))["KAFKA_BOOTSTRAP_SERVERS"],
            "kafka:29092"
        );
    }
    let api_port = environment(service(&compose, "producer-api"))["API_ADDR"]
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        environment(service(&compose, "dashboard"))["PRODUCER_API_URL"],
        format!("http://producer-api:{api_port}")
    );
    for name in ["stream-job", "dashboard"] {
        assert_eq!(environment(service(&compose, name))["REDIS_HOST"], "redis");
    }
}

/// The Dockerfile's stages by name, each with its lines.
fn dockerfile_stages() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let mut stages: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(from) = line.strip_prefix("FROM ") {
            current = from.split(" AS ").nth(1).map(str::to_owned);
        }
        if let Some(stage) = &current {
            stages
                .entry(stage.clone())
                .or_default()
                .push(line.to_owned());
        }
    }
    stages
}

/// The binaries this workspace builds, from `cargo metadata`.
fn workspace_binaries() -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|package| package["targets"].as_array().unwrap())
        .filter(|target| {
            target["kind"]
                .as_array()
                .unwrap()
                .iter()
                .any(|kind| kind == "bin")
        })
        .map(|target| target["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_image_is_a_dockerfile_stage_shipping_a_workspace_binary_as_a_non_root_user() {
    let compose = compose();
    let stages = dockerfile_stages();
    let binaries = workspace_binaries();
    assert!(root().join(".dockerignore").exists());
    let runtime = stages["runtime"].join("\n");
    assert!(
        runtime.contains("USER wordfreq"),
        "the runtime stage drops root"
    );
    assert!(
        stages["builder"].join("\n").contains("cargo chef cook"),
        "dependencies cached"
    );
    for (name, target) in built_services(&compose) {
        let build = &service(&compose, &name)["build"];
        assert!(
            root()
                .join(build["context"].as_str().unwrap())
                .join("Dockerfile")
                .exists()
        );
        let stage = stages
            .get(&target)
            .unwrap_or_else(|| panic!("{name} builds stage {target}, which the Dockerfile lacks"))
            .join("\n");
        assert!(
            stage.starts_with("FROM runtime AS"),
            "{target} ships on the runtime stage"
        );
        let shipped = stage
            .split("/build/target/release/")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("stage {target} copies no binary"));
        assert!(
            binaries.contains(shipped),
            "stage {target} ships {shipped}, not built here"
        );
        if name != "kafka-init" {
            assert!(
                stage.contains("HEALTHCHECK"),
                "stage {target} has no HEALTHCHECK"
            );
        }
    }
}

#[test]
fn the_topic_init_service_makes_the_topics_of_the_design() {
    let compose = compose();
    let init = environment(service(&compose, "kafka-init"));
    assert_eq!(init["KAFKA_TOPIC"], INPUT_TOPIC);
    let partitions: i32 = init["KAFKA_PARTITIONS"].parse().unwrap();
    assert_eq!(partitions, INPUT_PARTITIONS);
    let topics: Vec<(String, i32, bool)> = TopicSpec::system(&init["KAFKA_TOPIC"], partitions)
        .into_iter()
        .map(|topic| (topic.name, topic.partitions, topic.compacted))
        .collect();
    assert_eq!(
        topics,
        [
            (INPUT_TOPIC.to_owned(), 3, false),
            (DEAD_LETTER_TOPIC.to_owned(), 1, false),
            (RESULTS_TOPIC.to_owned(), 1, true),
        ]
    );
    let script = std::fs::read_to_string(root().join("scripts/kafka-init.sh")).unwrap();
    assert!(
        script.contains("exec wordfreq init-topics"),
        "the script runs init-topics"
    );
    let tools = dockerfile_stages()["tools"].join("\n");
    assert!(tools.contains("ENTRYPOINT [\"kafka-init.sh\"]"));
}

/// The Debian release the images are built on; [`LIBRARIES`] names its packages.
const DEBIAN: &str = "bookworm";

/// Every shared library the binaries may link, with the Debian package that installs it and the
/// one the build needs for it. glibc's and libgcc's come with every Debian image (`libc6` and its
/// dependency `libgcc-s1`), so they need no install; the rest must be in the runtime stage's
/// `apt-get install`. A library missing here fails the test: add it, and to the Dockerfile.
const LIBRARIES: &[(&str, &str, Option<&str>)] = &[
    ("libc.so.6", "libc6", None),
    ("libm.so.6", "libc6", None),
    ("libpthread.so.0", "libc6", None),
    ("libdl.so.2", "libc6", None),
    ("librt.so.1", "libc6", None),
    ("ld-linux-x86-64.so.2", "libc6", None),
    ("ld-linux-aarch64.so.1", "libc6", None),
    ("libgcc_s.so.1", "libgcc-s1", None),
    ("libz.so.1", "zlib1g", Some("zlib1g-dev")),
    ("libssl.so.3", "libssl3", Some("libssl-dev")),
    ("libcrypto.so.3", "libssl3", Some("libssl-dev")),
];
const BASE_PACKAGES: &[&str] = &["libc6", "libgcc-s1"];

/// The packages a stage installs with `apt-get install`, those of the stages it is built on
/// included.
fn apt_packages(stages: &BTreeMap<String, Vec<String>>, stage: &str) -> BTreeSet<String> {
    let lines = &stages[stage];
    let parent = lines[0]
        .strip_prefix("FROM ")
        .and_then(|from| from.split_whitespace().next())
        .unwrap();
    let mut packages = if stages.contains_key(parent) {
        apt_packages(stages, parent)
    } else {
        BTreeSet::new()
    };
    // One logical line per instruction: continuation lines joined.
    let text = lines.join("\n").replace("\\\n", " ");
    for line in text.lines() {
        for install in line.split("apt-get install").skip(1) {
            packages.extend(
                install
                    .split_whitespace()
                    .take_while(|word| *word != "&&")
                    .filter(|word| !word.starts_with('-'))
                    .map(str::to_owned),
            );
        }
    }
    packages
}

/// The shared libraries `binary` links, each with where the loader finds it here.
fn linked_libraries(binary: &str) -> Vec<(String, Option<String>)> {
    let output = Command::new("ldd")
        .arg(workspace::binary(binary))
        .output()
        .expect("ldd (Debian's libc-bin) runs");
    assert!(output.status.success(), "ldd {binary}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            // The kernel maps this one into every process: no file, no package.
            if name.starts_with("linux-vdso") {
                return None;
            }
            let name = name.rsplit('/').next().unwrap().to_owned();
            let path = (words.next() == Some("=>")).then(|| words.next().unwrap().to_owned());
            Some((name, path))
        })
        .collect()
}

/// The package dpkg says installed `path`, when this host runs the images' Debian release (its
/// package names may differ elsewhere).
fn host_package(path: &str) -> Option<String> {
    let release = std::fs::read_to_string("/etc/os-release").ok()?;
    if !release
        .lines()
        .any(|line| line == format!("VERSION_CODENAME={DEBIAN}"))
    {
        return None;
    }
    // With merged /usr, dpkg knows a file by one of its two paths only.
    let canonical = std::fs::canonicalize(path).ok()?;
    [path.to_owned(), canonical.to_string_lossy().into_owned()]
        .iter()
        .find_map(|candidate| {
            let output = Command::new("dpkg").args(["-S", candidate]).output().ok()?;
            let text = String::from_utf8(output.stdout).ok()?;
            let package = text.lines().next()?.split(':').next()?.trim().to_owned();
            (output.status.success() && !package.is_empty()).then_some(package)
        })
}

#[test]
fn the_runtime_stage_installs_every_library_the_binaries_link_and_the_build_their_headers() {
    let stages = dockerfile_stages();
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    // The base images are build arguments; their defaults, the official images, are this release.
    for default in [
        format!("ARG BUILDER_IMAGE=rust:1.95-slim-{DEBIAN}"),
        format!("ARG RUNTIME_IMAGE=debian:{DEBIAN}-slim"),
    ] {
        assert!(
            dockerfile.lines().any(|line| line == default),
            "{default}: the package names below are {DEBIAN}'s"
        );
    }
    let runtime = apt_packages(&stages, "runtime");
    let build = apt_packages(&stages, "builder");
    // rdkafka's `ssl` feature: librdkafka is compiled against OpenSSL's headers.
    assert!(
        build.contains("libssl-dev"),
        "build stage installs {build:?}"
    );
    let shipped: BTreeSet<&str> = dockerfile
        .split("/build/target/release/")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert!(shipped.contains("producer-api"), "{shipped:?}");
    let mut needed = BTreeSet::new();
    for binary in &shipped {
        for (library, path) in linked_libraries(binary) {
            let &(_, package, headers) = LIBRARIES
                .iter()
                .find(|(name, _, _)| *name == library)
                .unwrap_or_else(|| {
                    panic!("{binary} links {library}: name its {DEBIAN} package in LIBRARIES")
                });
            if let Some(found) = path.as_deref().and_then(host_package) {
                assert_eq!(found, package, "{library} ({path:?}) is {found}'s");
            }
            needed.insert(library.clone());
            if BASE_PACKAGES.contains(&package) {
                continue;
            }
            assert!(
                runtime.contains(package),
                "{binary} links {library}: the runtime stage must install {package} (it installs {runtime:?})"
            );
            if let Some(headers) = headers {
                assert!(
                    build.contains(headers),
                    "{binary} links {library}: the build stage must install {headers}"
                );
            }
        }
    }
    // The binaries above are the workspace's current build: librdkafka links OpenSSL.
    assert!(
        needed.contains("libssl.so.3"),
        "no shipped binary links OpenSSL: {needed:?} (a stale build? run cargo build --workspace)"
    );
}
