//! `/library/sections/{key}/all?type=8|9|10`: artists, albums or tracks of
//! a section, in the requested order, paged by query or headers, with the
//! page faults, the library shift, the page size cap, the missing
//! `totalSize`, refused sorts and listed-twice tracks applied, and narrowed
//! by delta filters (`updatedAt>=…`, see `delta`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;

use super::Shared;
use super::delta::{self, Delta};
use super::page_fault::{self, Listed};
use super::request::{PageHeaders, Paging, PlexError, PlexRequest, document};
use crate::catalog::{Catalog, ListKind};
use crate::faults::Faults;
use crate::model::{Section, SectionKind};
use crate::order::SortSpec;
use crate::render::{Format, ItemView, Writer, write_album, write_artist, write_track};

const TYPE_ARTIST: &str = "8";
const TYPE_ALBUM: &str = "9";
const TYPE_TRACK: &str = "10";
const TYPE_MOVIE: &str = "1";

/// What one listing request asks for.
struct ListingQuery {
    section: String,
    /// `None` for a listing of a movie section (always empty).
    kind: Option<ListKind>,
    sort: SortSpec,
    paging: Paging,
    format: Format,
    /// Delta filters in force (none when the server ignores them).
    deltas: Vec<Delta>,
}

pub(crate) async fn section_all(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    request: PlexRequest,
) -> Result<Response, PlexError> {
    let query = listing_query(&shared, key, &request, request.param("type"))?;
    serve_listing(shared, query).await
}

/// `/library/sections/{key}/albums`: the albums of a music section.
pub(crate) async fn section_albums(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    request: PlexRequest,
) -> Result<Response, PlexError> {
    let query = listing_query(&shared, key, &request, Some(TYPE_ALBUM))?;
    serve_listing(shared, query).await
}

async fn serve_listing(shared: Arc<Shared>, query: ListingQuery) -> Result<Response, PlexError> {
    let track_page = query.kind == Some(ListKind::Tracks) && query.paging.is_nonempty_page();
    let fault = if track_page {
        shared.fault_state().next_track_page()
    } else {
        None
    };
    let faults = shared.faults();
    if let Some(hit) = fault
        && let Some(answer) =
            page_fault::before_render(&shared, &query_facts(&shared, &query, &faults), hit).await
    {
        return Ok(answer);
    }
    let listed = render(&shared.catalog(), &query, &faults);
    if let Some(hit) = fault {
        // Only `drop` and `truncated` get here: the page is spoiled, not served.
        return Ok(page_fault::after_render(listed, query.format, hit));
    }
    if track_page && let Some(shift) = faults.shift_per_page {
        let mut catalog = shared.catalog_mut();
        let applied = catalog.shift(
            &query.section,
            query.sort,
            shift.add as usize,
            shift.remove as usize,
        );
        shared.notifier.publish(&catalog, &applied.effects);
    }
    shared.serve_items(listed.count).await;
    Ok(document(query.format, listed.body, listed.page))
}

fn listing_query(
    shared: &Shared,
    section: String,
    request: &PlexRequest,
    requested_type: Option<&str>,
) -> Result<ListingQuery, PlexError> {
    let section_kind = shared
        .catalog()
        .section(&section)
        .map(|s| s.kind)
        .ok_or(PlexError::NotFound)?;
    let kind = list_kind(section_kind, requested_type)?;
    if shared.faults().refuses_sort(request.param("sort")) {
        return Err(PlexError::Internal);
    }
    let sort = SortSpec::parse(request.param("sort")).map_err(PlexError::BadRequest)?;
    let deltas = if shared.faults().ignore_delta_filters {
        Vec::new()
    } else {
        Delta::parse_all(&request.query)
    };
    Ok(ListingQuery {
        section,
        kind,
        sort,
        paging: request.paging,
        format: request.format,
        deltas,
    })
}

/// Music sections list artists by default; movie sections list nothing
/// (this emulator holds no movies) and refuse music types with 400.
fn list_kind(section: SectionKind, requested: Option<&str>) -> Result<Option<ListKind>, PlexError> {
    let unsupported = |t: &str| PlexError::BadRequest(format!("type {t} is not in this section"));
    match (section, requested) {
        (SectionKind::Music, None | Some(TYPE_ARTIST)) => Ok(Some(ListKind::Artists)),
        (SectionKind::Music, Some(TYPE_ALBUM)) => Ok(Some(ListKind::Albums)),
        (SectionKind::Music, Some(TYPE_TRACK)) => Ok(Some(ListKind::Tracks)),
        (SectionKind::Movie, None | Some(TYPE_MOVIE)) => Ok(None),
        (_, Some(other)) => Err(unsupported(other)),
    }
}

