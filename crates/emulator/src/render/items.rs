//! The fields of each kind of item as a real server sends them: tracks
//! (with `Media`/`Part`), albums and artists (`Directory`), playlists and
//! library sections. What an item carries depends on where it is shown
//! ([`ItemView`]): listings truncate tag lists, `/children` leaves out what
//! its container already says, metadata answers carry everything.

use crate::catalog::{Catalog, ItemRef, SECTION_CREATED_AT};
use crate::model::{Album, Artist, Playlist, Section, SectionKind, Track};
use crate::order::title_sort;

use super::{Piece, Writer, num};

const METADATA: &str = "/library/metadata/";
const ALBUM_GUID: &str = "plex://album/";
const ARTIST_GUID: &str = "plex://artist/";

/// Listings send at most this many tags of a kind per item.
const LISTING_TAG_LIMIT: usize = 3;

/// Where an item is shown, which decides the fields it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemView {
    /// `/library/sections/{key}/all`.
    Listing,
    /// `/library/metadata/{ids}`: everything, full tag lists.
    Metadata,
    /// `/library/metadata/{id}/children`: without the parent's fields.
    Children,
    /// `/playlists/{id}/items`, with the item's id in the playlist.
    PlaylistItem(u64),
}

impl ItemView {
    fn tag_limit(self) -> usize {
        match self {
            ItemView::Listing | ItemView::Children => LISTING_TAG_LIMIT,
            ItemView::Metadata | ItemView::PlaylistItem(_) => usize::MAX,
        }
    }

    fn carries_section(self) -> bool {
        matches!(self, ItemView::Metadata | ItemView::PlaylistItem(_))
    }
}

/// Writes any library item.
pub(crate) fn write_item(w: &mut dyn Writer, catalog: &Catalog, item: ItemRef, view: ItemView) {
    match item {
        ItemRef::Track(i) => write_track(w, catalog, catalog.track(i), view),
        ItemRef::Album(i) => write_album(w, catalog, catalog.album_at(i), view),
        ItemRef::Artist(i) => write_artist(w, catalog, catalog.artist_at(i), view),
    }
}

pub(crate) fn write_track(w: &mut dyn Writer, catalog: &Catalog, track: &Track, view: ItemView) {
    let album = catalog.album(track.album_key);
    let artist = catalog.artist(track.artist_key);
    let key = track.rating_key;
    w.open("Track");
    w.key_text("ratingKey", key);
    w.text_pieces("key", &[METADATA.into(), num(key)]);
    w.key_text("parentRatingKey", track.album_key);
    w.key_text("grandparentRatingKey", track.artist_key);
    write_track_guid(w, key);
    w.text_pieces("parentGuid", &[ALBUM_GUID.into(), num(track.album_key)]);
    w.text_pieces(
        "grandparentGuid",
        &[ARTIST_GUID.into(), num(track.artist_key)],
    );
    w.text("type", "track");
    w.text("title", &track.title);
    if let Some(sort) = track.title_sort.as_deref().or(title_sort(&track.title)) {
        w.text("titleSort", sort);
    }
    w.text_pieces("grandparentKey", &[METADATA.into(), num(track.artist_key)]);
    w.text_pieces("parentKey", &[METADATA.into(), num(track.album_key)]);
    if view.carries_section() {
        write_section_reference(w, catalog, &track.section);
    }
    write_track_parents(w, track, album, artist, view);
    if let Some(original) = &track.original_title {
        w.text("originalTitle", original);
    }
    write_track_numbers(w, track);
    write_track_images(w, track, album, artist);
    if let Some(duration) = track.duration_ms {
        w.uint("duration", duration);
    }
    w.int("addedAt", track.added_at);
    w.int("updatedAt", track.updated_at);
    w.int("musicAnalysisVersion", 1);
    if let ItemView::PlaylistItem(id) = view {
        w.uint("playlistItemID", id);
    }
    write_media(w, track);
    w.genres(&track.genres, usize::MAX);
    w.close("Track");
}

/// Album and artist titles and the album's year, where the view wants them.
fn write_track_parents(
    w: &mut dyn Writer,
    track: &Track,
    album: Option<&Album>,
    artist: Option<&Artist>,
    view: ItemView,
) {
    if view == ItemView::Children {
        return;
    }
    if let Some(artist) = artist {
        w.text_if("grandparentTitle", &artist.title);
    }
    if let Some(album) = album {
        w.text_if("parentTitle", &album.title);
        // Real listings leave parentYear out on some tracks.
        let listed_without_year = view == ItemView::Listing && track.rating_key.is_multiple_of(3);
        if let Some(year) = album.year
            && !listed_without_year
        {
            w.int("parentYear", i64::from(year));
        }
    }
}

