//! Integration tests, one binary of modules: the emulator over real HTTP on
//! 127.0.0.1, real SQLite files in temporary directories, `plexcache` as a
//! real child process where a test needs one; no mocks. Set-up comes from
//! the harness (`plexcache-harness`, through [`helpers`]).
//!
//! Run one module with `cargo test --release --test integration security::`.
//! Every test isolates what it changes in the child processes it starts
//! (`sh -c 'ulimit …'` or `umask`), never in this process, so all of them
//! share this binary.

mod api;
mod cli;
mod connections;
mod contract;
mod damage;
mod events;
mod faults;
mod fuzz;
mod helpers;
mod library;
mod live;
mod live_equality;
mod logging;
mod model;
mod operations;
mod patch;
mod plex_robustness;
mod processes;
mod query;
mod refresh;
mod security;
mod service;
mod settings;
mod upgrade;
