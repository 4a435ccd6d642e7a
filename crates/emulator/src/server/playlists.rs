//! Audio playlists: create from a `server://…/library/metadata/{keys}` URI
//! (no body), add more the same way, list them, show one, list its items,
//! delete it. Unknown keys in a URI are left out, as a real server does.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;

use super::Shared;
use super::request::{PageHeaders, PlexError, PlexRequest, document};
use crate::catalog::{Catalog, ItemRef};
use crate::model::Playlist;
use crate::render::{Format, ItemView, Writer, write_playlist, write_track};

const LIBRARY_PATH: &str = "com.plexapp.plugins.library/library/metadata/";

/// Rating keys named by a `server://{machine}/com.plexapp.plugins.library/
/// library/metadata/{k1,k2,...}` URI of this server.
fn keys_of_uri(uri: &str, machine_identifier: &str) -> Result<Vec<u64>, PlexError> {
    let bad = |why: &str| PlexError::BadRequest(format!("playlist uri {why}"));
    let rest = uri
        .strip_prefix("server://")
        .ok_or_else(|| bad("is not a server:// uri"))?;
    let (machine, path) = rest.split_once('/').ok_or_else(|| bad("has no path"))?;
    if machine != machine_identifier {
        return Err(bad("names another server"));
    }
    let keys = path
        .strip_prefix(LIBRARY_PATH)
        .ok_or_else(|| bad("is not a library metadata uri"))?;
    keys.split(',')
        .filter(|key| !key.is_empty())
        .map(|key| {
            key.parse::<u64>()
                .map_err(|_| bad("holds a key that is not a number"))
        })
        .collect()
}

fn playlist_key(id: &str) -> Result<u64, PlexError> {
    id.parse::<u64>().map_err(|_| PlexError::NotFound)
}

/// Tracks named by the request's `uri` parameter.
fn requested_tracks(shared: &Shared, request: &PlexRequest) -> Result<Vec<u64>, PlexError> {
    let uri = request
        .param("uri")
        .ok_or_else(|| PlexError::BadRequest("uri is missing".into()))?;
    let keys = keys_of_uri(uri, &shared.machine_identifier())?;
    Ok(shared.catalog().resolve_tracks(&keys))
}

/// `POST /playlists?type=audio&title=T&smart=0&uri=...`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    request: PlexRequest,
) -> Result<Response, PlexError> {
    if request.param("type") != Some("audio") {
        return Err(PlexError::BadRequest(
            "only audio playlists are supported".into(),
        ));
    }
    if request.param("smart").is_some_and(|smart| smart != "0") {
        return Err(PlexError::BadRequest(
            "smart playlists are not supported".into(),
        ));
    }
    let title = request.param("title").filter(|t| !t.is_empty());
    let title = title
        .ok_or_else(|| PlexError::BadRequest("title is missing".into()))?
        .to_string();
    let tracks = requested_tracks(&shared, &request)?;
    let mut catalog = shared.catalog_mut();
    let playlist = catalog.create_playlist(&title, tracks);
    Ok(playlist_answer(&catalog, &playlist, request.format, None))
}

/// `PUT /playlists/{id}/items?uri=...`.
pub(crate) async fn add_items(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request: PlexRequest,
) -> Result<Response, PlexError> {
    let key = playlist_key(&id)?;
    let tracks = requested_tracks(&shared, &request)?;
    let mut catalog = shared.catalog_mut();
    let playlist = catalog
        .add_to_playlist(key, &tracks)
        .ok_or(PlexError::NotFound)?;
    Ok(playlist_answer(
        &catalog,
        &playlist,
        request.format,
        Some(tracks.len()),
    ))
}

/// A container holding one playlist (and, after adding, how many items
/// were added).
fn playlist_answer(
    catalog: &Catalog,
    playlist: &Playlist,
    format: Format,
    added: Option<usize>,
) -> Response {
    let mut w = format.writer(1);
    w.open("MediaContainer");
    w.int("size", 1);
    if let Some(added) = added {
        w.uint("leafCountAdded", added as u64);
        w.uint("leafCountRequested", added as u64);
    }
    w.list("Metadata");
    write_playlist(w.as_mut(), catalog, playlist);
    w.end_list();
    w.close("MediaContainer");
    document(format, w.finish(), None)
}

