//! The cache's schema as numbered migrations, applied in order and recorded
//! in `PRAGMA user_version`. Never edit a released migration: add one.

/// Index definitions, kept apart so a full sync can drop them for the bulk
/// load and rebuild them once at the end (much faster than maintaining them
/// row by row).
pub const TRACK_INDEXES: &[&str] = &[
    // The default sort order and the artist filter. Every other filter and
    // sort is answered from the in-memory columns (`columns.rs`), whose sort
    // orders SQLite builds on first use; indexes for them would cost the
    // sync more than they save.
    "CREATE INDEX IF NOT EXISTS tracks_artist ON tracks (artist COLLATE NOCASE, album COLLATE NOCASE, disc, track)",
    "CREATE INDEX IF NOT EXISTS tracks_album_artist ON tracks (album_artist COLLATE NOCASE)",
];

/// Names of the indexes above, for dropping them.
pub const TRACK_INDEX_NAMES: &[&str] = &["tracks_artist", "tracks_album_artist"];

/// Migration N (1-based) brings the schema from version N-1 to N.
pub const MIGRATIONS: &[&str] = &[
    // 1: the library, its genres and text index, sync state and history.
    r#"
    CREATE TABLE tracks (
        id             INTEGER PRIMARY KEY,
        rating_key     TEXT NOT NULL UNIQUE,
        section        TEXT NOT NULL,
        title          TEXT NOT NULL,
        artist         TEXT NOT NULL,
        album_artist   TEXT NOT NULL,
        album          TEXT NOT NULL,
        album_key      TEXT,
        artist_key     TEXT,
        disc           INTEGER,
        track          INTEGER,
        duration_ms    INTEGER,
        year           INTEGER,
        rating         REAL,
        play_count     INTEGER NOT NULL DEFAULT 0,
        last_played_at INTEGER,
        added_at       INTEGER,
        updated_at     INTEGER,
        is_live        INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE genres (
        id   INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE
    );
    CREATE TABLE track_genres (
        track_id INTEGER NOT NULL,
        genre_id INTEGER NOT NULL,
        PRIMARY KEY (track_id, genre_id)
    ) WITHOUT ROWID;
    CREATE TABLE albums (
        rating_key TEXT PRIMARY KEY,
        artist_key TEXT,
        title      TEXT,
        year       INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE artists (
        rating_key TEXT PRIMARY KEY,
        title      TEXT
    ) WITHOUT ROWID;
    CREATE TABLE parent_genres (
        parent_key TEXT NOT NULL,
        genre_id   INTEGER NOT NULL,
        PRIMARY KEY (parent_key, genre_id)
    ) WITHOUT ROWID;
    CREATE VIRTUAL TABLE tracks_fts USING fts5(
        title, artist, album,
        content = 'tracks', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TABLE sync_state (
        id                 INTEGER PRIMARY KEY CHECK (id = 1),
        machine_identifier TEXT,
        server_name        TEXT,
        synced_at          INTEGER,
        track_count        INTEGER NOT NULL DEFAULT 0,
        duration_ms        INTEGER,
        last_error         TEXT,
        last_error_kind    TEXT,
        last_error_at      INTEGER
    );
    INSERT INTO sync_state (id) VALUES (1);
    CREATE TABLE sync_history (
        id                 INTEGER PRIMARY KEY,
        started_at         INTEGER NOT NULL,
        finished_at        INTEGER,
        outcome            TEXT NOT NULL,
        track_count        INTEGER,
        added              INTEGER,
        removed            INTEGER,
        error              TEXT,
        machine_identifier TEXT,
        server_name        TEXT
    );
    CREATE TABLE stats_cache (
        kind  TEXT NOT NULL,
        name  TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (kind, name)
    ) WITHOUT ROWID;
    "#,
    // 2: genres keep the order Plex lists them in (the first is the main one).
    r#"
    ALTER TABLE parent_genres ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE track_genres ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
    "#,
    // 3: filters are answered from in-memory columns tied to a library
    // version; the per-filter and per-sort indexes go. Text search needs no
    // positions (no phrase queries) and gets prefix indexes for words typed
    // as they are being typed.
    r#"
    ALTER TABLE sync_state ADD COLUMN library_version INTEGER NOT NULL DEFAULT 0;
    DROP INDEX IF EXISTS tracks_title;
    DROP INDEX IF EXISTS tracks_album;
    DROP INDEX IF EXISTS tracks_year;
    DROP INDEX IF EXISTS tracks_rating;
    DROP INDEX IF EXISTS tracks_added;
    DROP INDEX IF EXISTS tracks_plays;
    DROP INDEX IF EXISTS tracks_last_played;
    DROP INDEX IF EXISTS tracks_duration;
    DROP INDEX IF EXISTS tracks_filter;
    DROP INDEX IF EXISTS tracks_live;
    DROP INDEX IF EXISTS track_genres_genre;
    DROP TABLE tracks_fts;
    CREATE VIRTUAL TABLE tracks_fts USING fts5(
        title, artist, album,
        content = 'tracks', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2',
        detail = none, prefix = '1 2 3'
    );
    INSERT INTO tracks_fts (tracks_fts) VALUES ('rebuild');
    -- Each word of the text index and how many tracks have it.
    CREATE VIRTUAL TABLE tracks_fts_words USING fts5vocab(tracks_fts, 'row');
    "#,
    // 4: the library changes in place between full syncs. Delta refreshes
    // ask Plex for what moved since the cursors (the largest track
    // updatedAt, lastViewedAt, lastRatedAt and album-or-artist updatedAt
    // the cache holds); ratings move lastRatedAt alone, parents their own
    // updatedAt. `synced_sections` says which sections the cache covers.
    r#"
    ALTER TABLE tracks ADD COLUMN last_rated_at INTEGER;
    ALTER TABLE albums ADD COLUMN updated_at INTEGER;
    ALTER TABLE artists ADD COLUMN updated_at INTEGER;
    ALTER TABLE sync_state ADD COLUMN full_synced_at INTEGER;
    ALTER TABLE sync_state ADD COLUMN last_change_at INTEGER;
    ALTER TABLE sync_state ADD COLUMN cursor_updated_at INTEGER;
    ALTER TABLE sync_state ADD COLUMN cursor_viewed_at INTEGER;
    ALTER TABLE sync_state ADD COLUMN cursor_rated_at INTEGER;
    ALTER TABLE sync_state ADD COLUMN cursor_parents_at INTEGER;
    ALTER TABLE sync_state ADD COLUMN synced_sections TEXT;
    ALTER TABLE sync_history ADD COLUMN kind TEXT NOT NULL DEFAULT 'full';
    UPDATE sync_state SET full_synced_at = synced_at, last_change_at = synced_at WHERE id = 1;
    "#,
    // 5: each synced section's `contentChangedAt` as the last sync or
    // refresh read it. Plex moves it when the section's content changes
    // (not on plays or ratings): a refresh that finds it where it was asks
    // only for new plays and ratings there. An opaque value (a change
    // counter on real servers), only ever compared for equality.
    r#"
    CREATE TABLE section_markers (
        section            TEXT PRIMARY KEY,
        content_changed_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
];
