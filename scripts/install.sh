#!/usr/bin/env bash
# install.sh: install, upgrade or remove openim on a Debian/Ubuntu or RHEL-family host, in one command.
#
#   sudo bash install.sh                      # the `openim` binary beside this script (or dist/openim)
#   sudo bash install.sh --binary /tmp/openim --modules gateway,api --config cluster.yaml
#   sudo bash install.sh --upgrade --binary ./openim-0.2.0
#   sudo bash install.sh --uninstall [--purge]
#
# What it does (each step is skipped when already done, so running it again is safe):
#   1. checks: root, a supported OS, a binary that runs here;
#   2. installs the binary as /usr/local/bin/openim (the previous one kept as openim.previous);
#   3. creates the `openim` system user and /data/openim/{config.yaml,data,logs}; config.yaml is written once,
#      with a fresh random secret (or copied from --config), and validated with `openim config check`;
#   4. installs the systemd units openim.service (`openim supervise`: the server plus the Filebeat/Metricbeat
#      sidecars where installed) and the template openim@.service (one `openim serve --module %i` per
#      instance; --per-module enables one per module instead of openim.service), enables and starts them;
#   5. waits until /healthz answers and prints where clients connect.
# Run with --help for the options. docs/operations.md describes the layout, upgrades and backups.
set -euo pipefail

readonly MODULES_ALL="api gateway msg transfer push"
readonly SERVICE_USER=openim
readonly GLIBC_FLOOR=2.36  # docs/operations.md, "Install": the oldest glibc the binary runs on
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
    cat <<'EOF'
Usage: install.sh [options]

  --binary PATH    the openim executable to install (default: ./openim beside this script, else
                   ../dist/openim from a source checkout)
  --config FILE    use FILE as /data/openim/config.yaml (a cluster's shared config); without it a config
                   is generated once, with a fresh secret, and kept from then on
  --modules LIST   modules this host runs: all (default) or a comma list of: api,gateway,msg,transfer,push;
                   anything but all needs a cluster config (storage postgres, bus redis)
  --per-module     one systemd unit per module (openim@MODULE.service) instead of openim.service
  --upgrade        replace the binary of an existing install: keeps config and data, backs up the embedded
                   store, restarts (the server migrates the schema as it starts) and waits for /healthz
  --uninstall      stop and remove the units and the binary; keeps /data/openim
  --purge          with --uninstall: also delete /data/openim and the openim user
  --prefix DIR     install everything under DIR (trial runs, tests): no user is created, units are written
                   but not enabled; needs no root
  --no-systemd     no systemd units: run `openim supervise` in the background instead
  --wait SECONDS   how long to wait for /healthz (default 90)
  -h, --help       this text

Environment: OPENIM_<SECTION>__<KEY> variables reach the server started with --no-systemd (and
`openim config check`); for systemd, put them in /data/openim/openim.env.
EOF
}

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

# -- options -------------------------------------------------------------------------------------------
binary="" config_src="" modules="" per_module=0 action=install purge=0 prefix="" systemd=1 wait_s=90 changed=0
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
        --config) config_src="${2:?--config needs a file}"; shift 2 ;;
        --modules) modules="${2:?--modules needs a list}"; shift 2 ;;
        --per-module) per_module=1; shift ;;
        --upgrade) action=upgrade; shift ;;
        --uninstall) action=uninstall; shift ;;
        --purge) purge=1; shift ;;
        --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
        --no-systemd) systemd=0; shift ;;
        --wait) wait_s="${2:?--wait needs seconds}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
