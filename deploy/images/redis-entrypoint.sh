#!/bin/sh
# Redis started without a config file listens on every interface but, in protected mode (its
# default), refuses clients from other hosts while no password is set: the other containers. As
# the official image does, protected mode is off unless a config file (the first argument, or `-`
# for standard input) is given; options after it still override this one.
set -eu
if [ "${1:-}" = redis-server ]; then
    shift
    case "${1:-}" in
        -v | --version | -h | --help | --test-memory | --check-system) ;;
        '' | --*) set -- --protected-mode no "$@" ;;
    esac
    set -- redis-server "$@"
fi
exec "$@"
