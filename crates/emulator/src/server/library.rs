//! Server and library endpoints other than section listings: `/identity`,
//! `/`, `/library`, `/library/sections`, `/library/metadata/{ids}` and
//! `/library/metadata/{id}/children`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;

use super::Shared;
use super::request::{PageHeaders, PlexError, PlexRequest, document};
use crate::catalog::{Catalog, ItemRef};
use crate::model::{Album, Artist};
use crate::render::{ItemView, Writer, write_album, write_item, write_section, write_track};

const IDENTIFIER: &str = "com.plexapp.plugins.library";
const MEDIA_TAG_PREFIX: &str = "/system/bundle/media/flags/";
const MEDIA_TAG_VERSION: i64 = 1_700_000_000;

pub(crate) async fn identity(State(shared): State<Arc<Shared>>, request: PlexRequest) -> Response {
    let mut w = request.format.writer(0);
    w.open("MediaContainer");
    w.int("size", 0);
    w.flag("claimed", true);
    w.text("machineIdentifier", &shared.machine_identifier());
    w.text("version", &shared.version);
    w.close("MediaContainer");
    document(request.format, w.finish(), None)
}

pub(crate) async fn server_root(
    State(shared): State<Arc<Shared>>,
    request: PlexRequest,
) -> Response {
    let mut w = request.format.writer(0);
    w.open("MediaContainer");
    w.int("size", 0);
    for flag in [
        "allowMediaDeletion",
        "allowSharing",
        "allowSync",
        "certificate",
        "eventStream",
        "hubSearch",
    ] {
        w.flag(flag, true);
    }
    w.text("friendlyName", &shared.friendly_name);
    w.text("machineIdentifier", &shared.machine_identifier());
    w.flag("multiuser", true);
    w.flag("myPlex", true);
    w.text("myPlexMappingState", "mapped");
    w.text("myPlexSigninState", "ok");
    w.flag("myPlexSubscription", true);
    w.text("platform", "Linux");
    w.text("platformVersion", "6.1");
    w.int("transcoderActiveVideoSessions", 0);
    w.flag("transcoderAudio", true);
    w.int("updatedAt", shared.catalog().section_updated_at("1"));
    w.text("version", &shared.version);
    w.close("MediaContainer");
    document(request.format, w.finish(), None)
}

pub(crate) async fn library_root(request: PlexRequest) -> Response {
    let mut w = request.format.writer(3);
    w.open("MediaContainer");
    w.int("size", 3);
    w.flag("allowSync", false);
    w.text("art", "/:/resources/library-art.png");
    w.text("identifier", IDENTIFIER);
    w.text("mediaTagPrefix", MEDIA_TAG_PREFIX);
    w.int("mediaTagVersion", MEDIA_TAG_VERSION);
    w.text("title1", "Plex Library");
    w.text("title2", "");
    w.list("Directory");
    for (key, title) in [
        ("sections", "Library Sections"),
        ("recentlyAdded", "Recently Added Content"),
        ("onDeck", "On Deck Content"),
    ] {
        w.open("Directory");
        w.text("key", key);
        w.text("title", title);
        w.close("Directory");
    }
    w.end_list();
    w.close("MediaContainer");
    document(request.format, w.finish(), None)
}

pub(crate) async fn sections(State(shared): State<Arc<Shared>>, request: PlexRequest) -> Response {
    let catalog = shared.catalog();
    let sections = &catalog.library().sections;
    let mut w = request.format.writer(sections.len());
    w.open("MediaContainer");
    w.uint("size", sections.len() as u64);
    w.flag("allowSync", false);
    w.text("title1", "Plex Library");
    if !sections.is_empty() {
        w.list("Directory");
        for section in sections {
            write_section(w.as_mut(), &catalog, section);
        }
        w.end_list();
    }
    w.close("MediaContainer");
    document(request.format, w.finish(), None)
}

/// Container fields of answers about library items.
fn write_library_container(
    w: &mut dyn Writer,
    catalog: &Catalog,
    section_key: Option<&str>,
    size: usize,
) {
    w.uint("size", size as u64);
    w.flag("allowSync", true);
    w.text("identifier", IDENTIFIER);
    if let Some(section) = section_key.and_then(|key| catalog.section(key)) {
        if let Ok(id) = section.key.parse::<i64>() {
            w.int("librarySectionID", id);
        }
        w.text("librarySectionTitle", &section.title);
        w.text("librarySectionUUID", &section.uuid);
    }
    w.text("mediaTagPrefix", MEDIA_TAG_PREFIX);
    w.int("mediaTagVersion", MEDIA_TAG_VERSION);
}

/// `/library/metadata/{ids}`: the items named, in the order named, with
/// full tag lists. Unknown keys are skipped; none known is 404.
pub(crate) async fn metadata(
    State(shared): State<Arc<Shared>>,
    Path(ids): Path<String>,
    request: PlexRequest,
) -> Result<Response, PlexError> {
    let keys = parse_keys(&ids)?;
    let (body, count) = {
        let catalog = shared.catalog();
        let items: Vec<ItemRef> = keys.iter().filter_map(|&key| catalog.item(key)).collect();
        let Some(&first) = items.first() else {
            return Err(PlexError::NotFound);
        };
        let mut w = request.format.writer(items.len());
        w.open("MediaContainer");
        write_library_container(
            w.as_mut(),
            &catalog,
            Some(item_section(&catalog, first)),
            items.len(),
        );
        w.list("Metadata");
        for &item in &items {
            write_item(w.as_mut(), &catalog, item, ItemView::Metadata);
        }
        w.end_list();
        w.close("MediaContainer");
        (w.finish(), items.len())
    };
    shared.serve_items(count).await;
    Ok(document(request.format, body, None))
}