[ "$purge" -eq 0 ] || [ "$action" = uninstall ] || die "--purge goes with --uninstall"
[[ "$wait_s" =~ ^[0-9]+$ ]] || die "--wait: expected seconds, got $wait_s"
if [ -n "$modules" ]; then
    for m in ${modules//,/ }; do
        [[ " all $MODULES_ALL " == *" $m "* ]] || die "--modules: unknown module $m (choose all or a comma list of: ${MODULES_ALL// /,})"
    done
fi
[ "$per_module" -eq 0 ] || { [ -n "$modules" ] && [ "$modules" != all ]; } || die "--per-module needs --modules with the modules to run"

# -- checks --------------------------------------------------------------------------------------------
if [ -z "$prefix" ] && [ "$(id -u)" -ne 0 ]; then
    die "must run as root (sudo bash $0 ...); for a trial without root use --prefix DIR --no-systemd"
fi

os_release="${OPENIM_OS_RELEASE:-/etc/os-release}"
[ -r "$os_release" ] || die "unsupported OS: $os_release not found (supported: Debian, Ubuntu, RHEL and its rebuilds, Fedora)"
os_field() { sed -n "s/^$1=//p" "$os_release" | head -n 1 | tr -d "\"'"; }  # read, never sourced
os_id=$(os_field ID)
os_like=$(os_field ID_LIKE)
os_name=$(os_field PRETTY_NAME)
os_name=${os_name:-${os_id:-unknown}}
case " $os_id $os_like " in
    *" debian "*|*" ubuntu "*) os_family=debian ;;
    *" rhel "*|*" fedora "*|*" centos "*) os_family=rhel ;;
    *) die "unsupported OS: $os_name (ID=$os_id); supported: Debian, Ubuntu, RHEL, CentOS Stream, Rocky, AlmaLinux, Oracle Linux, Fedora" ;;
esac
[ "$(uname -s)" = Linux ] || die "unsupported OS: $(uname -s)"

# The one-file binary carries its Python and libraries but not the C library: it needs the host's glibc at
# GLIBC_FLOOR or newer (the highest symbol version the bootloader and the bundled libraries ask for; the
# release binary is built on Debian 12). OPENIM_GLIBC_VERSION overrides what is detected (tests).
glibc_version() {
    local v=${OPENIM_GLIBC_VERSION:-}
    if [ -z "$v" ]; then v=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}') || v=""; fi
    if [ -z "$v" ]; then v=$(ldd --version 2>/dev/null | head -n 1 | awk '{print $NF}') || v=""; fi
    [[ "$v" =~ ^[0-9]+\.[0-9]+ ]] && echo "${BASH_REMATCH[0]}"
}
version_lt() {  # version_lt A B: 0 when A < B (major.minor)
    local a_major=${1%%.*} a_minor=${1#*.} b_major=${2%%.*} b_minor=${2#*.}
    [ "$a_major" -lt "$b_major" ] || { [ "$a_major" -eq "$b_major" ] && [ "$a_minor" -lt "$b_minor" ]; }
}
if [ "$action" != uninstall ]; then  # removing needs no binary that runs
    glibc=$(glibc_version) || glibc=""
    [ -n "$glibc" ] || die "cannot tell the glibc version of $os_name (getconf GNU_LIBC_VERSION, ldd --version); the openim binary needs glibc $GLIBC_FLOOR or newer. Without glibc, run the container image (docs/operations.md, \"Container\")"
    if version_lt "$glibc" "$GLIBC_FLOOR"; then
        die "$os_name has glibc $glibc; the openim binary needs glibc $GLIBC_FLOOR or newer (Debian 12+, Ubuntu 22.10+, RHEL 10+, Fedora 37+). On this host run the container image instead (docs/operations.md, \"Container\"), or build the binary on a host with this glibc"
    fi
fi

if [ "$systemd" -eq 1 ] && [ -z "$prefix" ]; then
    command -v systemctl >/dev/null && [ -d /run/systemd/system ] \
        || die "systemd is not running on this host; use --no-systemd to run openim under its own supervisor"
fi

# -- layout --------------------------------------------------------------------------------------------
prefix="${prefix%/}"
if [ -n "$prefix" ]; then mkdir -p "$prefix"; prefix="$(cd "$prefix" && pwd)"; fi
bin_dir="$prefix/usr/local/bin"
bin="$bin_dir/openim"
home="$prefix/data/openim"
conf="$home/config.yaml"
# Where the server keeps its data and writes its logs: these defaults until the installed config is read
# (use_config_paths), then its data_dir and supervise.log_dir.
data="$home/data"
logs="$home/logs"
unit_dir="$prefix/etc/systemd/system"
run_as=""  # the account the server runs as; empty: this one (--prefix)
if [ -z "$prefix" ]; then run_as=$SERVICE_USER; fi

as_service() {  # run a command as the service account (its files stay its own)
    if [ -n "$run_as" ] && [ "$(id -un)" != "$run_as" ]; then
        runuser -u "$run_as" -- "$@"
    else
        "$@"
    fi
}

# load_cfg, then cfg SECTION KEY: a value of the effective config (file + OPENIM_* environment), read once
# from `openim config print` (each run of the one-file binary costs about a second).
cfg_dump=""
load_cfg() { cfg_dump="$(as_service "$bin" config print -c "$conf")" || die "openim config print failed"; }
cfg_top() {  # cfg_top KEY: a top-level value (data_dir, node_id, ...)
    [ -n "$cfg_dump" ] || die "internal: cfg_top before load_cfg"
    awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ +/, ""); gsub(/^["\x27]|["\x27]$/, ""); print; exit }' <<<"$cfg_dump"
}

