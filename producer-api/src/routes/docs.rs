//! `GET /openapi.json`, generated from the handlers and types, and `GET /docs`, Swagger UI served
//! from the binary (its assets are vendored at build time: no CDN, works offline).

use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::routes::{health, submit};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Word Count Producer API",
        description = "Submit text to be counted. A 200 means the Kafka broker has stored the text.",
    ),
    paths(health::root, health::health, submit::submit_text, submit::submit_texts),
    modifiers(&SecuritySchemes),
    tags(
        (name = "submit", description = "Submitting text"),
        (name = "health", description = "Liveness and broker health"),
    )
)]
pub struct ApiDoc;

/// The two ways to present an API key, when `API_KEYS` is set.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The docs routes.
pub fn router() -> Router<AppState> {
    SwaggerUi::new("/docs")
        .url("/openapi.json", ApiDoc::openapi())
        .into()
}
