//! The dashboard's routes, driven with `oneshot` through `dashboard::app`: every route, every
//! filter, escaping, the producer API up and down, and the store down and back.

mod helpers;

mod api;
mod assets;
mod health_evidence;
mod hostile_queries;
mod live;
mod pages;
mod resilience;
mod secrets;
mod submit;
