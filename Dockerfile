# crc-server, crc-client and crc-cluster in one image, for `crc-cluster render --to kubernetes`.
#
#   docker build -t crc:latest .
#
# Stage 1 builds with the Swift toolchain, linking the Swift standard library statically; stage 2
# runs on a slim Debian with only the C libraries the binaries use (libyaml for topologies,
# libedit for terminals). Not built on the machine this was written on (no container runtime);
# see the README for what was and was not verified.
FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libyaml-dev libedit-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product crc-server \
 && swift build -c release --static-swift-stdlib --product crc-client \
 && swift build -c release --static-swift-stdlib --product crc-cluster \
 && mkdir /out && cp .build/release/crc-server .build/release/crc-client .build/release/crc-cluster /out/

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libyaml-0-2 libedit2 util-linux ca-certificates \
 && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 crc
COPY --from=build /out/ /usr/local/bin/
USER crc
EXPOSE 7000 7001
ENTRYPOINT []
CMD ["crc-server", "--help"]