/// `GET /playlists[?playlistType=audio]`.
pub(crate) async fn list(State(shared): State<Arc<Shared>>, request: PlexRequest) -> Response {
    let catalog = shared.catalog();
    let wanted = request.param("playlistType").is_none_or(|t| t == "audio");
    let playlists: &[Playlist] = if wanted { catalog.playlists() } else { &[] };
    let mut w = request.format.writer(playlists.len());
    w.open("MediaContainer");
    w.uint("size", playlists.len() as u64);
    if !playlists.is_empty() {
        w.list("Metadata");
        for playlist in playlists {
            write_playlist(w.as_mut(), &catalog, playlist);
        }
        w.end_list();
    }
    w.close("MediaContainer");
    document(request.format, w.finish(), None)
}

/// `GET /playlists/{id}`.
pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request: PlexRequest,
) -> Result<Response, PlexError> {
    let key = playlist_key(&id)?;
    let catalog = shared.catalog();
    let playlist = catalog.playlist(key).ok_or(PlexError::NotFound)?;
    Ok(playlist_answer(&catalog, playlist, request.format, None))
}

/// `DELETE /playlists/{id}`.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, PlexError> {
    let key = playlist_key(&id)?;
    if !shared.catalog_mut().delete_playlist(key) {
        return Err(PlexError::NotFound);
    }
    Ok(Response::default())
}

/// `GET /playlists/{id}/items`: the tracks, each with its `playlistItemID`.
pub(crate) async fn items(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request: PlexRequest,
) -> Result<Response, PlexError> {
    let key = playlist_key(&id)?;
    let (body, count, page) = {
        let catalog = shared.catalog();
        let playlist = catalog.playlist(key).ok_or(PlexError::NotFound)?;
        let total = playlist.items.len();
        let (start, count) = request.paging.window(total, None);
        let mut w = request.format.writer(count);
        w.open("MediaContainer");
        w.uint("size", count as u64);
        let page = request.paging.is_paged().then(|| {
            w.uint("totalSize", total as u64);
            w.uint("offset", start as u64);
            PageHeaders {
                start,
                total: Some(total),
            }
        });
        write_playlist_container(w.as_mut(), &catalog, playlist);
        write_playlist_tracks(w.as_mut(), &catalog, playlist, start, count);
        w.close("MediaContainer");
        (w.finish(), count, page)
    };
    shared.serve_items(count).await;
    Ok(document(request.format, body, page))
}

fn write_playlist_container(w: &mut dyn Writer, catalog: &Catalog, playlist: &Playlist) {
    let key = playlist.rating_key;
    w.text("composite", &format!("/playlists/{key}/composite"));
    w.uint("duration", catalog.playlist_duration(playlist));
    w.text("key", &format!("/playlists/{key}/items"));
    w.uint("leafCount", playlist.items.len() as u64);
    w.text("playlistType", "audio");
    w.key_text("ratingKey", key);
    w.flag("smart", false);
    w.text("title", &playlist.title);
}

fn write_playlist_tracks(
    w: &mut dyn Writer,
    catalog: &Catalog,
    playlist: &Playlist,
    start: usize,
    count: usize,
) {
    if count == 0 {
        return;
    }
    w.list("Metadata");
    for (offset, &track_key) in playlist.items[start..start + count].iter().enumerate() {
        if let Some(ItemRef::Track(i)) = catalog.item(track_key) {
            let item_id = (start + offset + 1) as u64;
            write_track(
                w,
                catalog,
                catalog.track(i),
                ItemView::PlaylistItem(item_id),
            );
        }
    }
    w.end_list();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_keys_are_read_from_a_server_uri() {
        let uri = "server://abc/com.plexapp.plugins.library/library/metadata/1,22,333";
        assert_eq!(keys_of_uri(uri, "abc").expect("valid"), vec![1, 22, 333]);
    }

    #[test]
    fn uris_of_other_servers_or_shapes_are_refused() {
        let uri = "server://other/com.plexapp.plugins.library/library/metadata/1";
        assert!(keys_of_uri(uri, "abc").is_err());
        assert!(keys_of_uri("library://abc/item/1", "abc").is_err());
        let junk = "server://abc/com.plexapp.plugins.library/library/metadata/1,x";
        assert!(keys_of_uri(junk, "abc").is_err());
    }
}
