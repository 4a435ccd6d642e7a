//! plexcache's tools: the benchmark ([`bench`]) and the soak ([`soak`]).
//! Both drive the real product (its library API in-process, its binary as a
//! child process) against the Plex emulator, and neither ships in the
//! product binary.

pub mod bench;
pub mod cli;
pub mod soak;
