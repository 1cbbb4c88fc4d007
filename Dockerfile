# syntax=docker/dockerfile:1

# ---- build ----
FROM rust:1-slim-bookworm AS builder

# Bundled SQLite and libpq need a C compiler; vendored OpenSSL also needs perl and make.
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config perl make gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Dependencies first, against stub sources, so this slow layer is reused until Cargo.toml or
# Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src

# The real sources. Migrations, templates, translations and the default config are embedded at
# compile time.
COPY src src
COPY migrations migrations
COPY templates templates
COPY locales locales
COPY config config
# COPY keeps the files' own modification times, which can be older than the stub build; touch so
# cargo rebuilds the crate itself.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked \
 && cp target/release/portcullis /usr/local/bin/portcullis

# ---- runtime ----
FROM debian:bookworm-slim

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

ENV PORTCULLIS_LISTEN=0.0.0.0:8080 \
    PORTCULLIS_DATA_DIR=/data

VOLUME /data
EXPOSE 8080
USER 10001
WORKDIR /data

ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve"]
