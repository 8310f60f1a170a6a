"""Reliability and security tests: faults, hostile input and credentials, over real sockets."""
