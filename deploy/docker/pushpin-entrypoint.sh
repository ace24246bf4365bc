#!/bin/sh
# Render pushpin/pushpin.conf for the fanout/pushpin container: the signing key
# from GRIP_KEY, the route to the web service, and the publish/ZMQ ports bound
# inside the container so web and feed can reach them over compose's internal
# network (they are never published on the host; only 7999 is).
set -eu
: "${GRIP_KEY:?GRIP_KEY must be set (the same key that is in GRIP_URL)}"
mkdir -p /var/run/pushpin /var/log/pushpin
printf '* %s\n' "${PUSHPIN_TARGET:-web:8000}" > /etc/pushpin/routes
sed -e "s|^rundir=.*|rundir=/var/run/pushpin|" \
    -e "s|^logdir=.*|logdir=/var/log/pushpin|" \
    -e "s|^routesfile=.*|routesfile=/etc/pushpin/routes|" \
    -e "s|^sig_key=.*|sig_key=${GRIP_KEY}|" \
    -e "s|^push_in_http_addr=.*|push_in_http_addr=0.0.0.0|" \
    -e "s|tcp://127.0.0.1:|tcp://0.0.0.0:|" \
    /config/pushpin.conf > /etc/pushpin/pushpin.conf
# the stats socket on the internal network too, for the stats service (runpushpinstats)
sed -i -e "s|^stats_spec=.*|stats_spec=tcp://0.0.0.0:5564|" /etc/pushpin/pushpin.conf
# behind the HTTP/2 front (deploy/nginx/): Django learns the scheme from nginx's
# X-Forwarded-Proto, and the client's address from the one X-Forwarded-For entry nginx writes
if [ "${PUSHPIN_BEHIND_PROXY:-0}" = 1 ]; then
    sed -i -e "s|^accept_x_forwarded_protocol=.*|accept_x_forwarded_protocol=true|" \
        -e "s|^x_forwarded_for=.*|x_forwarded_for=truncate:1,append|" /etc/pushpin/pushpin.conf
fi
exec pushpin --config /etc/pushpin/pushpin.conf --merge-output
