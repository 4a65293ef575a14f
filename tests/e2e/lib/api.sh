# tests/e2e/lib/api.sh: shared by the API suites (tests/e2e/api_*.sh).
# Sourced, not run.  The suites talk HTTP to the running stack:
#   REFERD_VAR       the stack ($REFERD_VAR/referd.conf holds the keys)
#   REFERD_PORT      its port (nginx); REFERD_BASE_URL overrides the URL,
#                    so the same suites run behind lighttpd and Apache
# and read or change the database with the mariadb client as root on
# $REFERD_VAR/run/mysql.sock.  Output is TAP: "ok N - ...", then "1..N".

. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/etc/dev/lib.sh"
set +e

[ -f "$CONF" ] || { echo "Bail out! no stack: $CONF is missing (etc/dev/up)"; exit 1; }
BASE_URL=${REFERD_BASE_URL:-http://127.0.0.1:$PORT}
# The suites stop and start things: only ever on a stack that is up.
curl -fsS -o /dev/null --max-time 5 "$BASE_URL/healthz" ||
    { echo "Bail out! no stack answers at $BASE_URL (REFERD_VAR=$VAR)"; exit 1; }
API_KEY=$(conf_get api_key)
ADMIN_KEY=$(conf_get admin_api_key)
WH_SECRET=$(conf_get webhook_secret)
LIB=$top/tests/e2e/lib
PY=$(command -v /usr/bin/python3 || command -v python3)

T=$(mktemp -d "${TMPDIR:-/tmp}/api-e2e.XXXXXX")
. "$LIB/tap.sh"
ST=000
BODY=
RCODE=
trap 'rm -rf "$T"' EXIT

# User ids of this run: a random block, so suites can run again on the
# same stack and never meet another suite's users.
UBASE=$(( (1 << 41) + ((RANDOM << 15 | RANDOM) % 1000000) * 100000 ))
uid() { echo $((UBASE + $1)); }
# A random /24 for this run's IPv4 addresses: "$IPNET.N".
IPNET="10.$((RANDOM % 256)).$((RANDOM % 256))"

# Under a failed is() or like(): the last answer.
tap_context() { printf '\nlast: %s %s' "$ST" "${BODY:0:400}"; }

finish() { done_testing; exit; }

# req METHOD PATH [curl options...]: one request.  Sets ST (status, 000
# if none) and BODY; the headers are in $T/hdr (see hdr).
req() {
	local m=$1 p=$2 a empty=1
	shift 2
	# A POST without a body says "Content-Length: 0", as clients
	# should: lighttpd answers 411 to a POST without Content-Length.
	if [ "$m" = POST ]; then
		for a in "$@"; do
			case $a in -d|--data*|-F|--form|-T) empty=0 ;; esac
		done
		[ $empty = 0 ] || set -- "$@" -H 'Content-Length: 0'
	fi
	if [ "$m" = HEAD ]; then
		: >"$T/body"
		ST=$(curl -sS -I -o /dev/null -D "$T/hdr" -w '%{http_code}' \
		    --max-time 20 "$@" "$BASE_URL$p" 2>"$T/curl.err")
	else
		ST=$(curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' \
		    --max-time 20 -X "$m" "$@" "$BASE_URL$p" 2>"$T/curl.err")
	fi
	BODY=$(cat "$T/body" 2>/dev/null)
}

# api METHOD PATH [JSON] [curl options...]: with the API key.
api() {
	local m=$1 p=$2 d=${3:-}
	shift 2; [ $# -gt 0 ] && shift
	if [ -n "$d" ]; then
		req "$m" "$p" -H "Authorization: Bearer $API_KEY" \
		    -H 'Content-Type: application/json' --data-binary "$d" "$@"
	else
		req "$m" "$p" -H "Authorization: Bearer $API_KEY" "$@"
	fi
}

# admin METHOD PATH [JSON]: with the admin key.
admin() {
	local m=$1 p=$2 d=${3:-}
	if [ -n "$d" ]; then
		req "$m" "$p" -H "Authorization: Bearer $ADMIN_KEY" \
		    -H 'Content-Type: application/json' --data-binary "$d"
	else
		req "$m" "$p" -H "Authorization: Bearer $ADMIN_KEY"
	fi
}

# hdr NAME: the value of a response header of the last request ("" if none).
hdr() {
	tr -d '\r' <"$T/hdr" | awk -v n="$(echo "$1" | tr A-Z a-z)" '
	    { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) {
	      v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v; exit } }'
}

# j FILTER: jq on the last body (raw output).
j() { printf '%s' "$BODY" | jq -r "$1" 2>/dev/null; }

# errcode: the error code of the last answer.
errcode() { j '.error.code // "-"'; }

# sql QUERY: one query on the referd database as root, tab-separated.
sql() { mysql_client -N -B referd -e "$1"; }

# sign ID TS: the webhook-signature of stdin ($SIGN SECRET ID TS signs
# with another secret).
SIGN=$top/tests/lib/sign
sign() { "$PY" "$SIGN" "$WH_SECRET" "$1" "$2"; }

# event BODY [ID [TS [SIG]]]: POST /v1/events signed with the webhook
# secret.  ID defaults to the body's "id", TS to now.
event() {
	local body=$1 id=${2:-} ts=${3:-$(date +%s)} sig=${4:-}
	[ -n "$id" ] || id=$(printf '%s' "$body" | jq -r .id)
	[ -n "$sig" ] || sig=$(printf '%s' "$body" | sign "$id" "$ts")
	req POST /v1/events -H 'Content-Type: application/json' \
	    -H "webhook-id: $id" -H "webhook-timestamp: $ts" \
	    -H "webhook-signature: $sig" --data-binary "$body"
}

# ev_json ID USER ORDER [AMOUNT [TYPE [EXTRA]]]: an event body.
ev_json() {
	printf '{"id":"%s","type":"%s","user_id":%s,"order_id":"%s","amount":"%s","currency":"USD","occurred_at":"%s"%s}' \
	    "$1" "${5:-order.completed}" "$2" "$3" "${4:-25.00}" \
	    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${6:-}"
}

# signup JSON: POST /v1/signups.
signup() { api POST /v1/signups "$1"; }

# referrer N [IP]: signs user N up (no code); their code is in RCODE.
referrer() {
	local ip=${2:-}
	if [ -n "$ip" ]; then
		signup "{\"user_id\":$(uid "$1"),\"ip\":\"$ip\"}"
	else
		signup "{\"user_id\":$(uid "$1")}"
	fi
	RCODE=$(j .code)
}

# fcgi_pids: the worker pids of referd-fcgi, sorted.
fcgi_pids() {
	local sup; sup=$(cat "$RUN/referd-fcgi.pid" 2>/dev/null) || return 0
	pgrep -P "$sup" | sort -n | tr '\n' ' '
}
