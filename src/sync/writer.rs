//! The sync's single writer: a blocking thread that owns the store's write
//! transaction and takes batches over a bounded channel, so network fetches
//! and inserts overlap while memory stays bounded. If the channel closes
//! before `Finish`, the transaction rolls back and the old library stays.

use tokio::sync::{mpsc, oneshot};

use crate::plex::{Parent, Track};
use crate::store::write::{Committed, Finish, LibraryWriter, ParentKind};
use crate::store::{Store, StoreError};

use super::SyncError;
use super::background::lower_priority;
use super::derive::{cap_parent, cap_track, new_track, timestamp};

pub enum Batch {
    Parents(ParentKind, Vec<Parent>),
    /// Full genre lists that replace truncated ones.
    ParentGenres(Vec<Parent>),
    Tracks(String, Vec<Track>),
    RestartTracks,
    Count(oneshot::Sender<Result<i64, StoreError>>),
    Finish {
        machine_identifier: String,
        server_name: String,
        started_at_ms: i64,
        /// The section keys the sync covered.
        sections: Vec<String>,
        /// Their `contentChangedAt`, as read before the first listing.
        markers: Vec<(String, i64)>,
        reply: oneshot::Sender<Result<Committed, StoreError>>,
    },
}

/// Batches in flight between fetchers and the writer.
const CHANNEL_DEPTH: usize = 4;

pub struct WriterHandle {
    pub sender: mpsc::Sender<Batch>,
    /// Resolves when the writer thread ends (an error if it panicked).
    pub done: oneshot::Receiver<Result<(), StoreError>>,
}

pub fn spawn(store: &Store) -> Result<WriterHandle, SyncError> {
    let writer = store.replace_library()?;
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    let (report, done) = oneshot::channel();
    // A thread of its own rather than a pooled one: it runs at a lower
    // priority, which must not outlive it (an unprivileged thread cannot
    // raise its priority back).
    std::thread::Builder::new()
        .name("plexcache-writer".into())
        .spawn(move || {
            lower_priority();
            let _ = report.send(run(writer, receiver));
        })
        .map_err(|source| SyncError::Thread {
            what: "writer",
            source,
        })?;
    Ok(WriterHandle { sender, done })
}

fn run(mut writer: LibraryWriter, mut receiver: mpsc::Receiver<Batch>) -> Result<(), StoreError> {
    while let Some(batch) = receiver.blocking_recv() {
        match batch {
            Batch::Parents(kind, mut parents) => {
                parents.iter_mut().for_each(cap_parent);
                for p in &parents {
                    writer.add_parent(
                        kind,
                        &p.rating_key,
                        p.parent_key.as_deref(),
                        p.title.as_deref(),
                        p.year,
                        timestamp(p.updated_at),
                        &p.genres,
                    )?;
                }
            }
            Batch::ParentGenres(mut parents) => {
                parents.iter_mut().for_each(cap_parent);
                for p in &parents {
                    writer.set_parent_genres(&p.rating_key, &p.genres)?;
                }
            }
            Batch::Tracks(section, mut tracks) => {
                tracks.iter_mut().for_each(cap_track);
                for t in &tracks {
                    // Look up only what the listing lacks (usually nothing).
                    let lacks_album = t.album.is_none() || t.album_year.is_none();
                    let album = t.album_key.as_deref().filter(|_| lacks_album);
                    let artist = t.artist_key.as_deref().filter(|_| t.album_artist.is_none());
                    let parent = writer.parent_info(album, artist)?;
                    writer.add_track(&new_track(t, &section, &parent))?;
                }
            }
            Batch::RestartTracks => writer.restart_tracks()?,
            Batch::Count(reply) => {
                let _ = reply.send(writer.track_count());
            }
            Batch::Finish {
                machine_identifier,
                server_name,
                started_at_ms,
                sections,
                markers,
                reply,
            } => {
                let result = writer.finish(&Finish {
                    machine_identifier: &machine_identifier,
                    server_name: &server_name,
                    started_at_ms,
                    sections: &sections,
                    markers: &markers,
                });
                let _ = reply.send(result);
                return Ok(());
            }
        }
    }
    // The sender went away without Finish: cancelled or failed. Dropping the
    // writer rolls the transaction back.
    Ok(())
}