/// Page position and total, for fault answers that imitate a page.
fn query_facts(shared: &Shared, query: &ListingQuery, faults: &Faults) -> page_fault::PageFacts {
    let total = listing_order(&shared.catalog(), query, faults).len();
    let (start, count) = query.paging.window(total, faults.page_size_cap);
    page_fault::PageFacts {
        format: query.format,
        start,
        count,
        total,
    }
}

/// Positions of the listed items in order, with the listed-twice tracks.
fn listing_order(catalog: &Catalog, query: &ListingQuery, faults: &Faults) -> Arc<Vec<usize>> {
    let Some(kind) = query.kind else {
        return Arc::new(Vec::new());
    };
    let mut order = catalog.order(&query.section, kind, query.sort);
    if !query.deltas.is_empty() {
        order = Arc::new(delta::filter(catalog, kind, &order, &query.deltas));
    }
    let twice = faults.duplicate_tracks as usize;
    if kind != ListKind::Tracks || twice == 0 {
        return order;
    }
    let doubled = order.iter().take(twice).flat_map(|&i| [i, i]);
    Arc::new(doubled.chain(order.iter().skip(twice).copied()).collect())
}

fn render(catalog: &Catalog, query: &ListingQuery, faults: &Faults) -> Listed {
    let order = listing_order(catalog, query, faults);
    let total = order.len();
    let (start, count) = query.paging.window(total, faults.page_size_cap);
    let mut w = query.format.writer(count);
    w.open("MediaContainer");
    w.uint("size", count as u64);
    let page = query.paging.is_paged().then(|| {
        let total = (!faults.omit_total_size).then_some(total);
        if let Some(total) = total {
            w.uint("totalSize", total as u64);
        }
        w.uint("offset", start as u64);
        PageHeaders { start, total }
    });
    if let Some(section) = catalog.section(&query.section) {
        write_listing_container(w.as_mut(), section, query.kind);
    }
    if count > 0 {
        w.list("Metadata");
        for &i in &order[start..start + count] {
            write_listed(w.as_mut(), catalog, query.kind, i);
        }
        w.end_list();
    }
    w.close("MediaContainer");
    Listed {
        body: w.finish(),
        count,
        page,
    }
}

fn write_listed(w: &mut dyn Writer, catalog: &Catalog, kind: Option<ListKind>, position: usize) {
    match kind {
        Some(ListKind::Tracks) => {
            write_track(w, catalog, catalog.track(position), ItemView::Listing)
        }
        Some(ListKind::Albums) => {
            write_album(w, catalog, catalog.album_at(position), ItemView::Listing)
        }
        Some(ListKind::Artists) => {
            write_artist(w, catalog, catalog.artist_at(position), ItemView::Listing)
        }
        None => {}
    }
}

fn write_listing_container(w: &mut dyn Writer, section: &Section, kind: Option<ListKind>) {
    let (view_group, title2) = match kind {
        Some(ListKind::Artists) => ("artist", "All Artists"),
        Some(ListKind::Albums) => ("album", "All Albums"),
        Some(ListKind::Tracks) => ("track", "All Tracks"),
        None => ("movie", "All Movies"),
    };
    w.flag("allowSync", true);
    w.text(
        "art",
        &format!("/:/resources/{}-fanart.jpg", section.kind.plex_type()),
    );
    w.text("identifier", "com.plexapp.plugins.library");
    if let Ok(id) = section.key.parse::<i64>() {
        w.int("librarySectionID", id);
    }
    w.text("librarySectionTitle", &section.title);
    w.text("librarySectionUUID", &section.uuid);
    w.text("mediaTagPrefix", "/system/bundle/media/flags/");
    w.int("mediaTagVersion", 1_700_000_000);
    w.flag("nocache", true);
    w.text(
        "thumb",
        &format!("/:/resources/{}.png", section.kind.plex_type()),
    );
    w.text("title1", &section.title);
    w.text("title2", title2);
    w.text("viewGroup", view_group);
}
