"""Fidelity check: a stock Plex client library (python-plexapi, XML only)
against `plexcache emulate`.

Usage: plexapi_check.py URL TOKEN

Lists sections, pages tracks, albums and artists, reads their fields
(which makes plexapi reload items whose optional fields are absent),
reloads items explicitly, follows children, and creates, extends, lists and
deletes a playlist. Values are compared with the emulator's own library
(from its control endpoint). Then plexapi's own notification listener
(`AlertListener`, through `startAlertListener`) connects, a track is edited
and played through the control endpoint, and the frames it parses are
checked. Exits non-zero on the first failure.
"""

import json
import queue
import sys
import time
import urllib.request

import plexapi
from plexapi.server import PlexServer


def forbidden_to_replacement(text):
    """What the emulator's XML makes of a title: control characters that
    XML forbids become U+FFFD."""
    return "".join("\ufffd" if ord(c) < 0x20 and c not in "\t\n\r" else c for c in text)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def load_truth(url):
    with urllib.request.urlopen(f"{url}/_emulator/library") as answer:
        library = json.load(answer)
    return (
        {t["rating_key"]: t for t in library["tracks"]},
        {a["rating_key"]: a for a in library["albums"]},
        {a["rating_key"]: a for a in library["artists"]},
    )


def check_sections(server):
    sections = server.library.sections()
    kinds = sorted(s.type for s in sections)
    expect(kinds.count("artist") >= 2 and "movie" in kinds, f"section types {kinds}")
    music = [s for s in sections if s.type == "artist"]
    print(f"sections: {[(s.key, s.type, s.title) for s in sections]}")
    return music


def check_tracks(section, tracks_truth, albums_truth, artists_truth):
    expected = section.totalViewSize(libtype="track")
    tracks = section.search(libtype="track", container_size=97)
    expect(len(tracks) == expected, f"{len(tracks)} tracks paged, totalSize {expected}")
    expect(len({t.ratingKey for t in tracks}) == len(tracks), "a track came twice")
    for track in tracks:
        truth = tracks_truth[track.ratingKey]
        album = albums_truth[truth["album_key"]]
        artist = artists_truth[truth["artist_key"]]
        expect(track.title == forbidden_to_replacement(truth["title"]), f"title of {track.ratingKey}")
        expect(track.parentTitle == (forbidden_to_replacement(album["title"]) or None), "parentTitle")
        expect(track.grandparentTitle == (forbidden_to_replacement(artist["title"]) or None), "grandparentTitle")
        expect(track.userRating == truth["user_rating"], f"userRating of {track.ratingKey}")
        expect(track.duration == truth["duration_ms"], f"duration of {track.ratingKey}")
        expect(track.media[0].parts[0].file == forbidden_to_replacement(truth["file"]), "file")
        expect([g.tag for g in track.genres] == truth["genres"], f"genres of {track.ratingKey}")
        expect(track.originalTitle == (truth["original_title"] and forbidden_to_replacement(truth["original_title"])),
               "originalTitle")
    reloaded = sum(1 for track in tracks if track.isFullObject())
    print(f"section {section.key}: {len(tracks)} tracks paged and read, "
          f"{reloaded} of them reloaded by plexapi for absent fields")
    sample = tracks[: min(20, len(tracks))]
    for track in sample:
        track.reload()
        expect(track.ratingKey in tracks_truth, "reloaded track")
    return tracks


def misloaded(items, truth, kind):
    """plexapi reloads an album or artist that has no title while still
    building it from the listing, from its `/children` key, and turns into
    its first child. Real servers always send a title ("[Unknown Album]");
    the emulator leaves it out, as the library contract says. Those objects
    are counted, checked to be exactly the untitled ones, and skipped."""
    odd = [item for item in items if item.ratingKey not in truth or item.type != kind]
    return odd


def check_albums(section, albums_truth, artists_truth):
    key = str(section.key)
    albums = section.all(libtype="album", container_size=50)
    listed = [a for a in albums_truth.values() if a["section"] == key]
    expect(len(albums) == len(listed), f"{len(albums)} albums listed, {len(listed)} expected")
    expect(len(section.albums()) == len(listed), "/albums lists every album")
    odd = misloaded(albums, albums_truth, "album")
    untitled = sum(1 for a in listed if not a["title"])
    expect(len(odd) == untitled, f"{len(odd)} albums misloaded by plexapi, {untitled} untitled")
    truncated = 0
    for album in albums:
        if album in odd:
            continue
        truth = albums_truth[album.ratingKey]
        # Before any absent field makes plexapi reload the album:
        many_genres = len(truth["genres"]) > 3
        if many_genres:
            listed_genres = [g.tag for g in album.genres]
            expect(listed_genres == truth["genres"][:3], f"listing genres of album {album.ratingKey}")
        expect(album.year == truth["year"], f"year of album {album.ratingKey}")
        expect(album.title == forbidden_to_replacement(truth["title"]), "album title")
        expect(album.parentTitle == (forbidden_to_replacement(artists_truth[truth["artist_key"]]["title"]) or None),
               "album parentTitle")
        if many_genres:
            album.reload()
            expect([g.tag for g in album.genres] == truth["genres"], "the full genre list after a reload")
            truncated += 1
    with_tracks = next(a for a in albums if a not in odd and albums_truth[a.ratingKey]["deleted_at"] is None)
    children = with_tracks.tracks()
    expect(children and all(t.parentRatingKey == with_tracks.ratingKey for t in children), "album children")
    artists = section.all(libtype="artist")
    expected_artists = [a for a in artists_truth.values() if a["section"] == key]
    expect(len(artists) == len(expected_artists), f"{len(artists)} artists, {len(expected_artists)} expected")
    odd_artists = misloaded(artists, artists_truth, "artist")
    untitled_artists = sum(1 for a in expected_artists if not a["title"])
    expect(len(odd_artists) == untitled_artists, f"{len(odd_artists)} artists misloaded, {untitled_artists} untitled")
    artist = next(a for a in artists if a not in odd_artists)
    # (artist.albums() needs the section's filter definitions, which the
    # emulator does not serve; the children endpoint is what it uses.)
    artist_albums = section.fetchItems(f"/library/metadata/{artist.ratingKey}/children")
    expect(artist_albums and all(a.parentRatingKey == artist.ratingKey for a in artist_albums), "artist children")
    print(f"section {key}: {len(albums)} albums ({truncated} reloaded for full genres), {len(artists)} artists; "
          f"untitled and misloaded by plexapi: {len(odd)} albums, {len(odd_artists)} artists")


