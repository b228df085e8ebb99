//! Hostile query strings on every route that reads one: huge and negative numbers, unknown windows
//! and modes, markup and SQL in the search, very long and repeated parameters, broken and
//! non-UTF-8 percent-encoding, header injection. The answer is a correct 200 or a 4xx that says
//! what is wrong (FastAPI's `{"detail"}` on the JSON API, the exports and `/events`; a 422 names
//! the parameter), never a 5xx, never late, and no HTML answer carries the injected markup
//! unescaped.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use proptest::prelude::*;

use crate::helpers::{Reply, TestDashboard};

/// Bound on each answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Every route that takes a query string. `/events` streams, so only its head is read.
const ROUTES: &[&str] = &[
    "/",
    "/fragments/main",
    "/fragments/words",
    "/fragments/health",
    "/api/words",
    "/api/stats",
    "/api/health",
    "/export.csv",
    "/export.json",
    "/events",
];

/// Markup that must never come back as markup: a tag and attribute breakouts, all named `wfx`, a
/// name nothing in the dashboard uses, so finding it verbatim means it was not escaped.
const MARKUP: &[&str] = &[
    "<wfx>alert(1)</wfx>",
    "\"><wfx src=x>",
    "' wfx='1",
    "\" wfx=\"1",
    "</textarea><wfx>",
    "<svg/wfx=1>",
];
const UNESCAPED: &[&str] = &["<wfx", "wfx=\"1", "wfx='1", "<svg/wfx"];

/// Values a hand-edited or hostile URL may carry, already percent-encoded where they must be.
fn hostile_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "99999999999",
        "18446744073709551616",
        "99999999999999999999999999999999",
        "-1",
        "-5",
        "0",
        "1e3",
        "0x10",
        "NaN",
        "",
        "bogus",
        "ALL",
        "5M",
        "%00",
        "%FF%FE",
        "%zz",
        "%",
        "%C3%28",
        "%E2%80%AE",
        "'%3B%20DROP%20TABLE%20words%3B--",
        "%0D%0ASet-Cookie:%20wfx=1",
        "%0ALocation:%20http://evil.example",
        "poll",
        "off",
        "live",
    ]
    .map(String::from)
    .to_vec();
    values.extend(MARKUP.iter().map(|markup| encode(markup)));
    values.push("a".repeat(5_000));
    values.push(encode(&"é<".repeat(2_000)));
    values
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// The parameters the dashboard reads; every 422 starts with one of them.
const PARAMETERS: &[&str] = &[
    "window",
    "limit",
    "min_count",
    "q",
    "filter",
    "refresh",
    "interval",
    "seen",
];

const KEYS: &[&str] = &[
    "window",
    "limit",
    "min_count",
    "q",
    "filter",
    "refresh",
    "interval",
    "seen",
    "unknown",
    "q[]",
    "",
];

