//! The vendored assets: served from the binary, cacheable, revalidated by ETag.

use axum::body::Body;
use axum::http::Request;

use crate::helpers::TestDashboard;

#[tokio::test]
async fn every_asset_the_page_links_is_served_from_the_binary_with_cache_headers() {
    let dashboard = TestDashboard::without_api();
    let page = dashboard.get("/").await.body;
    let links: Vec<&str> = page
        .split("/static/")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(links.len(), 4, "{links:?}");
    for link in links {
        let reply = dashboard.get(&format!("/static/{link}")).await;
        assert_eq!(reply.status, 200, "{link}");
        assert_eq!(
            reply.headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(reply.body.len() > 100, "{link} is empty");
        let etag = reply.headers["etag"].clone();
        let again = dashboard
            .send(
                Request::get(format!("/static/{link}"))
                    .header("if-none-match", etag)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(again.status, 304, "{link}");
    }
    assert!(page.contains("htmx.min.js") && page.contains("htmx-ext-sse.js"));
    assert!(
        !page.contains("https://"),
        "the page loads nothing from elsewhere"
    );
}

#[tokio::test]
async fn an_unknown_asset_is_404() {
    let reply = TestDashboard::without_api().get("/static/nope.js").await;
    assert_eq!(reply.status, 404);
}
