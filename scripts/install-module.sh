#!/usr/bin/env bash
# Installs (or removes) our mod_md next to Debian's Apache without touching the apache2
# package's files:
#
#   /usr/local/lib/apache2/modules/mod_md.so      the module (outside the package's paths, so
#                                                 apache2 upgrades never overwrite it)
#   /etc/apache2/mods-available/md_ng.load        LoadModule line for a2enmod
#   /usr/local/bin/a2md                           the command line tool (docs/a2md.md)
#   /usr/local/share/man/man1/a2md.1              its man page
#
# Switch from the stock module to ours:   a2dismod md && a2enmod md_ng && systemctl restart apache2
# and back:                               a2dismod md_ng && a2enmod md && systemctl restart apache2
#
# Usage: scripts/install-module.sh install|uninstall
# Environment:
#   DESTDIR      staging root prepended to every path written (packaging, tests); default none
#   MODULE_SO    module to install (default build/mod_md.so)
#   MODULE_DIR   where the module goes (default /usr/local/lib/apache2/modules)
#   APACHE_ETC   Apache's configuration directory (default /etc/apache2)
#   A2MD_BIN     a2md to install (default build/a2md)
#   BIN_DIR      where a2md goes (default /usr/local/bin)
#   MAN_DIR      where its man page goes (default /usr/local/share/man/man1)
set -euo pipefail
cd "$(dirname "$0")/.."

DESTDIR="${DESTDIR:-}"
MODULE_SO="${MODULE_SO:-build/mod_md.so}"
MODULE_DIR="${MODULE_DIR:-/usr/local/lib/apache2/modules}"
APACHE_ETC="${APACHE_ETC:-/etc/apache2}"
A2MD_BIN="${A2MD_BIN:-build/a2md}"
BIN_DIR="${BIN_DIR:-/usr/local/bin}"
MAN_DIR="${MAN_DIR:-/usr/local/share/man/man1}"
NAME=md_ng

usage() {
    echo "usage: $0 install|uninstall" >&2
    exit 2
}

do_install() {
    for f in "$MODULE_SO" "$A2MD_BIN"; do
        if [ ! -f "$f" ]; then
            echo "install-module: $f not found, run 'make' first" >&2
            exit 1
        fi
    done
    install -d -m 0755 "$DESTDIR$MODULE_DIR" "$DESTDIR$APACHE_ETC/mods-available" \
        "$DESTDIR$BIN_DIR" "$DESTDIR$MAN_DIR"
    # install to a temp name and rename: a running Apache keeps its mapping of the old file
    install -m 0644 "$MODULE_SO" "$DESTDIR$MODULE_DIR/.mod_md.so.new"
    mv -f "$DESTDIR$MODULE_DIR/.mod_md.so.new" "$DESTDIR$MODULE_DIR/mod_md.so"
    # 'Conflicts: md' makes 'a2enmod md_ng' refuse while the stock module is enabled. The other
    # way round a2enmod only reads md.load (the apache2 package's file, left alone): when both
    # are enabled, md.load is read first (mods-enabled/ is read in alphabetical order), so the
    # stock module is loaded here already and the Error stops the start with the fix, instead
    # of mod_so skipping this module without a word that matters.
    cat > "$DESTDIR$APACHE_ETC/mods-available/$NAME.load" <<LOAD
# mod_md (this project's implementation), a drop-in replacement for the stock module.
# Enable with: a2dismod md && a2enmod $NAME
# Conflicts: md
<IfModule md_module>
Error "mod_md: the stock module (md) and this one ($NAME) are both enabled, only one can be loaded. Keep this one: 'a2dismod md'; keep the stock one: 'a2dismod $NAME'. Then restart Apache."
</IfModule>
LoadModule md_module $MODULE_DIR/mod_md.so
LOAD
    chmod 0644 "$DESTDIR$APACHE_ETC/mods-available/$NAME.load"
    install -m 0755 "$A2MD_BIN" "$DESTDIR$BIN_DIR/.a2md.new"
    mv -f "$DESTDIR$BIN_DIR/.a2md.new" "$DESTDIR$BIN_DIR/a2md"
    install -m 0644 docs/a2md.1 "$DESTDIR$MAN_DIR/a2md.1"
    echo "install-module: installed $MODULE_DIR/mod_md.so, $APACHE_ETC/mods-available/$NAME.load,"
    echo "install-module: $BIN_DIR/a2md and $MAN_DIR/a2md.1"
    if [ -z "$DESTDIR" ]; then
        if [ -e "$APACHE_ETC/mods-enabled/$NAME.load" ]; then
            echo "install-module: $NAME is enabled; restart Apache to load the new build:"
            echo "  systemctl restart apache2"
        else
            echo "install-module: to switch from the stock module:"
            echo "  a2dismod md && a2enmod $NAME && systemctl restart apache2"
        fi
    fi
}

do_uninstall() {
    if [ -e "$DESTDIR$APACHE_ETC/mods-enabled/$NAME.load" ]; then
        if [ -z "$DESTDIR" ] && command -v a2dismod >/dev/null; then
            a2dismod -q "$NAME"
            echo "install-module: disabled $NAME; to go back to the stock module:"
            echo "  a2enmod md && systemctl restart apache2"
        else
            rm -f "$DESTDIR$APACHE_ETC/mods-enabled/$NAME.load" \
                  "$DESTDIR$APACHE_ETC/mods-enabled/$NAME.conf"
        fi
    fi
    rm -f "$DESTDIR$APACHE_ETC/mods-available/$NAME.load" \
          "$DESTDIR$APACHE_ETC/mods-available/$NAME.conf" \
          "$DESTDIR$MODULE_DIR/mod_md.so" "$DESTDIR$BIN_DIR/a2md" "$DESTDIR$MAN_DIR/a2md.1"
    echo "install-module: removed $MODULE_DIR/mod_md.so, $APACHE_ETC/mods-available/$NAME.load,"
    echo "install-module: $BIN_DIR/a2md and $MAN_DIR/a2md.1"
}

[ $# -eq 1 ] || usage
case "$1" in
    install) do_install ;;
    uninstall) do_uninstall ;;
    *) usage ;;
esac