/// Sends `GET route?query`, bounded; `None` when the URI itself is invalid (no client could send
/// it either).
async fn get(dashboard: &TestDashboard, route: &str, query: &str) -> Option<Reply> {
    let request = Request::get(format!("{route}?{query}"))
        .body(Body::empty())
        .ok()?;
    if route == "/events" {
        // A stream: its status and headers are the answer, and a refusal's body, which ends.
        let response = tokio::time::timeout(
            ANSWER_WITHIN,
            tower::ServiceExt::oneshot(dashboard::app(dashboard.state.clone()), request),
        )
        .await
        .expect("an answer in time")
        .unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body = if status.is_success() {
            String::new()
        } else {
            let bytes = tokio::time::timeout(
                ANSWER_WITHIN,
                axum::body::to_bytes(response.into_body(), usize::MAX),
            )
            .await
            .expect("a refusal's body in time")
            .unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        return Some(Reply {
            status,
            headers,
            body,
        });
    }
    Some(
        tokio::time::timeout(ANSWER_WITHIN, dashboard.send(request))
            .await
            .unwrap_or_else(|_| panic!("{route}?{query}: no answer within {ANSWER_WITHIN:?}")),
    )
}

/// What every answer to a hostile query must be.
fn check(route: &str, query: &str, reply: &Reply) {
    let what = format!("{route}?{}", query.chars().take(200).collect::<String>());
    if route == "/api/health" {
        // Health takes no parameters: 503 is its honest "degraded" (no producer API, nothing
        // checked yet), whatever the query says.
        assert!(
            [StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE].contains(&reply.status),
            "{what}: {}",
            reply.status
        );
        assert!(reply.json()["status"].is_string(), "{what}: {}", reply.body);
        return;
    }
    assert!(
        !reply.status.is_server_error(),
        "{what}: {} {}",
        reply.status,
        reply.body
    );
    assert!(
        reply.status.is_success() || reply.status.is_client_error(),
        "{what}: {}",
        reply.status
    );
    for (name, value) in &reply.headers {
        // A CR or LF in a parameter must not become a header of its own.
        assert_ne!(name, header::SET_COOKIE, "{what}");
        assert_ne!(name, header::LOCATION, "{what}");
        assert!(
            !value.as_bytes().contains(&b'\n'),
            "{what}: header {name} {value:?}"
        );
    }
    if reply.status.is_client_error() {
        assert!(
            !reply.body.trim().is_empty(),
            "{what}: a 4xx without a reason"
        );
        if route.starts_with("/api") || route.starts_with("/export") || route == "/events" {
            let detail = reply.json()["detail"].clone();
            assert!(
                detail.as_str().is_some_and(|text| !text.is_empty()),
                "{what}: {}",
                reply.body
            );
        }
    }
    if reply.status == StatusCode::UNPROCESSABLE_ENTITY {
        let detail = reply.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            PARAMETERS
                .iter()
                .any(|name| detail.starts_with(&format!("{name}: must be "))),
            "{what}: a 422 that names no parameter: {detail}"
        );
    }
    let html = reply
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if html {
        for marker in UNESCAPED {
            assert!(
                !reply.body.contains(marker),
                "{what}: unescaped {marker:?} in the page"
            );
        }
    }
}

async fn seeded() -> TestDashboard {
    let dashboard = TestDashboard::without_api();
    dashboard
        .seed(&[("alpha", 5), ("beta", 3), ("gamma", 1), ("delta", 9)])
        .await;
    dashboard
}

#[tokio::test]
async fn every_hostile_value_of_every_parameter_on_every_route_is_answered_without_a_5xx() {
    let dashboard = seeded().await;
    let values = hostile_values();
    let mut answered = 0;
    for route in ROUTES {
        for key in KEYS {
            for value in &values {
                let query = format!("{key}={value}");
                if let Some(reply) = get(&dashboard, route, &query).await {
                    check(route, &query, &reply);
                    answered += 1;
                }
            }
        }
    }
    // Every value above is a valid URI query; none may be skipped.
    assert_eq!(answered, ROUTES.len() * KEYS.len() * values.len());
}

