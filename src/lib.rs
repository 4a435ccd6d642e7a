//! plexcache: a local SQLite copy of a Plex music library.
//!
//! Data flows one way: [`plex`] (client) → [`sync`] → [`store`] → [`api`] → [`web`].
//! [`emulator`] is a Plex server stand-in for demos, tests and benchmarks;
//! [`cli`] wires the parts into subcommands.

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod locks;
pub mod model;
pub mod plex;
pub mod service;
pub mod store;
pub mod sync;
pub mod web;
