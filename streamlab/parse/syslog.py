"""Placeholder: replaced by the syslog parser (RFC 3164 and RFC 5424)."""

from .base import Parser


class SyslogParser(Parser):
    format = "syslog"
