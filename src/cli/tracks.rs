//! `plexcache tracks`: query the cache with the API's filters, as a table,
//! JSON or CSV. Needs no Plex server. Text from Plex is made harmless for
//! where it goes: no control characters reach the terminal or a CSV file,
//! and no CSV cell starts like a spreadsheet formula; JSON keeps every
//! character (it escapes controls itself). A reader that stops early
//! (`| head`) is not an error.

use std::io::Write;
use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};

use crate::api::tracks::track_rows;
use crate::model::{Filter, FilterParams, MAX_LIMIT, Sort, SortField, Track};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct TracksArgs {
    #[command(flatten)]
    common: super::CommonArgs,
    // Boxed: the parameters are large beside the other commands' flags.
    #[command(flatten)]
    filter: Box<FilterParams>,
    /// The field to sort by (default artist).
    #[arg(long, value_parser = sort_field_parser())]
    sort: Option<SortField>,
    #[arg(long)]
    desc: bool,
    #[arg(long, default_value_t = 50)]
    limit: u64,
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// Print only the number of matching tracks.
    #[arg(long)]
    count: bool,
    /// N random matching tracks instead of a sorted page.
    #[arg(long)]
    sample: Option<u64>,
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    #[arg(long)]
    csv: bool,
}

/// `--sort`: one of `SortField::ALL`'s names.
fn sort_field_parser() -> impl TypedValueParser<Value = SortField> {
    PossibleValuesParser::new(SortField::names()).try_map(|name| SortField::parse(&name))
}

impl TracksArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let settings = self.common.settings()?;
        let filter = Filter::try_from(*self.filter.clone())?;
        let sort = Sort {
            field: self.sort.unwrap_or_default(),
            descending: self.desc,
        };
        if self.limit > MAX_LIMIT * 100 {
            anyhow::bail!(
                "--limit {} is above the maximum {}",
                self.limit,
                MAX_LIMIT * 100
            );
        }
        let store = Store::open_read_only(&settings.database_path())?;
        let mut out = std::io::stdout().lock();
        let written = if self.count {
            let count = store.count(&filter)?;
            writeln!(out, "{count}").and_then(|()| out.flush())
        } else {
            let (total, tracks) = match self.sample {
                Some(n) => store.sample(&filter, n)?,
                None => {
                    let page = store.tracks(&filter, sort, self.offset, self.limit)?;
                    (page.total, page.tracks)
                }
            };
            self.write(&mut out, total, &tracks)
        };
        match written {
            // The reader has all it wanted (`plexcache tracks | head`).
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
            Err(e) => Err(anyhow::Error::new(e).context("writing the tracks")),
            Ok(()) => Ok(ExitCode::SUCCESS),
        }
    }

    fn write(&self, out: &mut impl Write, total: u64, tracks: &[Track]) -> std::io::Result<()> {
        if self.json {
            serde_json::to_writer_pretty(
                &mut *out,
                &serde_json::json!({ "total": total, "tracks": track_rows(tracks.to_vec()) }),
            )?;
            writeln!(out)?;
        } else if self.csv {
            write_csv(&mut *out, tracks)?;
        } else {
            write_table(&mut *out, total, tracks)?;
        }
        out.flush()
    }
}

/// Text for a terminal: control characters (escape sequences, bell, NUL)
/// and the bidirectional overrides that reorder what a line shows become
/// spaces.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            let hidden = c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if hidden { ' ' } else { c }
        })
        .collect()
}

/// A CSV cell that a spreadsheet shows as text: printable, and with a
/// single quote before a leading `=`, `+`, `-` or `@` (OWASP's advice
/// against formula injection; a leading tab or carriage return is already
/// a space, and spreadsheets skip leading spaces).
fn csv_cell(text: &str) -> String {
    let text = printable(text);
    if text.trim_start().starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text
    }
}

fn write_table(out: &mut impl Write, total: u64, tracks: &[Track]) -> std::io::Result<()> {
    for t in tracks {
        let year = t.year.map(|y| y.to_string()).unwrap_or_default();
        writeln!(
            out,
            "{:<40.40}  {:<28.28}  {:<32.32}  {:>4}",
            printable(&t.title),
            printable(&t.artist),
            printable(&t.album),
            year
        )?;
    }
    writeln!(out, "{} of {total} matching tracks", tracks.len())
}

fn write_csv(out: &mut impl Write, tracks: &[Track]) -> std::io::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record([
        "rating_key",
        "title",
        "artist",
        "album_artist",
        "album",
        "year",
        "genres",
        "rating",
        "play_count",
        "duration_ms",
        "is_live",
    ])
    .map_err(csv_io)?;
    for t in tracks {
        let optional = |v: Option<String>| v.unwrap_or_default();
        csv.write_record([
            csv_cell(&t.rating_key),
            csv_cell(&t.title),
            csv_cell(&t.artist),
            csv_cell(&t.album_artist),
            csv_cell(&t.album),
            optional(t.year.map(|v| v.to_string())),
            csv_cell(&t.genres.join("; ")),
            optional(t.rating.map(|v| v.to_string())),
            t.play_count.to_string(),
            optional(t.duration_ms.map(|v| v.to_string())),
            t.is_live.to_string(),
        ])
        .map_err(csv_io)?;
    }
    csv.flush()
}

/// The I/O error under a CSV one (so a closed pipe stays recognisable).
fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_never_start_a_formula_and_hold_no_controls() {
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("\t=1+1"), "' =1+1");
        assert_eq!(csv_cell("\r@x"), "' @x");
        assert_eq!(csv_cell("-3"), "'-3");
        assert_eq!(csv_cell("a=b"), "a=b");
        assert_eq!(csv_cell("Björk"), "Björk");
        assert_eq!(csv_cell("a\u{1b}[2Jb\u{0}"), "a [2Jb ");
    }

    #[test]
    fn terminal_text_loses_controls_and_direction_overrides() {
        assert_eq!(printable("x\u{7}\u{202e}gpj.exe\u{2066}"), "x  gpj.exe ");
        assert_eq!(printable("Sigur Rós"), "Sigur Rós");
    }
}
