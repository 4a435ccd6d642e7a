//! `plexcache-tools`: see [`plexcache_tools::cli`].

fn main() -> std::process::ExitCode {
    plexcache_tools::cli::main()
}
