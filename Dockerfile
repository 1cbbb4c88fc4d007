# syntax=docker/dockerfile:1
# .ci/dockerfile-check builds this file without Docker (COPY, RUN, WORKDIR, USER, ENV, …): keep
# to the instructions it understands, or teach it the new one.

# ---- build ----
FROM rust:1-slim-bookworm AS builder

# Bundled SQLite and libpq need a C compiler; vendored OpenSSL also needs perl and make.
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config perl make gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Dependencies first, against stub sources, so this slow layer is reused until Cargo.toml,
# Cargo.lock or the build settings change. .cargo/config.toml builds the bundled SQLite with
# SQLITE_ENABLE_QPSG (see README "Performance"), so it must be here before SQLite is compiled.
# Cargo.toml names benches/pieces.rs, which must exist for cargo to read the manifest.
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
RUN mkdir src benches \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && echo 'fn main() {}' > benches/pieces.rs \
 && cargo build --release --locked \
 && rm -rf src benches

# The real sources. Migrations, templates, translations and the default config are embedded at
# compile time; build.rs embeds the migrations' SQL for `portcullis migrate print`.
COPY build.rs build.rs
COPY src src
COPY benches benches
COPY migrations migrations
COPY templates templates
COPY locales locales
COPY config config
# COPY keeps the files' own modification times, which can be older than the stub build; touch so
# cargo rebuilds the crate itself.
RUN touch build.rs src/main.rs src/lib.rs \
 && cargo build --release --locked \
 && cp target/release/portcullis /usr/local/bin/portcullis

# ---- runtime ----
FROM debian:bookworm-slim

# /data belongs to the unprivileged user, owner-only: the database and the master key live there.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 portcullis \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin portcullis \
 && mkdir -p /data \
 && chown 10001:10001 /data \
 && chmod 700 /data

COPY --from=builder /usr/local/bin/portcullis /usr/local/bin/portcullis

# The file transport (mail.transport = "file") writes into the volume too.
ENV PORTCULLIS_LISTEN=0.0.0.0:8080 \
    PORTCULLIS_DATA_DIR=/data \
    PORTCULLIS_MAIL__FILE_DIR=/data/mail

VOLUME /data
EXPOSE 8080
USER 10001:10001
WORKDIR /data

# No curl in the image: the binary asks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/portcullis", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve"]