fn write_track_numbers(w: &mut dyn Writer, track: &Track) {
    if let Some(index) = track.index {
        w.int("index", i64::from(index));
    }
    if let Some(disc) = track.parent_index {
        w.int("parentIndex", i64::from(disc));
    }
    if let Some(rating) = track.user_rating {
        // Some answers say 6, others 6.0.
        w.float("userRating", rating, track.rating_key.is_multiple_of(2));
    }
    if let Some(views) = track.view_count {
        w.int("viewCount", i64::from(views));
    }
    if let Some(last) = track.last_viewed_at {
        w.int("lastViewedAt", last);
    }
    if let Some(rated) = track.last_rated_at {
        w.int("lastRatedAt", rated);
    }
    if let Some(skips) = track.skip_count {
        w.int("skipCount", i64::from(skips));
    }
}

fn write_track_images(
    w: &mut dyn Writer,
    track: &Track,
    album: Option<&Album>,
    artist: Option<&Artist>,
) {
    let album_stamp = album.map_or(track.updated_at, |a| a.updated_at);
    let artist_stamp = artist.map_or(track.updated_at, |a| a.updated_at);
    let album_thumb = [
        METADATA.into(),
        num(track.album_key),
        "/thumb/".into(),
        num(album_stamp),
    ];
    w.text_pieces("thumb", &album_thumb);
    w.text_pieces("parentThumb", &album_thumb);
    let artist_image = |kind| {
        [
            METADATA.into(),
            num(track.artist_key),
            kind,
            num(artist_stamp),
        ]
    };
    w.text_pieces("grandparentThumb", &artist_image("/thumb/".into()));
    w.text_pieces("grandparentArt", &artist_image("/art/".into()));
}

fn write_media(w: &mut dyn Writer, track: &Track) {
    let container = media_container(&track.codec);
    w.list("Media");
    w.open("Media");
    w.uint("id", track.rating_key);
    if let Some(duration) = track.duration_ms {
        w.uint("duration", duration);
    }
    w.int("bitrate", i64::from(track.bitrate));
    w.int("audioChannels", 2);
    w.text("audioCodec", &track.codec);
    w.text("container", container);
    w.list("Part");
    w.open("Part");
    w.uint("id", track.rating_key);
    let part_id = num(track.rating_key);
    let file_name = Piece::Text(container);
    w.text_pieces(
        "key",
        &[
            "/library/parts/".into(),
            part_id,
            "/".into(),
            num(track.added_at),
            "/file.".into(),
            file_name,
        ],
    );
    if let Some(duration) = track.duration_ms {
        w.uint("duration", duration);
    }
    w.text("file", &track.file);
    w.uint("size", track.size);
    w.text("container", container);
    w.close("Part");
    w.end_list();
    w.close("Media");
    w.end_list();
}

fn media_container(codec: &str) -> &str {
    match codec {
        "aac" => "mp4",
        other => other,
    }
}

/// Some tracks have a local guid, the others an agent guid.
fn write_track_guid(w: &mut dyn Writer, rating_key: u64) {
    let scheme = if rating_key.is_multiple_of(4) {
        "local://"
    } else {
        "plex://track/"
    };
    w.text_pieces("guid", &[Piece::Text(scheme), num(rating_key)]);
}

pub(crate) fn write_album(w: &mut dyn Writer, catalog: &Catalog, album: &Album, view: ItemView) {
    let key = album.rating_key;
    let artist = catalog.artist(album.artist_key);
    w.open("Directory");
    w.key_text("ratingKey", key);
    w.text_pieces("key", &[METADATA.into(), num(key), "/children".into()]);
    w.key_text("parentRatingKey", album.artist_key);
    w.text_pieces("guid", &[ALBUM_GUID.into(), num(key)]);
    w.text_pieces("parentGuid", &[ARTIST_GUID.into(), num(album.artist_key)]);
    w.text("type", "album");
    w.text_if("title", &album.title);
    if let Some(sort) = title_sort(&album.title) {
        w.text("titleSort", sort);
    }
    w.text_pieces("parentKey", &[METADATA.into(), num(album.artist_key)]);
    if view.carries_section() {
        write_section_reference(w, catalog, &album.section);
    }
    if let Some(artist) = artist {
        w.text_if("parentTitle", &artist.title);
    }
    w.int("index", 1);
    if let Some(year) = album.year {
        w.int("year", i64::from(year));
        w.text("originallyAvailableAt", &release_date(year, key));
    }
    w.text_pieces(
        "thumb",
        &[
            METADATA.into(),
            num(key),
            "/thumb/".into(),
            num(album.updated_at),
        ],
    );
    if let Some(artist) = artist {
        let stamp = num(artist.updated_at);
        w.text_pieces(
            "parentThumb",
            &[
                METADATA.into(),
                num(artist.rating_key),
                "/thumb/".into(),
                stamp,
            ],
        );
    }
    w.int("addedAt", album.added_at);
    w.int("updatedAt", album.updated_at);
    if let Some(deleted) = album.deleted_at {
        w.int("deletedAt", deleted);
    }
    write_album_counts(w, catalog, key);
    w.int("musicAnalysisVersion", 1);
    w.genres(&album.genres, view.tag_limit());
    w.close("Directory");
}