fn parse_keys(ids: &str) -> Result<Vec<u64>, PlexError> {
    ids.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.trim()
                .parse::<u64>()
                .map_err(|_| PlexError::BadRequest(format!("bad rating key {part:?}")))
        })
        .collect()
}

fn item_section(catalog: &Catalog, item: ItemRef) -> &str {
    match item {
        ItemRef::Track(i) => &catalog.track(i).section,
        ItemRef::Album(i) => &catalog.album_at(i).section,
        ItemRef::Artist(i) => &catalog.artist_at(i).section,
    }
}

/// `/library/metadata/{id}/children`: an album's tracks or an artist's
/// albums (a track has none). The container carries the parent's fields.
pub(crate) async fn children(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request: PlexRequest,
) -> Result<Response, PlexError> {
    let key = id
        .parse::<u64>()
        .map_err(|_| PlexError::BadRequest(format!("bad rating key {id:?}")))?;
    let (body, count, page) = {
        let catalog = shared.catalog();
        let item = catalog.item(key).ok_or(PlexError::NotFound)?;
        let mut w = request.format.writer(64);
        let (count, page) = match item {
            ItemRef::Album(i) => {
                album_children(w.as_mut(), &catalog, catalog.album_at(i), &request)
            }
            ItemRef::Artist(i) => {
                artist_children(w.as_mut(), &catalog, catalog.artist_at(i), &request)
            }
            ItemRef::Track(i) => {
                w.open("MediaContainer");
                write_library_container(w.as_mut(), &catalog, Some(&catalog.track(i).section), 0);
                w.close("MediaContainer");
                (0, None)
            }
        };
        (w.finish(), count, page)
    };
    shared.serve_items(count).await;
    Ok(document(request.format, body, page))
}

fn album_children(
    w: &mut dyn Writer,
    catalog: &Catalog,
    album: &Album,
    request: &PlexRequest,
) -> (usize, Option<PageHeaders>) {
    let tracks = catalog.album_tracks(album.rating_key);
    let (start, count) = request.paging.window(tracks.len(), None);
    let artist = catalog.artist(album.artist_key);
    w.open("MediaContainer");
    write_library_container(w, catalog, None, count);
    let page = write_paging(w, request, start, tracks.len());
    w.key_text("key", album.rating_key);
    w.key_text("grandparentRatingKey", album.artist_key);
    if let Some(artist) = artist.filter(|a| !a.title.is_empty()) {
        w.text("grandparentTitle", &artist.title);
    }
    if let Ok(id) = album.section.parse::<i64>() {
        w.int_text("librarySectionID", id);
    }
    w.int("parentIndex", 1);
    w.text_if("parentTitle", &album.title);
    if let Some(year) = album.year {
        w.int_text("parentYear", i64::from(year));
    }
    w.text(
        "thumb",
        &format!(
            "/library/metadata/{}/thumb/{}",
            album.rating_key, album.updated_at
        ),
    );
    w.text_if("title1", artist.map_or("", |a| a.title.as_str()));
    w.text_if("title2", &album.title);
    w.text("viewGroup", "track");
    if count > 0 {
        w.list("Metadata");
        for &i in &tracks[start..start + count] {
            write_track(w, catalog, catalog.track(i), ItemView::Children);
        }
        w.end_list();
    }
    w.close("MediaContainer");
    (count, page)
}

fn artist_children(
    w: &mut dyn Writer,
    catalog: &Catalog,
    artist: &Artist,
    request: &PlexRequest,
) -> (usize, Option<PageHeaders>) {
    let albums = catalog.artist_albums(artist.rating_key);
    let (start, count) = request.paging.window(albums.len(), None);
    w.open("MediaContainer");
    write_library_container(w, catalog, None, count);
    let page = write_paging(w, request, start, albums.len());
    w.key_text("key", artist.rating_key);
    if let Ok(id) = artist.section.parse::<i64>() {
        w.int_text("librarySectionID", id);
    }
    w.text_if("parentTitle", &artist.title);
    w.text_if("title1", &artist.title);
    w.text("title2", "Albums");
    w.text("viewGroup", "album");
    if count > 0 {
        w.list("Metadata");
        for &i in &albums[start..start + count] {
            write_album(w, catalog, catalog.album_at(i), ItemView::Children);
        }
        w.end_list();
    }
    w.close("MediaContainer");
    (count, page)
}

/// `totalSize` and `offset` of a paged answer, and its headers.
fn write_paging(
    w: &mut dyn Writer,
    request: &PlexRequest,
    start: usize,
    total: usize,
) -> Option<PageHeaders> {
    if !request.paging.is_paged() {
        return None;
    }
    w.uint("totalSize", total as u64);
    w.uint("offset", start as u64);
    Some(PageHeaders {
        start,
        total: Some(total),
    })
}

pub(crate) async fn not_found() -> PlexError {
    PlexError::NotFound
}
