#!/bin/sh
# Makes a local certificate authority and the certificates of the mesh, for Docker Compose and
# for tests: ca.crt, rebalancer.crt/.key (server), subscriber.crt/.key (server of its ingress and
# metrics ports, and client certificate for mTLS to the rebalancer).
#
#   deploy/make-certs.sh [OUT_DIR]          default OUT_DIR: deploy/secrets
#   EXTRA_SANS="DNS:rebalancer.example.com,IP:10.0.0.5" deploy/make-certs.sh
#
# An existing ca.key in OUT_DIR is reused, so running it again re-issues the service
# certificates under the same CA (a rotation the services pick up without a restart).
# Needs only openssl (the openssl package on Debian).
set -eu
out="${1:-$(dirname "$0")/secrets}"
days="${CERT_DAYS:-365}"
mkdir -p "$out"
umask 077
if [ ! -f "$out/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=rebalancer mesh/CN=rebalancer mesh local CA" \
    -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
fi

# issue NAME EXTENDED_KEY_USAGE SANS
issue() {
  name="$1"
  tmp="$out/.$name.$$"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/O=rebalancer mesh/CN=$name" -keyout "$tmp.key" -out "$tmp.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\n' \
    "$2" "$3" >"$tmp.ext"
  openssl x509 -req -in "$tmp.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
    -days "$days" -extfile "$tmp.ext" -out "$tmp.crt" 2>/dev/null
  # Written over the old files (same inode), so Docker's bind-mounted secrets see the change; a
  # service reading between the two writes refuses the mismatched pair and keeps the old one.
  cat "$tmp.key" >"$out/$name.key"
  cat "$tmp.crt" >"$out/$name.crt"
  rm -f "$tmp.key" "$tmp.crt" "$tmp.csr" "$tmp.ext"
}

local_sans="DNS:localhost,IP:127.0.0.1,IP:::1"
extra="${EXTRA_SANS:+,$EXTRA_SANS}"
# clientAuth too: the container's health check presents it when mTLS is on.
issue rebalancer serverAuth,clientAuth "DNS:rebalancer,$local_sans$extra"
issue subscriber serverAuth,clientAuth "DNS:subscriber,$local_sans$extra"
# The containers run as a non-root user: the keys must be readable by it.
chmod 644 "$out"/ca.crt "$out"/rebalancer.crt "$out"/subscriber.crt "$out"/rebalancer.key "$out"/subscriber.key
echo "certificates written to $out"
