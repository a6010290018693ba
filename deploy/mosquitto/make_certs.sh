#!/bin/sh
# One-shot: the TLS files of the Mosquitto listeners, unless they are already there.
#
#   deploy/mosquitto/make_certs.sh OUT_DIR [HOST_NAME ...]
#
# Writes in OUT_DIR (files that exist are kept, so your own certificates win):
#   ca.crt                   a private CA (EC P-256, 10 years); its key ca.key goes to
#                            $CA_KEY_DIR (default OUT_DIR): keep it out of the broker's volumes
#   server.crt, server.key   the broker's certificate, for HOST_NAMEs (default:
#                            mosquitto, localhost) and 127.0.0.1
#   service.crt, service.key the client certificate the GridWatch service shows on
#                            the service listener (require_certificate there)
# Give your own: put server.crt/server.key (and the ca.crt that signed them) in
# OUT_DIR before the first run. The service certificate needs ca.key: without it,
# bring service.crt/service.key signed by the CA in ca.crt as well.
# Run as root, it hands server.key to $SERVER_KEY_OWNER and service.key to
# $SERVICE_KEY_OWNER (uid:gid, when set): each key readable by its one user only.
set -eu
out=${1:?usage: make_certs.sh OUT_DIR [HOST_NAME ...]}
shift
[ $# -gt 0 ] || set -- mosquitto localhost
days=${CERT_DAYS:-825}
umask 077
mkdir -p "$out"
cakey=$(mkdir -p "${CA_KEY_DIR:-$out}" && cd "${CA_KEY_DIR:-$out}" && pwd)/ca.key
cd "$out"

if [ ! -f ca.crt ]; then
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$cakey" -out ca.crt -days 3650 -subj "/CN=GridWatch MQTT CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
  echo "make_certs: a new CA in $out/ca.crt" >&2
fi

# sign NAME CN EXTENSIONS: NAME.key and NAME.crt signed by ca.key
sign() {
  [ -f "$1.crt" ] && return 0
  if [ ! -f "$cakey" ]; then
    echo "make_certs: $out/$1.crt is missing and there is no ca.key to sign it" >&2
    exit 1
  fi
  printf '%s\n' "$3" > "$1.ext"
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey "$cakey" -set_serial "0x$(openssl rand -hex 16)" \
    -out "$1.crt" -days "$days" -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
  echo "make_certs: $out/$1.crt ($2)" >&2
}

san="IP:127.0.0.1"
for name in "$@"; do san="$san,DNS:$name"; done
sign server "$1" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san"
sign service gridwatch "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

chmod 644 ca.crt server.crt service.crt
chmod 600 server.key service.key
if [ "$(id -u)" = 0 ]; then
  [ -z "${SERVER_KEY_OWNER:-}" ] || chown "$SERVER_KEY_OWNER" server.key
  [ -z "${SERVICE_KEY_OWNER:-}" ] || chown "$SERVICE_KEY_OWNER" service.key
fi
