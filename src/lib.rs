//! plexcache: a local SQLite copy of a Plex music library.
//!
//! Dependencies point one way. [`model`] holds the domain types every part
//! shares; [`plex`] (the client) turns Plex's answers into them and
//! [`store`] keeps them in SQLite (SQL in, model out); [`sync`] copies the
//! library from one to the other; [`service`] (`Library`: the sync engine,
//! settings, Plex probe and background scheduler) is the application;
//! [`api`] (HTTP, serving the [`web`] page) and [`cli`] call the service.
//! [`config`] declares the settings once; [`clock`], [`errors`] and
//! [`locks`] are small helpers for all. The Plex emulator, the test harness
//! and the bench and soak tools are crates of their own (`crates/`); see
//! `docs/architecture.md`.

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod errors;
pub mod locks;
pub mod metrics;
pub mod model;
pub mod plex;
pub mod service;
pub mod store;
pub mod sync;
pub mod web;
