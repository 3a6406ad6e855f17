# Sourced by scripts/test and scripts/test-oldest: the system tools the tests drive for real.
# nc (netcat-openbsd) pipes a file into a server, logger (util-linux) sends real syslog,
# openssl makes a throw-away TLS certificate, compress/uncompress (ncompress) check the LZW
# codec both ways, chattr (e2fsprogs) makes a database read-only even for root, chromium
# renders JupyterLab and Notebook 7 for the browser tests (Playwright drives this system
# browser; its own browser download is not used).
need=()
command -v nc >/dev/null 2>&1 || need+=(netcat-openbsd)
command -v logger >/dev/null 2>&1 || need+=(bsdutils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v compress >/dev/null 2>&1 || need+=(ncompress)
command -v chattr >/dev/null 2>&1 || need+=(e2fsprogs)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$0: installing ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "$0: please install ${need[*]} (Debian/Ubuntu: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi
