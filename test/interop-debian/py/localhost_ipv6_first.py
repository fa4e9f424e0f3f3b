"""Run another script with 'localhost' resolving to ::1 first, then 127.0.0.1 (the order many
dual-stack hosts use), to see how kafka-python copes with a broker that listens on 127.0.0.1 only.

usage: localhost_ipv6_first.py SCRIPT [ARGS...]
"""
import runpy
import socket
import sys

_getaddrinfo = socket.getaddrinfo


def _ipv6_first(host, port, family=0, type=0, proto=0, flags=0):
    if host == 'localhost' and family in (0, socket.AF_UNSPEC):
        v6 = [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, '', ('::1', int(port), 0, 0))]
        return v6 + _getaddrinfo('127.0.0.1', port, socket.AF_INET, type, proto, flags)
    return _getaddrinfo(host, port, family, type, proto, flags)


socket.getaddrinfo = _ipv6_first
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