#[tokio::test]
async fn the_json_api_refuses_what_no_view_can_answer_with_a_clear_422() {
    let dashboard = seeded().await;
    // Each refusal names the parameter, what it takes (the real bounds) and what it got.
    let whole = |name: &str, max: u64, got: &str| {
        format!(
            "{name}: must be a whole number from 0 {}to {max}, got {got}",
            if name == "limit" { "(all words) " } else { "" }
        )
    };
    let windows = "window: must be one of all, 1m, 5m, 15m, 60m";
    let max = usize::MAX as u64;
    for (query, mentions) in [
        ("limit=-1", whole("limit", max, "-1")),
        (
            "limit=99999999999999999999999",
            whole("limit", max, "99999999999999999999999"),
        ),
        ("min_count=-5", whole("min_count", u64::MAX, "-5")),
        ("window=bogus", format!("{windows}, got bogus")),
        ("window=5M", format!("{windows}, got 5M")),
        ("limit=ten", whole("limit", max, "ten")),
        ("limit=", whole("limit", max, "nothing")),
        (
            "limit=1&limit=2",
            "limit: must be given once, got it more than once".to_owned(),
        ),
    ] {
        for route in ["/api/words", "/export.csv", "/export.json"] {
            let reply = get(&dashboard, route, query).await.unwrap();
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{route}?{query}: {}",
                reply.body
            );
            let detail = reply.json()["detail"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert_eq!(detail, mentions, "{route}?{query}");
        }
    }
    // /events takes only `seen`, and refuses it in the same shape.
    let reply = get(&dashboard, "/events", "seen=-1").await.unwrap();
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.json()["detail"],
        format!(
            "seen: must be a whole number from 0 to {} (the refresh the page was rendered at), got -1",
            u64::MAX
        )
    );
    // A huge but well-formed limit is "all of them", not an error.
    let reply = get(&dashboard, "/api/words", "limit=99999999999")
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["words"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn the_page_clamps_a_hostile_url_into_its_controls_and_escapes_the_search() {
    let dashboard = seeded().await;
    let query = format!(
        "limit=99999999999&min_count=0&interval=99999&window=60m&q={}&filter={}",
        encode(MARKUP[0]),
        encode(MARKUP[1])
    );
    let reply = get(&dashboard, "/", &query).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    check("/", &query, &reply);
    // The search is shown back, escaped.
    let shown = reply
        .body
        .find("wfx")
        .map(|at| &reply.body[at.saturating_sub(40)..at + 60]);
    assert!(
        reply.body.contains("&#60;wfx&#62;alert(1)&#60;/wfx&#62;"),
        "the search is not shown escaped: {shown:?}"
    );
    let pushed = get(&dashboard, "/fragments/main", &query).await.unwrap();
    let url = pushed.headers["hx-push-url"].to_str().unwrap();
    assert!(
        url.contains("limit=100") && url.contains("interval=10"),
        "{url}"
    );
}

#[tokio::test]
async fn repeated_parameters_are_answered_without_a_5xx() {
    let dashboard = seeded().await;
    let repeated = [
        "limit=1&limit=2".to_owned(),
        "window=all&window=bogus".to_owned(),
        "q=a&q=%3Cwfx%3E".to_owned(),
        vec!["q=x"; 2_000].join("&"),
        vec!["unknown=1"; 2_000].join("&"),
    ];
    for route in ROUTES {
        for query in &repeated {
            let reply = get(&dashboard, route, query).await.unwrap();
            check(route, query, &reply);
        }
    }
}

#[test]
fn generated_query_strings_never_get_a_5xx_or_unescaped_markup() {
    // proptest drives plain functions: one runtime and one dashboard for every case.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dashboard = runtime.block_on(seeded());
    let values = hostile_values();
    let pair = (
        prop_oneof![
            4 => proptest::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
            1 => "[a-z_%0-9]{0,8}",
        ],
        prop_oneof![
            3 => proptest::sample::select(values),
            2 => "[ -~]{0,40}".prop_map(|text| encode(&text)),
            1 => "\\PC{0,40}".prop_map(|text| encode(&text)),
            1 => "[%0-9A-Za-z&=+;]{0,40}",
        ],
    );
    let query = proptest::collection::vec(pair, 0..8).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join("&")
    });
    let case = (proptest::sample::select(ROUTES.to_vec()), query);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(2_000));
    let statuses = std::cell::RefCell::new(std::collections::BTreeSet::new());
    runner
        .run(&case, |(route, query)| {
            runtime.block_on(async {
                if let Some(reply) = get(&dashboard, route, &query).await {
                    check(route, &query, &reply);
                    statuses.borrow_mut().insert(reply.status.as_u16());
                }
            });
            Ok(())
        })
        .unwrap();
    // The generators must reach refusals as well as answers, or they prove little.
    let statuses = statuses.into_inner();
    assert!(
        statuses.contains(&200) && statuses.contains(&422),
        "{statuses:?}"
    );
}
