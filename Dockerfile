# aurproxy in an nginx image, as one process: `aurproxy run --supervise` writes the nginx
# config, starts nginx as its child, reloads it and stops it. No Node or Deno in the image.
#
#   docker build -t aurproxy .
#   docker run --init --network=host --stop-timeout=60 \
#     -v /etc/aurproxy/config.json:/etc/aurproxy/config.json:ro aurproxy
#
# docs/operations.md ("Deploying") explains each choice; tests/integration/image_test.ts
# checks this file against the code (versions, flags, paths).

# The single executable, built as `deno task compile` builds it (Deno downloads its
# `denort` runtime here, so the build needs the internet). Same Deno as the repository's.
FROM denoland/deno:debian-2.9.6 AS build
WORKDIR /src
COPY deno.json deno.lock main.ts ./
COPY lib/ lib/
RUN deno task compile

# nginx.org's image: its nginx has the stream module built in (--with-stream), so TCP
# servers need no load_module. Debian-based (glibc), as the executable needs.
FROM nginx:1.28
COPY --from=build /src/dist/aurproxy /usr/local/bin/aurproxy
# As the original's image: nginx's own config path is aurproxy's file (`nginx -t` or
# `nginx -T` by hand read what aurproxy wrote), the directory of gor's script, and the
# mount point of an Aurora task's sandbox.
RUN rm -f /etc/nginx/nginx.conf \
 && mkdir -p /etc/aurproxy/nginx /etc/aurproxy/gor /mnt/mesos/sandbox/sandbox \
 && ln -s /etc/aurproxy/nginx/nginx.conf /etc/nginx/nginx.conf
# The base image stops nginx with SIGQUIT; aurproxy stops on SIGTERM (deregisters, then
# stops nginx gracefully, then exits).
STOPSIGNAL SIGTERM
EXPOSE 31325
ENTRYPOINT ["/usr/local/bin/aurproxy", "run", "--supervise"]
CMD ["--management-port=31325", "--config=/etc/aurproxy/config.json"]
