//! Scenario files: every invalid fixture's full error text (insta snapshots), valid fixtures
//! loading into the expected plans, command-line overrides, and the committed JSON Schema.

use std::path::Path;
use std::time::Duration;

use nexus_bench::plan::{
    Action, Body, ExtractFrom, LoadModel, Metric, MixRun, Op, Plan, ProbeRead, Stage, Stat,
    TargetBase,
};
use nexus_bench::scenario::{self, Overrides, ScenarioErrors};

fn env(name: &str) -> Option<String> {
    (name == "API_KEY").then(|| "secret-key".to_string())
}

fn load_with(path: &str, overrides: &Overrides) -> Result<Plan, ScenarioErrors> {
    let text = std::fs::read_to_string(path).unwrap();
    scenario::load_str(&text, Path::new(path), overrides, &env)
}

fn load(path: &str) -> Plan {
    load_with(path, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn errors(path: &str, overrides: &Overrides) -> String {
    match load_with(path, overrides) {
        Ok(_) => panic!("{path} should not load"),
        Err(e) => e.to_string(),
    }
}

mod invalid {
    use super::*;

    macro_rules! invalid {
        ($($name:ident),* $(,)?) => {
            const ALL: &[&str] = &[$(stringify!($name)),*];
            $(
                #[test]
                fn $name() {
                    let path = format!("fixtures/scenarios/invalid/{}.toml", stringify!($name));
                    let text = errors(&path, &Overrides::default());
                    assert!(text.starts_with("error: "), "{text}");
                    insta::assert_snapshot!(stringify!($name), text);
                }
            )*
        };
    }

    invalid!(
        syntax,
        syntax_value,
        unknown_field,
        unknown_field_request,
        unknown_fields_many,
        unknown_table,
        wrong_type,
        missing_name,
        missing_model,
        bad_model,
        missing_duration,
        bad_duration,
        bad_rate,
        bad_size,
        closed_with_rate,
        open_with_users,
        duration_and_stages,
        users_and_stages,
        no_load_level,
        bad_stages,
        weight_zero,
        duplicate_names,
        bad_name_chars,
        path_and_url,
        two_bodies,
        body_file_missing,
        bad_method,
        bad_status,
        bad_regex,
        bad_baseline,
        extract_sources,
        template_error,
        var_before_defined,
        unknown_data,
        data_missing,
        data_ragged,
        slo_unknown_metric,
        slo_unknown_request,
        slo_percentile,
        slo_unit_mismatch,
        slo_impossible,
        tls_files,
        tls_settings,
        bad_url,
        embedded_unknown,
        embedded_args_without_embedded,
        no_requests,
        flow_no_steps,
        many_problems,
        command_embedded,
        command_companions,
        command_bad_fields,
        probe_errors,
        probe_unknown_field,
        slo_probe_unknown,
        slo_target_not_launched,
        profile_bad,
        profile_heap_bad,
    );

    #[test]
    fn every_invalid_fixture_has_a_snapshot_test() {
        let mut on_disk: Vec<String> = std::fs::read_dir("fixtures/scenarios/invalid")
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut tested: Vec<String> = ALL.iter().map(|s| s.to_string()).collect();
        tested.sort();
        assert_eq!(on_disk, tested);
        assert!(tested.len() >= 25);
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let text = errors(
            "fixtures/scenarios/invalid/many_problems.toml",
            &Overrides::default(),
        );
        assert!(text.matches("error: ").count() >= 7, "{text}");
    }
}

mod valid {
    use super::*;

    #[test]
    fn closed_model_loads() {
        let plan = load("fixtures/scenarios/valid/closed.toml");
        assert_eq!(plan.name, "cache-closed");
        assert_eq!(plan.source.sha256.len(), 64);
        assert_eq!(
            plan.target.base,
            TargetBase::Embedded {
                api: "cache".into(),
                args: vec!["--latency".into(), "2ms".into()]
            }
        );
        assert_eq!(plan.target.connect_timeout, Duration::from_secs(2));
        assert_eq!(plan.max_body_bytes, 16_000_000);
        let (name, value) = &plan.target.headers[0];
        assert_eq!(name.as_str(), "x-api-key");
        assert_eq!(value.to_string(), "${API_KEY}");
        assert_eq!(
            plan.load.model,
            LoadModel::Closed {
                think_time: Duration::from_millis(5)
            }
        );
        assert_eq!(plan.load.profile.start, 32.0);
        assert_eq!(plan.load.profile.duration(), Duration::from_secs(20));
        assert_eq!(plan.load.warmup, Duration::ZERO);
        assert_eq!(plan.load.drain, Duration::from_secs(2));
        let names: Vec<&str> = plan.requests.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["get", "put", "put-raw"]);
        let weights: Vec<u32> = plan.mix.iter().map(|m| m.weight).collect();
        assert_eq!(weights, [8, 2, 1]);
        assert!(matches!(plan.mix[1].run, MixRun::Request(1)));
        assert_eq!(plan.requests[0].expect.status, [(200, 200), (404, 404)]);
        assert_eq!(plan.requests[1].timeout, Duration::from_secs(5));
        assert_eq!(plan.requests[0].timeout, Duration::from_secs(10));
        let Action::Http(put) = &plan.requests[1].action else {
            panic!("http")
        };
        assert_eq!(put.method, http::Method::PUT);
        match &put.body {
            Body::Template { text, content_type } => {
                assert_eq!(content_type.as_deref(), Some("application/json"));
                let json: serde_json::Value =
                    serde_json::from_str(&text.to_string().replace("{{ uuid }}", "u")).unwrap();
                assert_eq!(json["value"], "v-u");
                assert_eq!(json["ttl_ms"], 60000);
            }
            other => panic!("{other:?}"),
        }
        let Action::Http(raw) = &plan.requests[2].action else {
            panic!("http")
        };
        match &raw.body {
            Body::Bytes {
                bytes,
                content_type,
            } => {
                assert_eq!(&bytes[..], b"PUT-PAYLOAD-0123456789\n");
                assert_eq!(content_type.as_deref(), Some("application/octet-stream"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(plan.slos.len(), 4);
        let p99 = plan
            .slos
            .iter()
            .find(|s| s.key == "get.latency.p99")
            .unwrap();
        assert_eq!(p99.request.as_deref(), Some("get"));
        assert_eq!(p99.metric, Metric::Latency(Stat::Percentile(99.0)));
        assert_eq!((p99.op, p99.limit), (Op::Lt, 5.0));
        let described = scenario::describe(&plan);
        assert!(described.contains("${API_KEY}"), "{described}");
        assert!(!described.contains("secret-key"), "{described}");
    }

    #[test]
    fn open_ramp_with_warmup_loads() {
        let plan = load("fixtures/scenarios/valid/open_stages.toml");
        assert_eq!(
            plan.target.base,
            TargetBase::Url("http://127.0.0.1:8080".into())
        );
        assert!(plan.target.http2);
        assert_eq!(plan.max_body_bytes, 1_000_000);
        assert_eq!(plan.load.model, LoadModel::Open { max_in_flight: 200 });
        assert_eq!(plan.load.warmup, Duration::from_secs(2));
        assert_eq!(plan.load.drain, Duration::from_secs(3));
        assert_eq!(plan.load.profile.start, 100.0);
        assert_eq!(
            plan.load.profile.stages,
            [
                Stage {
                    duration: Duration::from_secs(2),
                    target: 100.0
                },
                Stage {
                    duration: Duration::from_secs(10),
                    target: 500.0
                },
                Stage {
                    duration: Duration::from_secs(20),
                    target: 500.0
                },
            ]
        );
        let r = &plan.requests[0];
        assert_eq!(r.expect.status, [(200, 299), (300, 304)]);
        assert_eq!(r.expect.body_contains, ["ok"]);
        let slo = &plan.slos[1];
        assert_eq!(slo.key, "route.service_time.p99.9");
        assert_eq!(slo.metric, Metric::ServiceTime(Stat::Percentile(99.9)));
        assert_eq!((slo.op, slo.limit), (Op::Le, 50.0));
        assert!((plan.slos[0].limit - 0.999).abs() < 1e-12);
    }

    #[test]
    fn flows_extract_and_data_load() {
        let plan = load("fixtures/scenarios/valid/flows.toml");
        let names: Vec<&str> = plan.requests.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["login", "register", "assign-task", "task-status"]);
        assert_eq!(plan.requests[2].flow.as_deref(), Some("assign"));
        assert_eq!(plan.requests[0].flow, None);
        assert_eq!(plan.variables, ["token", "agent_id", "etag", "task_id"]);
        match &plan.mix[1].run {
            MixRun::Flow { name, steps } => {
                assert_eq!(name, "assign");
                assert_eq!(steps, &[1, 2, 3]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(plan.mix[1].weight, 2);
        let reg = &plan.requests[1];
        assert_eq!(reg.expect.status, [(201, 201)]);
        assert_eq!(
            reg.expect.json,
            [("/state".to_string(), serde_json::json!("registered"))]
        );
        assert!(matches!(&reg.extract[0].from, ExtractFrom::Json(p) if p == "/agent_id"));
        assert_eq!(plan.variables[reg.extract[0].var], "agent_id");
        assert!(matches!(&reg.extract[1].from, ExtractFrom::Header(h) if h.as_str() == "etag"));
        assert!(matches!(
            &plan.requests[0].extract[0].from,
            ExtractFrom::Regex(_)
        ));
        let Action::Http(status) = &plan.requests[3].action else {
            panic!("http")
        };
        assert_eq!(
            status.url.to_string(),
            "/api/tasks/{{ task_id }}?agent={{ agent_id }}"
        );
        let ids: Vec<usize> = status.url.vars().collect();
        assert_eq!(ids, [3, 1]);
        assert_eq!(plan.data.len(), 1);
        assert_eq!(plan.data[0].columns, ["email", "password", "tier"]);
        assert_eq!(plan.data[0].rows.len(), 3);
        assert_eq!(plan.data[0].rows[1][0], "bob@example.com");
    }

    #[test]
    fn launch_probes_and_profile_load() {
        let plan = load("fixtures/scenarios/valid/observe.toml");
        let launch = plan.launch.as_ref().expect("launch");
        assert_eq!(launch.command, ["./my-service", "--port", "18080"]);
        assert_eq!(
            launch.env,
            [
                ("MODE".to_string(), "bench".to_string()),
                ("RUST_LOG".to_string(), "warn".to_string())
            ]
        );
        assert_eq!(
            launch.cwd.as_deref(),
            Some(Path::new("fixtures/scenarios/valid/."))
        );
        assert_eq!(launch.ready, "http://127.0.0.1:18080/healthz");
        assert_eq!(launch.startup_timeout, Duration::from_secs(5));
        assert_eq!(plan.probes.len(), 2);
        assert_eq!(plan.probes[0].name, "hit_ratio");
        assert_eq!(plan.probes[0].url, "/api/v1/cache/stats");
        assert_eq!(plan.probes[0].read, ProbeRead::Json("/hit_ratio".into()));
        assert_eq!(plan.probes[0].interval, Duration::from_secs(1));
        assert_eq!(
            plan.probes[1].read,
            ProbeRead::Prometheus {
                metric: "http_requests_total".into(),
                labels: vec![("code".into(), "200".into()), ("route".into(), "/x".into())],
            }
        );
        assert_eq!(plan.probes[1].interval, Duration::from_millis(500));
        let profile = plan.target_profile.as_ref().expect("profile");
        assert_eq!(profile.path, "/debug/pprof/profile");
        assert_eq!(profile.seconds, 10);
        let metrics: Vec<&Metric> = plan.slos.iter().map(|s| &s.metric).collect();
        assert!(metrics.contains(&&Metric::TargetRssMax));
        assert!(metrics.contains(&&Metric::Probe("requests".into())));
    }

    #[test]
    fn heap_profile_is_off_unless_asked_for() {
        assert_eq!(
            load("fixtures/scenarios/valid/observe.toml").heap_profile,
            None
        );
        let o = Overrides {
            set: vec!["profile.heap=true".into()],
            ..Overrides::default()
        };
        let plan = load_with("fixtures/scenarios/valid/observe.toml", &o).unwrap();
        let heap = plan.heap_profile.expect("a heap profile");
        assert_eq!(heap.path, nexus_bench::plan::DEFAULT_HEAP_PATH);
        // The shipped soak scenario asks for it.
        assert!(load("scenarios/soak.toml").heap_profile.is_some());
    }

    #[test]
    fn profile_seconds_default_fits_a_short_run() {
        let o = Overrides {
            duration: Some("4s".into()),
            ..Overrides::default()
        };
        let plan = load_with("fixtures/scenarios/valid/observe.toml", &o).unwrap();
        assert_eq!(plan.target_profile.unwrap().seconds, 3);
        // Embedded targets are launched too: target.* SLOs are fine without a command.
        let o = Overrides {
            target: Some("embedded:cache".into()),
            ..Overrides::default()
        };
        let text = errors("fixtures/scenarios/valid/observe.toml", &o);
        assert!(
            text.contains("`command` needs an http:// base_url"),
            "{text}"
        );
        assert!(
            !text.contains("needs a target that nexus-bench launches"),
            "{text}"
        );
    }

    #[test]
    fn every_valid_fixture_describes() {
        for entry in std::fs::read_dir("fixtures/scenarios/valid").unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "toml") {
                let plan = load(path.to_str().unwrap());
                let text = scenario::describe(&plan);
                assert!(
                    text.starts_with(&format!("scenario {}", plan.name)),
                    "{text}"
                );
            }
        }
    }
}

mod overrides {
    use super::*;

    fn set(items: &[&str]) -> Overrides {
        Overrides {
            set: items.iter().map(|s| s.to_string()).collect(),
            ..Overrides::default()
        }
    }

    #[test]
    fn set_changes_values_before_validation() {
        let plan = load_with(
            "fixtures/scenarios/valid/closed.toml",
            &set(&[
                "load.users=64",
                "requests.get.weight=3",
                "requests.1.timeout=1s",
                "slo.latency.p99.9=< 20ms",
                "target.http2=true",
            ]),
        )
        .unwrap();
        assert_eq!(plan.load.profile.start, 64.0);
        assert_eq!(plan.mix[0].weight, 3);
        assert_eq!(plan.requests[1].timeout, Duration::from_secs(1));
        assert!(plan.target.http2);
        let slo = plan.slos.iter().find(|s| s.key == "latency.p99.9").unwrap();
        assert_eq!(slo.limit, 20.0);
    }

    #[test]
    fn target_and_duration_flags() {
        let o = Overrides {
            target: Some("http://127.0.0.1:9999".into()),
            duration: Some("5s".into()),
            ..Overrides::default()
        };
        let plan = load_with("fixtures/scenarios/valid/closed.toml", &o).unwrap();
        assert_eq!(
            plan.target.base,
            TargetBase::Url("http://127.0.0.1:9999".into())
        );
        assert_eq!(plan.load.profile.duration(), Duration::from_secs(5));
        // Stages scale to the new total; the warm-up stays.
        let o = Overrides {
            duration: Some("60s".into()),
            ..Overrides::default()
        };
        let plan = load_with("fixtures/scenarios/valid/open_stages.toml", &o).unwrap();
        let d: Vec<Duration> = plan
            .load
            .profile
            .stages
            .iter()
            .map(|s| s.duration)
            .collect();
        assert_eq!(
            d,
            [
                Duration::from_secs(2),
                Duration::from_secs(20),
                Duration::from_secs(40)
            ]
        );
    }

    #[test]
    fn override_errors_name_the_override() {
        let text = errors(
            "fixtures/scenarios/valid/closed.toml",
            &set(&["load.users=lots"]),
        );
        assert!(text.starts_with("error: --set load.users=lots: "), "{text}");
        let text = errors(
            "fixtures/scenarios/valid/closed.toml",
            &set(&["load.usres=8"]),
        );
        assert!(text.contains("--set load.usres=8"), "{text}");
        assert!(text.contains("did you mean `users`?"), "{text}");
        let text = errors(
            "fixtures/scenarios/valid/closed.toml",
            &set(&["requests.gte.weight=2"]),
        );
        assert!(text.contains("no entry named `gte`"), "{text}");
        assert!(text.contains("did you mean `get`?"), "{text}");
        let o = Overrides {
            target: Some("ftp://example.com".into()),
            duration: Some("forever".into()),
            ..Overrides::default()
        };
        let text = errors("fixtures/scenarios/valid/closed.toml", &o);
        insta::assert_snapshot!("override_errors", text);
    }
}

mod schema {
    use super::*;

    #[test]
    fn committed_schema_matches_the_generated_one() {
        let generated = serde_json::to_string_pretty(&scenario::json_schema()).unwrap() + "\n";
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write("schema/scenario.schema.json", &generated).unwrap();
        }
        let committed = std::fs::read_to_string("schema/scenario.schema.json").unwrap();
        assert_eq!(
            committed, generated,
            "schema/scenario.schema.json is stale; run UPDATE_SCHEMA=1 cargo test --test tests scenarios::"
        );
    }

    #[test]
    fn valid_fixtures_match_the_schema() {
        let validator = jsonschema::validator_for(&scenario::json_schema()).unwrap();
        for name in ["closed", "open_stages", "flows"] {
            let text =
                std::fs::read_to_string(format!("fixtures/scenarios/valid/{name}.toml")).unwrap();
            let doc: serde_json::Value = toml::from_str(&text).unwrap();
            let problems: Vec<String> =
                validator.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(problems.is_empty(), "{name}: {problems:?}");
        }
        let bad: serde_json::Value =
            toml::from_str("name = 'x'\n[target]\nbse_url = 'http://a'\n").unwrap();
        assert!(!validator.is_valid(&bad));
    }
}
