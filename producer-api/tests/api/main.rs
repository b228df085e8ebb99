//! The producer API end to end over HTTP, against a real broker where the broker matters.

mod bad_input;
mod binary;
mod failure;
mod helpers;
mod hostile_bodies;
mod secrets;
mod security;
mod submit;
mod surface;
