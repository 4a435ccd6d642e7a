# plexcache as a container: a static binary on an empty (scratch) image.
#
#   docker build -t plexcache .
#   docker run -d -p 5765:5765 -v plexcache-data:/data \
#     -e PLEX_URL=http://plex.lan:32400 -e PLEX_TOKEN=... \
#     -e PLEXCACHE_PASSWORD=... plexcache
#
# See compose.yaml for the same as a Compose service.

# --- build: a fully static binary (glibc with crt-static), nothing to load at run time
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
ENV RUSTFLAGS="-C target-feature=+crt-static"
RUN cargo build --release --locked --bin plexcache --target x86_64-unknown-linux-gnu \
 && install -D -m 0755 target/x86_64-unknown-linux-gnu/release/plexcache /out/plexcache \
 && install -d -m 0700 -o 65532 -g 65532 /out/data \
 && install -d -m 1777 /out/tmp

# --- run: only the binary, a data folder and /tmp
FROM scratch
COPY --from=build /out/ /
USER 65532:65532
ENV PLEXCACHE_DATA_DIR=/data \
    PLEXCACHE_LISTEN=0.0.0.0:5765 \
    TMPDIR=/tmp
VOLUME ["/data"]
EXPOSE 5765
# No shell or curl in the image: the binary asks its own /api/health.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/plexcache", "health"]
ENTRYPOINT ["/plexcache"]
CMD ["serve"]
