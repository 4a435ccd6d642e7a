//! Integration tests: the emulator over real HTTP on 127.0.0.1, a real
//! SQLite file in a temporary directory, no mocks.

mod api;
mod cli;
mod contract;
mod damage;
mod faults;
mod helpers;
mod library;
mod model;
mod plex_robustness;
mod processes;
mod query;
mod settings;
