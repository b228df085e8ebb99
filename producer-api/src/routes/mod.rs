//! The API's routes, one file per concern.

pub mod docs;
pub mod health;
pub mod submit;