# use_config_paths: data and logs as the loaded config has them. A relative path is taken from $home, the
# folder of config.yaml and the working directory of every process install.sh starts.
abs_path() { case "$1" in /*) echo "${1%/}" ;; ""|.|./) echo "$home" ;; *) local p=${1#./}; echo "$home/${p%/}" ;; esac; }
use_config_paths() {
    local log_dir
    data=$(abs_path "$(cfg_top data_dir)")
    log_dir=$(cfg supervise log_dir)
    if [ -n "$log_dir" ]; then logs=$(abs_path "$log_dir"); else logs="$data/logs"; fi
}
cfg() {
    [ -n "$cfg_dump" ] || die "internal: cfg before load_cfg"
    awk -v s="$1:" -v k="$2:" '
        /^[^ #]/ { in_section = ($1 == s) }
        in_section && $1 == k { $1 = ""; sub(/^ +/, ""); gsub(/^["\x27]|["\x27]$/, ""); print; exit }
    ' <<<"$cfg_dump"
}

local_host() { case "$1" in ""|0.0.0.0|"::") echo 127.0.0.1 ;; *) echo "$1" ;; esac; }

# http_ok HOST PORT PATH: 0 when GET answers 200 (bash's /dev/tcp: no curl needed on a minimal host).
http_ok() {
    # shellcheck disable=SC2016  # expanded by the inner bash, from its arguments
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/$1/$2" || exit 1
        printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$3" "$1" >&3
        IFS= read -r status <&3
        [[ "$status" == *" 200 "* ]]' _ "$1" "$2" "$3" 2>/dev/null
}

# -- the service, under systemd or under `openim supervise` in the background ------------------------------
units_enabled() {  # the units this install runs
    if [ "$per_module" -eq 1 ]; then
        for m in ${modules//,/ }; do echo "openim@$m.service"; done
    else
        echo openim.service
    fi
}

units_active() {
    local unit
    for unit in $(units_enabled); do
        systemctl is-active --quiet "$unit" && systemctl is-enabled --quiet "$unit" || return 1
    done
}

supervise_pid() {
    local pid
    pid=$(cat "$data/supervise/supervisord.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

service_stop() {
    if [ "$systemd" -eq 1 ] && [ -z "$prefix" ]; then
        local units
        units=$(systemctl list-units --all --plain --no-legend 'openim.service' 'openim@*.service' | awk '{print $1}')
        if [ -n "$units" ]; then
            say "stopping ${units//$'\n'/ }"
            # shellcheck disable=SC2086  # one unit name per word
            systemctl stop $units
        fi
    elif [ -x "$bin" ] && supervise_pid >/dev/null; then
        say "stopping openim supervise (pid $(supervise_pid))"
        (cd "$home" && as_service "$bin" supervise stop -c "$conf") || die "openim supervise did not stop"
    fi
}

service_start() {
    if [ "$systemd" -eq 1 ] && [ -n "$prefix" ]; then
        say "units written to $unit_dir; not enabled under --prefix (nothing started)"
        return 1
    fi
    if [ "$systemd" -eq 1 ]; then
        local units
        units=$(units_enabled | tr '\n' ' ')
        systemctl daemon-reload
        if [ "$per_module" -eq 1 ]; then systemctl disable --now openim.service 2>/dev/null || true; fi
        # shellcheck disable=SC2086  # one unit name per word
        systemctl enable $units >/dev/null 2>&1
        say "starting $units"
        # shellcheck disable=SC2086
        systemctl restart $units
    else
        say "starting openim supervise in the background (logs in $logs)"
        # Detached for good: its own session, and no descriptor of ours (a pipe reading our output would
        # otherwise stay open as long as the server runs).
        (
            cd "$home" || exit 1
            exec </dev/null >>"$logs/supervise.out" 2>&1
            if [ -n "$run_as" ] && [ "$(id -un)" != "$run_as" ]; then
                exec runuser -u "$run_as" -- setsid "$bin" supervise -c "$conf"
            fi
            exec setsid "$bin" supervise -c "$conf"
        ) &
    fi
}

wait_healthy() {
    local host port modules_run
    modules_run="${modules:-$(cfg supervise modules)}"
    if [ "$modules_run" = all ] || [[ ",$modules_run," == *",api,"* ]]; then
        host=$(local_host "$(cfg api host)"); port=$(cfg api port)
    else
        host=$(local_host "$(cfg ops host)"); port=$(cfg ops port)
    fi
    say "waiting up to ${wait_s}s for http://$host:$port/healthz"
    local deadline=$((SECONDS + wait_s))
    until http_ok "$host" "$port" /healthz; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            if [ "$systemd" -eq 1 ]; then
                die "no answer from http://$host:$port/healthz after ${wait_s}s; see: journalctl -u openim -n 50; $logs/openim.log"
            fi
            die "no answer from http://$host:$port/healthz after ${wait_s}s; see $logs/openim.log and $logs/supervise.out"
        fi
        sleep 1
    done
}

print_endpoints() {
    local ip api_host gw_host
    ip=$(hostname -I 2>/dev/null | awk '{print $1}')
    ip=${ip:-$(hostname)}
    api_host=$(cfg api host); gw_host=$(cfg gateway host)
    case "$api_host" in ""|0.0.0.0|"::") api_host=$ip ;; esac
    case "$gw_host" in ""|0.0.0.0|"::") gw_host=$ip ;; esac
    cat <<EOF

openim is running: $("$bin" version)
  REST API (apps, admin):   http://$api_host:$(cfg api port)      health: /healthz  metrics: /metrics
  WebSocket (client SDKs):  ws://$gw_host:$(cfg gateway port)
  config:                   $conf
  data, logs:               $data, $logs
EOF
    if [ "$systemd" -eq 1 ]; then
        echo "  service:                  systemctl status $(units_enabled | tr '\n' ' ')"
    else
        echo "  supervisor:               $bin supervise status -c $conf"
    fi
}

# -- pieces of the install -------------------------------------------------------------------------------
find_binary() {
    if [ -n "$binary" ]; then
        [ -f "$binary" ] || die "--binary: $binary: no such file"
    elif [ -f "$script_dir/openim" ]; then
        binary="$script_dir/openim"
    elif [ -f "$script_dir/../dist/openim" ]; then
        binary="$script_dir/../dist/openim"
    else
        die "no openim binary beside this script ($script_dir/openim); pass --binary PATH (make binary builds dist/openim)"
    fi
    binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"
    chmod +x "$binary" 2>/dev/null || true
    local out
    out=$("$binary" version 2>&1) || die "$binary does not run on this host ($os_name): $out
(a binary built on a newer distribution needs its glibc; build on the oldest host you support)"
    say "binary: $binary ($out)"
}

install_binary() {  # returns 0 when the installed binary changed
    mkdir -p "$bin_dir"
    if [ -f "$bin" ] && cmp -s "$binary" "$bin"; then
        say "binary: $bin is already this build"
        return 1
    fi
    if [ -f "$bin" ]; then cp -p "$bin" "$bin.previous"; fi
    cp "$binary" "$bin.new"
    chmod 0755 "$bin.new"
    mv -f "$bin.new" "$bin"
    say "binary: installed $bin"
}

ensure_user() {
    [ -n "$run_as" ] || return 0
    if getent passwd "$run_as" >/dev/null; then return 0; fi
    local nologin=/usr/sbin/nologin
    [ -x "$nologin" ] || nologin=/sbin/nologin
    useradd --system --user-group --home-dir "$home" --no-create-home --shell "$nologin" \
        --comment "openim instant-messaging server" "$run_as"
    say "created the system user $run_as"
}

ensure_layout() {
    mkdir -p "$home" "$home/instances"
    if [ -n "$config_src" ]; then
        [ -f "$config_src" ] || die "--config: $config_src: no such file"
        if [ -f "$conf" ] && cmp -s "$config_src" "$conf"; then
            say "config: $conf is already $config_src"
        else
            if [ -f "$conf" ]; then cp -p "$conf" "$conf.bak-$(date -u +%Y%m%dT%H%M%SZ)"; fi
            install -m 0600 "$config_src" "$conf"
            changed=1
            say "config: installed $config_src as $conf"
        fi
    elif [ -f "$conf" ]; then
        say "config: keeping $conf"
    else
        "$bin" init -c "$conf" --data-dir "$data" >/dev/null
        # The generated file is our own template: fill in this host's module set and log directory.
        sed -i -e "/^supervise:/,/^[a-z_]*:/ {
            s|^  modules: .*|  modules: ${modules:-all}|
            s|^  log_dir: .*|  log_dir: \"$logs\"|
        }" "$conf"
        chmod 0600 "$conf"
        changed=1
        say "config: wrote $conf with a fresh secret"
    fi
    if [ -n "$run_as" ]; then chown -R "$run_as:$run_as" "$home"; fi
    local check
    check=$(as_service "$bin" config check -c "$conf" 2>&1) || die "config check failed: $check"
    load_cfg
    use_config_paths
    mkdir -p "$data" "$logs"
    if [ -n "$run_as" ]; then chown "$run_as:$run_as" "$data" "$logs"; fi
    if [ "$data" != "$home/data" ] || [ "$logs" != "$home/logs" ]; then
        say "config: data in $data, logs in $logs (data_dir, supervise.log_dir of $conf)"
    fi
    if [ -n "$modules" ] && [ "$per_module" -eq 0 ] && [ "$(cfg supervise modules)" != "$modules" ]; then
        say "note: --modules $modules, but $conf runs supervise.modules $(cfg supervise modules): edit it to change"
    fi
    if [ "${modules:-all}" != all ] && [ "$(cfg storage backend)" = sqlite ]; then
        die "--modules $modules needs a cluster config (storage.backend postgres, bus.backend redis; pass --config): the embedded store runs every module in one process"
    fi
}

write_instance_env() {  # per-module units: distinct ops ports for the processes without the api module
    local i=0 base step m file
    base=$(cfg ops port); step=$(cfg supervise port_step)
    for m in ${modules//,/ }; do
        file="$home/instances/$m.env"
        if [ ! -f "$file" ]; then
            printf '# Environment of openim@%s.service (OPENIM_<SECTION>__<KEY> overrides the config).\nOPENIM_INSTANCE_MODULES=%s\nOPENIM_OPS__PORT=%s\n' \
                "$m" "$m" "$((base + i * step))" >"$file"
        fi
        i=$((i + 1))
    done
    if [ -n "$run_as" ]; then chown -R "$run_as:$run_as" "$home/instances"; fi
}

write_units() {  # returns 0 when a unit file changed
    mkdir -p "$unit_dir"
    local changed=1 tmp
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
# openim: the server and its Filebeat/Metricbeat sidecars under \`openim supervise\` (written by install.sh).
# Module set and process count: the supervise section of $conf.
[Unit]
Description=openim instant-messaging server (supervised)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=$SERVICE_USER
Group=$SERVICE_USER
WorkingDirectory=$home
EnvironmentFile=-$home/openim.env
ExecStartPre=$bin config check -c $conf
ExecStart=$bin supervise -c $conf
ExecReload=$bin supervise restart -c $conf
# SIGTERM to supervisord only (it stops its programs gracefully), SIGKILL to everything left after the timeout.
KillMode=mixed
TimeoutStopSec=90
Restart=on-failure
RestartSec=5
# One descriptor per WebSocket connection.
LimitNOFILE=1048576
NoNewPrivileges=true
PrivateTmp=true
ProtectSystem=full
ProtectHome=true

[Install]
WantedBy=multi-user.target
EOF
    if ! cmp -s "$tmp" "$unit_dir/openim.service"; then install -m 0644 "$tmp" "$unit_dir/openim.service"; changed=0; fi
    cat >"$tmp" <<EOF
# openim@INSTANCE: one openim process, \`openim serve --module INSTANCE\` (written by install.sh).
# $home/instances/INSTANCE.env may set OPENIM_INSTANCE_MODULES (a comma list, for an instance not named
# after its module) and OPENIM_<SECTION>__<KEY> overrides such as the ports of a second instance.
[Unit]
Description=openim instant-messaging server, instance %i
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=$SERVICE_USER
Group=$SERVICE_USER
WorkingDirectory=$home
Environment=OPENIM_INSTANCE_MODULES=%i
EnvironmentFile=-$home/openim.env
EnvironmentFile=-$home/instances/%i.env
ExecStartPre=$bin config check -c $conf
ExecStart=$bin serve -c $conf --module \${OPENIM_INSTANCE_MODULES}
KillMode=mixed
TimeoutStopSec=60
Restart=on-failure
RestartSec=5
LimitNOFILE=1048576
NoNewPrivileges=true
PrivateTmp=true
ProtectSystem=full
ProtectHome=true

[Install]
WantedBy=multi-user.target
EOF
    if ! cmp -s "$tmp" "$unit_dir/openim@.service"; then install -m 0644 "$tmp" "$unit_dir/openim@.service"; changed=0; fi
    rm -f "$tmp"
    return "$changed"
}

backup_embedded() {  # a consistent copy of the embedded store, taken by the running (old) binary
    [ "$(cfg storage backend)" = sqlite ] || { say "storage is $(cfg storage backend): back it up with its own tools (docs/operations.md)"; return 0; }
    local out
    if out=$(cd "$home" && as_service "$bin" backup -c "$conf" 2>&1); then
        say "$out"
    else
        case "$out" in
            *"no database yet"*) say "no embedded store yet: nothing to back up" ;;
            *) die "backup before the upgrade failed: $out" ;;
        esac
    fi
}

# -- actions -------------------------------------------------------------------------------------------
do_install() {
    find_binary
    changed=0  # set to 1 by any step that changed what the server runs
    if install_binary; then changed=1; fi
    ensure_user
    ensure_layout
    if [ "$per_module" -eq 1 ]; then write_instance_env; fi
    if [ "$systemd" -eq 1 ]; then
        if write_units; then changed=1; fi
        if [ -n "$prefix" ]; then service_start || return 0; fi
        if [ "$changed" -eq 0 ] && units_active; then
            say "$(units_enabled | tr '\n' ' ')running and nothing changed"
        else
            service_start
        fi
    else
        if [ "$changed" -eq 0 ] && supervise_pid >/dev/null; then
            say "openim supervise is running (pid $(supervise_pid)) and nothing changed"
        else
            service_stop
            service_start
        fi
    fi
    wait_healthy
    print_endpoints
}

do_upgrade() {
    [ -f "$conf" ] && [ -x "$bin" ] || die "nothing to upgrade under ${prefix:-/} (no $bin or $conf); install first"
    find_binary
    say "upgrading $("$bin" version) -> $("$binary" version)"
    load_cfg
    use_config_paths
    backup_embedded
    service_stop
    install_binary || true
    ensure_layout
    if [ "$systemd" -eq 1 ]; then write_units || true; fi
    service_start || return 0
    wait_healthy
    if [ -f "$bin.previous" ]; then say "upgraded; the previous binary is kept as $bin.previous"; else say "upgraded"; fi
    print_endpoints
}

do_uninstall() {
    # The supervisord to stop is under the installed config's data_dir, wherever that is.
    if [ -x "$bin" ] && [ -f "$conf" ]; then
        if cfg_dump=$(as_service "$bin" config print -c "$conf" 2>/dev/null); then
            use_config_paths
        else
            cfg_dump=""
            say "warning: $bin config print failed; looking for a running openim supervise under $data"
        fi
    fi
    service_stop
    if [ "$systemd" -eq 1 ] && [ -z "$prefix" ]; then
        systemctl disable openim.service >/dev/null 2>&1 || true
        for unit in $(systemctl list-unit-files --plain --no-legend 'openim@*.service' | awk '{print $1}'); do
            [ "$unit" = openim@.service ] || systemctl disable "$unit" >/dev/null 2>&1 || true
        done
    fi
    rm -f "$unit_dir/openim.service" "$unit_dir/openim@.service"
    if [ "$systemd" -eq 1 ] && [ -z "$prefix" ]; then systemctl daemon-reload; fi
    rm -f "$bin" "$bin.previous" "$bin.new"
    if [ "$purge" -eq 1 ]; then
        rm -rf "$home"
        if [ -n "$run_as" ] && getent passwd "$run_as" >/dev/null; then userdel "$run_as" || true; fi
        say "removed openim, its data ($home) and its user"
        local dir
        for dir in "$data" "$logs"; do
            if [[ "$dir/" != "$home/"* ]] && [ -d "$dir" ]; then
                say "kept $dir (outside $home, named by the config): delete it yourself"
            fi
        done
    else
        say "removed openim; kept $home (config, data, logs): --uninstall --purge deletes it"
    fi
}

say "$action on $os_name ($os_family)${prefix:+ under $prefix}"
case "$action" in
    install) do_install ;;
    upgrade) do_upgrade ;;
    uninstall) do_uninstall ;;
esac
