#!/bin/sh
# Runs once, after the influxdb:2 image's setup (DOCKER_INFLUXDB_INIT_*), with the
# admin token configured: a longer-lived bucket for the rollups, and DBRP mappings
# so the v1 API (/write?db=..., InfluxQL /query) that GridWatch and Grafana use
# reaches both buckets.
set -eu
org="$DOCKER_INFLUXDB_INIT_ORG"
raw="$DOCKER_INFLUXDB_INIT_BUCKET"
rollup="${GRIDWATCH_ROLLUP_BUCKET:-gridwatch_rollup}"
influx bucket create --org "$org" --name "$rollup" --retention "${GRIDWATCH_ROLLUP_RETENTION:-0}"
raw_id=$(influx bucket list --org "$org" --name "$raw" --hide-headers | cut -f1)
rollup_id=$(influx bucket list --org "$org" --name "$rollup" --hide-headers | cut -f1)
influx v1 dbrp create --org "$org" --db "$raw" --rp autogen --bucket-id "$raw_id" --default
influx v1 dbrp create --org "$org" --db "$rollup" --rp autogen --bucket-id "$rollup_id" --default