def check_playlist(server, tracks):
    playlist = server.createPlaylist("Fidelity check & <more>", items=tracks[:50])
    expect(playlist.leafCount == 50, f"leafCount {playlist.leafCount}")
    expect([t.ratingKey for t in playlist.items()] == [t.ratingKey for t in tracks[:50]], "playlist items")
    playlist.addItems(tracks[50:60])
    playlist.reload()
    expect(playlist.leafCount == 60, f"leafCount after adding {playlist.leafCount}")
    titles = [p.title for p in server.playlists(playlistType="audio")]
    expect("Fidelity check & <more>" in titles, f"playlists {titles}")
    playlist.delete()
    expect(all(p.ratingKey != playlist.ratingKey for p in server.playlists()), "deleted")
    print("playlist: created with 50 tracks, extended to 60, listed, deleted")


def control(url, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    method = "GET" if body is None else "POST"
    request = urllib.request.Request(f"{url}/_emulator{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


def wait_for(received, wanted, seconds=10):
    """The first frame `wanted` accepts among those the listener parsed."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            frame = received.get(timeout=max(0.0, until - time.monotonic()))
        except queue.Empty:
            break
        if wanted(frame):
            return frame
    raise AssertionError("the listener did not receive the expected frame")


def check_alerts(server, url, track):
    received = queue.Queue()
    errors = []
    listener = server.startAlertListener(callback=received.put, callbackError=errors.append)
    try:
        until = time.monotonic() + 10
        while control(url, "/notifications")["clients"] < 1:
            expect(time.monotonic() < until, f"the listener did not connect: {errors}")
            time.sleep(0.05)
        title = "Edited by the fidelity check"
        control(url, "/mutations", {"op": "edit", "rating_key": track.ratingKey, "title": title})

        def edited(frame):
            return frame.get("type") == "timeline" and any(
                e.get("itemID") == str(track.ratingKey) and e.get("state") == 5
                for e in frame.get("TimelineEntry", []))
        frame = wait_for(received, edited)
        expect(frame["size"] == len(frame["TimelineEntry"]), "timeline size")
        entry = next(e for e in frame["TimelineEntry"] if e["itemID"] == str(track.ratingKey))
        expect(entry["identifier"] == "com.plexapp.plugins.library", f"identifier {entry}")
        expect(entry["type"] == 10 and entry["title"] == title, f"entry {entry}")
        expect(entry["sectionID"] == str(track.librarySectionID), f"sectionID {entry}")
        expect(isinstance(entry["updatedAt"], int), f"updatedAt {entry}")
        control(url, "/mutations", {"op": "play", "rating_key": track.ratingKey})
        playing = wait_for(received, lambda f: f.get("type") == "playing")
        session = playing["PlaySessionStateNotification"][0]
        expect(session["ratingKey"] == str(track.ratingKey) and session["state"] == "stopped",
               f"playing {session}")
        expect(not errors, f"listener errors: {errors}")
    finally:
        listener.stop()
    print(f"alerts: plexapi's AlertListener parsed the timeline frame of track {track.ratingKey} "
          "and the playing frame")


def main():
    url, token = sys.argv[1], sys.argv[2]
    print(f"plexapi {plexapi.VERSION}")
    server = PlexServer(url, token, timeout=60)
    print(f"server: {server.friendlyName} {server.version} {server.machineIdentifier}")
    tracks_truth, albums_truth, artists_truth = load_truth(url)
    music = check_sections(server)
    all_tracks = []
    for section in music:
        all_tracks += check_tracks(section, tracks_truth, albums_truth, artists_truth)
        check_albums(section, albums_truth, artists_truth)
    expect(len(all_tracks) == len(tracks_truth), "every track was seen")
    check_playlist(server, all_tracks)
    check_alerts(server, url, all_tracks[0])
    print("fidelity check passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # report any failure, including plexapi's own
        sys.stdout.flush()
        print(f"fidelity check FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
