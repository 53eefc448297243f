#!/usr/bin/env bash
# install.sh will install the openim binary, create the `openim` system user and /data/openim/{config.yaml,data,logs}, install and start the systemd unit(s), and wait until /healthz answers (idempotent; --upgrade, --uninstall, --modules, --prefix) -- it is NOT IMPLEMENTED YET.
set -euo pipefail
echo "install.sh: will install the openim binary, create the openim system user and /data/openim/{config.yaml,data,logs}, install and start the systemd unit(s), and wait until /healthz answers -- not implemented yet; nothing was changed" >&2
exit 1