/// `leafCount` and `viewedLeafCount`, in listings as in metadata (a
/// reconcile compares `leafCount` with what it holds).
fn write_album_counts(w: &mut dyn Writer, catalog: &Catalog, album_key: u64) {
    let tracks = catalog.album_tracks(album_key);
    let viewed = tracks
        .iter()
        .filter(|&&i| catalog.track(i).view_count.is_some())
        .count();
    w.uint("leafCount", tracks.len() as u64);
    w.uint("viewedLeafCount", viewed as u64);
}

/// A release date in the album's year, stable for the album.
fn release_date(year: i32, rating_key: u64) -> String {
    let month = rating_key % 12 + 1;
    let day = rating_key % 28 + 1;
    format!("{year:04}-{month:02}-{day:02}")
}

pub(crate) fn write_artist(w: &mut dyn Writer, catalog: &Catalog, artist: &Artist, view: ItemView) {
    let key = artist.rating_key;
    w.open("Directory");
    w.key_text("ratingKey", key);
    w.text_pieces("key", &[METADATA.into(), num(key), "/children".into()]);
    w.text_pieces("guid", &[ARTIST_GUID.into(), num(key)]);
    w.text("type", "artist");
    w.text_if("title", &artist.title);
    if let Some(sort) = title_sort(&artist.title) {
        w.text("titleSort", sort);
    }
    if view.carries_section() {
        write_section_reference(w, catalog, &artist.section);
    }
    w.int("index", 1);
    w.text_pieces(
        "thumb",
        &[
            METADATA.into(),
            num(key),
            "/thumb/".into(),
            num(artist.updated_at),
        ],
    );
    w.text_pieces(
        "art",
        &[
            METADATA.into(),
            num(key),
            "/art/".into(),
            num(artist.updated_at),
        ],
    );
    w.int("addedAt", artist.added_at);
    w.int("updatedAt", artist.updated_at);
    w.genres(&artist.genres, view.tag_limit());
    w.close("Directory");
}

/// `librarySectionID`, `librarySectionKey`, `librarySectionTitle`.
fn write_section_reference(w: &mut dyn Writer, catalog: &Catalog, section_key: &str) {
    let Some(section) = catalog.section(section_key) else {
        return;
    };
    if let Ok(id) = section.key.parse::<i64>() {
        w.int("librarySectionID", id);
    }
    w.text_pieces(
        "librarySectionKey",
        &["/library/sections/".into(), Piece::Text(&section.key)],
    );
    w.text("librarySectionTitle", &section.title);
}

pub(crate) fn write_playlist(w: &mut dyn Writer, catalog: &Catalog, playlist: &Playlist) {
    let key = playlist.rating_key;
    let stamp = catalog.library().tracks.first().map_or(0, |t| t.updated_at);
    w.open("Playlist");
    w.key_text("ratingKey", key);
    w.text("key", &format!("/playlists/{key}/items"));
    w.text(
        "guid",
        &format!("com.plexapp.agents.none://plexcache-emulator-{key}"),
    );
    w.text("type", "playlist");
    w.text("title", &playlist.title);
    w.text("summary", "");
    w.flag("smart", false);
    w.text("playlistType", "audio");
    w.text("composite", &format!("/playlists/{key}/composite/{stamp}"));
    w.text("icon", "playlist://image.smart");
    w.uint("duration", catalog.playlist_duration(playlist));
    w.uint("leafCount", playlist.items.len() as u64);
    w.close("Playlist");
}

pub(crate) fn write_section(w: &mut dyn Writer, catalog: &Catalog, section: &Section) {
    let (agent, scanner) = match section.kind {
        SectionKind::Music => ("tv.plex.agents.music", "Plex Music"),
        SectionKind::Movie => ("tv.plex.agents.movie", "Plex Movie"),
    };
    let markers = catalog.section_markers(&section.key);
    let updated_at = markers.updated_at;
    w.open("Directory");
    w.flag("allowSync", true);
    w.text(
        "art",
        &format!("/:/resources/{}-fanart.jpg", section.kind.plex_type()),
    );
    w.text(
        "composite",
        &format!("/library/sections/{}/composite/{updated_at}", section.key),
    );
    w.flag("filters", true);
    w.flag("refreshing", false);
    w.text(
        "thumb",
        &format!("/:/resources/{}.png", section.kind.plex_type()),
    );
    w.text("key", &section.key);
    w.text("type", section.kind.plex_type());
    w.text("title", &section.title);
    w.text("agent", agent);
    w.text("scanner", scanner);
    w.text("language", "en-US");
    w.text("uuid", &section.uuid);
    w.int("updatedAt", updated_at);
    w.int("createdAt", SECTION_CREATED_AT);
    w.int("scannedAt", markers.scanned_at);
    w.flag("content", true);
    w.flag("directory", true);
    w.int("contentChangedAt", markers.content_changed_at);
    w.flag("hidden", false);
    w.list("Location");
    w.open("Location");
    w.int("id", section.key.parse::<i64>().unwrap_or(0));
    w.text("path", &format!("/data/{}", section.title.to_lowercase()));
    w.close("Location");
    w.end_list();
    w.close("Directory");
}
