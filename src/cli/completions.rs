//! `plexcache completions SHELL` and `plexcache man`: shell completions and
//! the manual page, generated from the same clap definitions as the parser,
//! so they never drift from it.

use std::process::ExitCode;

use clap::CommandFactory;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

impl CompletionsArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let mut command = super::Cli::command();
        let mut script = Vec::new();
        clap_complete::generate(self.shell, &mut command, "plexcache", &mut script);
        write_stdout(&script)
    }
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {}

impl ManArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let mut roff = Vec::new();
        clap_mangen::Man::new(super::Cli::command()).render(&mut roff)?;
        write_stdout(&roff)
    }
}

/// Writes to standard output; a reader that stops early (`| head`) is fine.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}
