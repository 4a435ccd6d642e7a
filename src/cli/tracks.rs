//! `plexcache tracks`: query the cache with the API's filters, as a table,
//! JSON or CSV. Needs no Plex server.

use std::io::Write;
use std::process::ExitCode;

use crate::store::filter::{MAX_LIMIT, Sort};
use crate::store::{Filter, Store, TrackRow};

#[derive(Debug, clap::Args)]
pub struct TracksArgs {
    #[command(flatten)]
    common: super::CommonArgs,
    /// Genres, any of (comma-separated).
    #[arg(long)]
    genres: Option<String>,
    /// Decades like 1990s (comma-separated).
    #[arg(long)]
    decades: Option<String>,
    /// Minimum user rating, 0–10.
    #[arg(long)]
    min_rating: Option<String>,
    /// Include live recordings (excluded by default).
    #[arg(long)]
    include_live: bool,
    /// Text search over title, artist and album.
    #[arg(long, short)]
    query: Option<String>,
    #[arg(long)]
    artist: Option<String>,
    #[arg(long)]
    year_from: Option<String>,
    #[arg(long)]
    year_to: Option<String>,
    /// true: played at least once; false: never played.
    #[arg(long)]
    played: Option<String>,
    /// Added on or after this date (YYYY-MM-DD).
    #[arg(long)]
    added_since: Option<String>,
    /// title, artist, album, year, rating, duration, added, plays, last_played.
    #[arg(long)]
    sort: Option<String>,
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

impl TracksArgs {
    fn filter(&self) -> anyhow::Result<Filter> {
        let mut filter = Filter::default();
        let params = [
            ("genres", &self.genres),
            ("decades", &self.decades),
            ("min_rating", &self.min_rating),
            ("q", &self.query),
            ("artist", &self.artist),
            ("year_from", &self.year_from),
            ("year_to", &self.year_to),
            ("played", &self.played),
            ("added_since", &self.added_since),
        ];
        for (key, value) in params {
            if let Some(value) = value {
                filter.set(key, value)?;
            }
        }
        filter.exclude_live = !self.include_live;
        filter.validate()?;
        Ok(filter)
    }

    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let settings = self.common.settings()?;
        let filter = self.filter()?;
        let sort = Sort::parse(
            self.sort.as_deref(),
            Some(if self.desc { "desc" } else { "asc" }),
        )?;
        if self.limit > MAX_LIMIT * 100 {
            anyhow::bail!(
                "--limit {} is above the maximum {}",
                self.limit,
                MAX_LIMIT * 100
            );
        }
        let store = Store::open_read_only(&settings.database_path())?;
        if self.count {
            println!("{}", store.count(&filter)?);
            return Ok(ExitCode::SUCCESS);
        }
        let (total, tracks) = match self.sample {
            Some(n) => store.sample(&filter, n)?,
            None => {
                let page = store.tracks(&filter, sort, self.offset, self.limit)?;
                (page.total, page.tracks)
            }
        };
        let mut out = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({ "total": total, "tracks": tracks }),
            )?;
            writeln!(out)?;
        } else if self.csv {
            write_csv(&mut out, &tracks)?;
        } else {
            write_table(&mut out, total, &tracks)?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn write_table(out: &mut impl Write, total: u64, tracks: &[TrackRow]) -> std::io::Result<()> {
    for t in tracks {
        let year = t.year.map(|y| y.to_string()).unwrap_or_default();
        writeln!(
            out,
            "{:<40.40}  {:<28.28}  {:<32.32}  {:>4}",
            t.title.replace(char::is_control, " "),
            t.artist.replace(char::is_control, " "),
            t.album.replace(char::is_control, " "),
            year
        )?;
    }
    writeln!(out, "{} of {total} matching tracks", tracks.len())
}

fn write_csv(out: &mut impl Write, tracks: &[TrackRow]) -> anyhow::Result<()> {
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
    ])?;
    for t in tracks {
        let optional = |v: Option<String>| v.unwrap_or_default();
        csv.write_record([
            t.rating_key.clone(),
            t.title.clone(),
            t.artist.clone(),
            t.album_artist.clone(),
            t.album.clone(),
            optional(t.year.map(|v| v.to_string())),
            t.genres.join("; "),
            optional(t.rating.map(|v| v.to_string())),
            t.play_count.to_string(),
            optional(t.duration_ms.map(|v| v.to_string())),
            t.is_live.to_string(),
        ])?;
    }
    csv.flush()?;
    Ok(())
}
